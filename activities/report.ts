import { storage } from '../src/storage/index.js';
import { runFiles } from '../src/contract/layout.js';
import { renderPipelineReport, type PipelineReport } from '../src/stages/report.js';
import { withHeartbeat } from './heartbeat.js';

/** Stores the pipeline's report as JSON and as Markdown (AUCs beside the paper's). */
export async function writePipelineReport(input: { workUri: string; report: PipelineReport }): Promise<{ jsonUri: string; markdownUri: string }> {
  const { reportJson: jsonUri, reportMarkdown: markdownUri } = runFiles(input.workUri);
  await withHeartbeat(async () => {
    await storage().writeJson(jsonUri, input.report);
    await storage().write(markdownUri, renderPipelineReport(input.report));
  });
  return { jsonUri, markdownUri };
}
