import { storage } from '../src/storage/index.js';
import { renderPipelineReport, reportUris, type PipelineReport } from '../src/stages/report.js';
import { gatherReportDetails, renderHtmlReport } from '../src/stages/report-html.js';
import { withHeartbeat } from './heartbeat.js';

/**
 * Stores the pipeline's report as JSON, as Markdown (AUCs beside the paper's) and as a
 * self-contained HTML page (plots, cut flow, feature distributions, timings, lineage).
 */
export async function writePipelineReport(input: { workUri: string; report: PipelineReport }): Promise<{ jsonUri: string; markdownUri: string; htmlUri: string }> {
  const uris = reportUris(input.workUri);
  await withHeartbeat(async () => {
    const store = storage();
    await store.writeJson(uris.jsonUri, input.report);
    await store.write(uris.markdownUri, renderPipelineReport(input.report));
    await store.write(uris.htmlUri, renderHtmlReport(input.report, await gatherReportDetails(store, input.report)));
  });
  return uris;
}
