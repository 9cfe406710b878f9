import { execFile } from 'node:child_process';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `command ...args` in the current directory with `env` (the whole environment, not added to ours). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** This Node running `args` (a script and its arguments) with `env`. */
export const runNode = (args: string[], env: NodeJS.ProcessEnv): Promise<Run> => run(process.execPath, args, env);

/** The CLI as a user runs it, with `env` added to this process's environment. */
export function hepflow(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Run> {
  return runNode([...nodeArgs, 'dist/cli/hepflow.js', ...args], { ...process.env, ...env });
}
