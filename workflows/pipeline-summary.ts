/**
 * The few lines that say what a pipeline run was asked (work URI, input, dataset, models):
 * the run's memo in the UI and the CLI's details line. Pure; no workflow API.
 */
import type { PipelineInput } from './pipeline.js';

/** What a pipeline run was asked, in a few lines: its memo in the UI, and the CLI's details. Pure. */
export function pipelineConfigSummary(input: PipelineInput) {
  const mix = input.generate?.mix;
  return {
    workUri: input.workUri,
    input: input.generate
      ? `generated: ${input.generate.events} events in ${input.generate.files} files${mix ? `, mix ${typeof mix === 'string' ? mix : JSON.stringify(mix)}` : ''}`
      : (input.samples ?? []).map((s) => `${s.name}=${s.uri ?? (s.uris ?? []).join(',')}`).join(' '),
    dataset: input.dataset?.kind ?? 'dev',
    models: input.models.map(
      (m) =>
        `${m.name} (${m.spec.kind}, ${m.pool ?? 'cpu'}${m.tune ? `, ${m.tune.method} study of ${m.tune.trials} trials` : ''})`,
    ),
    allowFailedFiles: input.allowFailedFiles ?? false,
  };
}
