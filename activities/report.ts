import { renderPipelineReport, type PipelineReport } from '../src/stages/report.js';
import { runFiles } from '../src/layout/run-layout.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const reportActivities = ({ storage }: ActivityDeps) => ({
  /** Stores the pipeline's report as JSON and as Markdown (AUCs beside the paper's). */
  async writePipelineReport(input: { workUri: string; report: PipelineReport }): Promise<{ jsonUri: string; markdownUri: string }> {
    const { reportJson: jsonUri, reportMarkdown: markdownUri } = runFiles(input.workUri);
    await withHeartbeat(async () => {
      await storage.writeJson(jsonUri, input.report);
      await storage.write(markdownUri, renderPipelineReport(input.report));
    });
    return { jsonUri, markdownUri };
  },
});
