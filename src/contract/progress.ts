/**
 * Progress of hepflow's workflows, as people follow a run: what each workflow's
 * `progress` query answers (workflows/progress.ts registers it), what a training
 * activity heartbeats, and how both read as text (the UI's current details, the CLI's
 * display). The query answers what the workflow itself knows (stage, files done of
 * total, points trained, the child workflows running); how far each training activity
 * is (epoch i/N, batch j/M, ETA) is in its heartbeat, which `hepflow status` reads from
 * the workflow's pending activities. Pure: workflows, activities and the CLI import it.
 */

export type RunKind =
  | 'pipeline'
  | 'generate'
  | 'ingest'
  | 'features'
  | 'score'
  | 'file-batch'
  | 'grid-search'
  | 'tune'
  | 'distributed-train';

export interface FilesProgress {
  /** Files listed (0 until the listing is done). */
  readonly total: number;
  /** Files finished, failed ones included. */
  readonly done: number;
  readonly failed: number;
  /** Events read by the finished files (ROOT entries). */
  readonly events: number;
  readonly bytes: number;
  /** Since when the files have been read: events/s and the ETA count from here. */
  readonly startedAt: string;
}

export type PointStatus = 'waiting' | 'running' | 'done' | 'failed';

export interface PointProgress {
  readonly id: string;
  /** The grid point's values (batch, layers, learningRate, ...). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: PointStatus;
  readonly valMeanAuc?: number;
  readonly error?: string;
  /** A tuning trial's rung: the one it trains at, or the last it finished. */
  readonly rung?: number;
}

export interface RunProgress {
  readonly workflowId: string;
  readonly kind: RunKind;
  /** The workflow's current stage; 'done' once its result is on the way. */
  readonly stage: string;
  readonly stageStartedAt: string;
  readonly startedAt: string;
  /** A model's name (grid search) or the model trained (distributed training). */
  readonly model?: string;
  readonly files?: FilesProgress;
  readonly points?: readonly PointProgress[];
  /** Distributed training: the epoch reached, of how many, with how many workers. */
  readonly epoch?: { readonly done: number; readonly total: number; readonly workers: number };
  /** Child workflows running now, whose own progress query says more. */
  readonly children: readonly string[];
}

/** What one training activity heartbeats (activities/train.ts): progress for people, and where a retry resumes. */
export interface TrainHeartbeat {
  readonly point: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** 0-based epoch being trained, of `epochs`. */
  readonly epoch: number;
  readonly epochs: number;
  /** Batches done in this epoch, of about `batchesPerEpoch` (exact after the first epoch). */
  readonly batch: number;
  readonly batchesPerEpoch: number;
  readonly loss: number;
  readonly samplesPerSecond: number;
  readonly etaSeconds?: number;
  readonly lastCheckpointEpoch: number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (iso: string): number => new Date(iso).getTime();

/** Remaining seconds at the rate since `startedAt`; undefined until something is done. */
export function etaSeconds(done: number, total: number, startedAt: string, now: number): number | undefined {
  if (done <= 0 || total <= done) return total <= done && total > 0 ? 0 : undefined;
  const elapsed = (now - ms(startedAt)) / 1000;
  return elapsed > 0 ? (elapsed * (total - done)) / done : undefined;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export const formatParams = (params: Readonly<Record<string, unknown>>): string =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('-') : String(v)}`)
    .join(' ');

/** Files done of total, failures, events and events/s, ETA: one line. `now` is the reader's clock (ms). */
export function describeFiles(f: FilesProgress, now: number): string {
  const elapsed = Math.max(1e-3, (now - ms(f.startedAt)) / 1000);
  const eta = etaSeconds(f.done, f.total, f.startedAt, now);
  return (
    `${f.done}/${f.total || '?'} files${f.failed ? ` (${f.failed} failed)` : ''}, ${fmt(f.events)} events, ${fmt(f.events / elapsed)} events/s` +
    (eta !== undefined && f.done < f.total ? `, ETA ${formatDuration(eta)}` : '')
  );
}

export function describeHeartbeat(h: TrainHeartbeat): string {
  return (
    `epoch ${Math.min(h.epoch + 1, h.epochs)}/${h.epochs}, batch ${h.batch}/${h.batchesPerEpoch}, loss ${h.loss.toFixed(4)}, ${fmt(h.samplesPerSecond)} samples/s` +
    (h.etaSeconds !== undefined ? `, ETA ${formatDuration(h.etaSeconds)}` : '')
  );
}

/** How many trials stand at each rung of a tuning study, e.g. ", rungs 0:20 1:6 2:2"; empty for a grid. */
function describeRungs(points: readonly PointProgress[]): string {
  const at = new Map<number, number>();
  for (const x of points) if (x.rung !== undefined) at.set(x.rung, (at.get(x.rung) ?? 0) + 1);
  if (at.size === 0) return '';
  return `, rungs ${[...at.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([r, n]) => `${r}:${n}`)
    .join(' ')}`;
}

/** The progress as one line of text: the UI's current details and the CLI's display. */
export function describeProgress(p: RunProgress, now: number): string {
  const parts = [`${p.kind}${p.model ? ` ${p.model}` : ''}: ${p.stage}`];
  if (p.files) parts.push(describeFiles(p.files, now));
  if (p.points) {
    const count = (s: PointStatus) => p.points!.filter((x) => x.status === s).length;
    const best = p.points.reduce<PointProgress | undefined>(
      (b, x) => (x.valMeanAuc !== undefined && (b === undefined || x.valMeanAuc > b.valMeanAuc!) ? x : b),
      undefined,
    );
    parts.push(
      `${count('done')}/${p.points.length} ${p.kind === 'tune' ? 'trials' : 'points'} trained${count('failed') ? `, ${count('failed')} failed` : ''}, ${count('running')} running` +
        describeRungs(p.points) +
        (best ? `, best ${best.id} (val AUC ${best.valMeanAuc!.toFixed(4)})` : ''),
    );
  }
  if (p.epoch) parts.push(`epoch ${p.epoch.done}/${p.epoch.total} on ${p.epoch.workers} workers`);
  return parts.join(' — ');
}
