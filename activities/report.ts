/**
 * The report activity: `writePipelineReport` writes a run's report as JSON, Markdown
 * and a self-contained HTML page where the run layout says (src/contract/run-layout.ts).
 */
import { renderPipelineReport, type PipelineReport } from '../src/stages/report.js';
import { gatherReportDetails } from '../src/stages/report-details.js';
import { renderHtmlReport } from '../src/stages/report-html.js';
import { runFiles } from '../src/contract/run-layout.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const reportActivities = ({ storage }: ActivityDeps) => ({
  /**
   * Stores the pipeline's report as JSON, as Markdown (AUCs beside the paper's) and as a
   * self-contained HTML page (plots, cut flow, feature distributions, timings, lineage).
   */
  async writePipelineReport(input: {
    workUri: string;
    report: PipelineReport;
  }): Promise<{ jsonUri: string; markdownUri: string; htmlUri: string }> {
    const { reportJson: jsonUri, reportMarkdown: markdownUri, reportHtml: htmlUri } = runFiles(input.workUri);
    await withHeartbeat(async () => {
      await storage.writeJson(jsonUri, input.report);
      await storage.write(markdownUri, renderPipelineReport(input.report));
      await storage.write(htmlUri, renderHtmlReport(input.report, await gatherReportDetails(storage, input.report)));
    });
    return { jsonUri, markdownUri, htmlUri };
  },
});
