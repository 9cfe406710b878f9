import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** `n` activities that do nothing, one after another: Temporal's own cost per activity (bench/pipeline.ts). */
export async function noopActivities(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await noop();
}
