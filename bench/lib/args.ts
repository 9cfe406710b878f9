/**
 * Named numeric options of the benchmark scripts. `npm run bench -- --events 2000` hands the
 * same options to every benchmark (bench/run.ts), so a script reads the ones it knows and
 * leaves the others alone; positional arguments would be misread by the next script.
 */
export function intOption(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${process.argv[i + 1] ?? 'nothing'}`);
  return v;
}

export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Wall and CPU (user + system) seconds of `run` in this process. */
export async function measure<T>(run: () => Promise<T> | T): Promise<{ wall: number; cpu: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await run();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, value };
}
