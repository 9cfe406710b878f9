#!/usr/bin/env node
import '../src/process-warnings.js';
import { CommanderError, InvalidArgumentError } from 'commander';
import { applyLocalStackDefaults } from './local-stack-env.js';
import { UsageError } from './args.js';
import { buildProgram } from './program.js';

/** Exit codes: 0 success (and --help, --version), 1 failure, 2 usage error. */
async function main(argv: string[]): Promise<void> {
  applyLocalStackDefaults();
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // The parser has printed its message (unknown option or command with the nearest one, bad value)
  // and rethrown a plain CommanderError; an InvalidArgumentError itself comes from a command's own
  // check of an argument (e.g. a URI), unprinted.
  if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError || err instanceof InvalidArgumentError) {
    console.error(`hepflow: ${err.message}`);
    process.exit(2);
  }
  console.error(`hepflow: ${(err as Error)?.message ?? err}`);
  if (process.env.HEPFLOW_DEBUG) console.error(err);
  process.exit(1);
});
