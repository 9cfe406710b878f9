/**
 * Whether to print what is noise in normal use (the compute backend chosen and why the
 * others were skipped, tfjs' performance notices): HEPFLOW_VERBOSE=1, which the CLI's
 * `--verbose` sets for the command and every process or thread it starts.
 */
export const isVerbose = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env.HEPFLOW_VERBOSE === '1' || env.HEPFLOW_VERBOSE === 'true';
