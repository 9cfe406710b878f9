/**
 * The service's metrics for operators, in Prometheus' text exposition format (version
 * 0.0.4), served at GET /metrics. Written here rather than with a client library: four
 * families of counters and histograms, and the service must not pull a dependency into
 * every process that imports it.
 */

/** Why a request failed, as the `kind` label of hepflow_serve_errors_total. */
export type ErrorKind =
  | 'bad_request'
  | 'body_too_large'
  | 'not_found'
  | 'queue_full'
  | 'draining'
  | 'internal'
  | 'unsupported';

/** Which API a request came through, as the `protocol` label. */
export type Protocol = 'native' | 'oip_rest' | 'oip_grpc';

/** Latency buckets in seconds: 0.1 ms to 50 ms (the trigger-latency range), then coarse. */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.5, 1,
];

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Record<string, string>): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};
/** Prometheus' number syntax: integers as such, +Inf for infinity. */
const num = (v: number): string => (v === Infinity ? '+Inf' : String(v));

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(v: number): void {
    // Each bucket counts the observations <= its bound; cumulated when written.
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  lines(name: string, labels: Record<string, string>): string[] {
    let cumulative = 0;
    const out = this.bounds.map((b, i) => {
      cumulative += this.counts[i]!;
      return `${name}_bucket${labelText({ ...labels, le: num(b) })} ${cumulative}`;
    });
    out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${this.count}`);
    out.push(`${name}_sum${labelText(labels)} ${num(this.sum)}`);
    out.push(`${name}_count${labelText(labels)} ${this.count}`);
    return out;
  }
}

export class ServeMetrics {
  private readonly requests = new Map<Protocol, number>();
  private readonly events = new Map<Protocol, number>();
  private readonly errors = new Map<string, number>();
  private readonly latency = new Map<Protocol, Histogram>();
  private readonly batchSize: Histogram;
  private readonly batchSeconds = new Histogram(LATENCY_BUCKETS);

  /** `maxBatch` bounds the batch-size buckets (powers of two up to it). */
  constructor(maxBatch: number) {
    const sizes: number[] = [];
    for (let b = 1; b < maxBatch; b *= 2) sizes.push(b);
    sizes.push(maxBatch);
    this.batchSize = new Histogram(sizes);
  }

  /** A request answered (successfully or not) after `seconds`, with `events` events scored. */
  request(protocol: Protocol, seconds: number, events: number): void {
    this.requests.set(protocol, (this.requests.get(protocol) ?? 0) + 1);
    this.events.set(protocol, (this.events.get(protocol) ?? 0) + events);
    let h = this.latency.get(protocol);
    if (h === undefined) this.latency.set(protocol, (h = new Histogram(LATENCY_BUCKETS)));
    h.observe(seconds);
  }

  error(protocol: Protocol, kind: ErrorKind): void {
    const key = `${protocol}\u0000${kind}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  batch(size: number, seconds: number): void {
    this.batchSize.observe(size);
    this.batchSeconds.observe(seconds);
  }

  /** The exposition text; `queued` is the batcher's queue depth now. */
  text(queued: number, draining: boolean): string {
    const family = (name: string, type: string, help: string, lines: string[]): string =>
      [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
    const counter = (m: Map<Protocol, number>, name: string): string[] =>
      [...m].map(([protocol, v]) => `${name}${labelText({ protocol })} ${v}`);
    return `${[
      family(
        'hepflow_serve_requests_total',
        'counter',
        'Requests answered, by protocol.',
        counter(this.requests, 'hepflow_serve_requests_total'),
      ),
      family(
        'hepflow_serve_events_total',
        'counter',
        'Events scored, by protocol.',
        counter(this.events, 'hepflow_serve_events_total'),
      ),
      family(
        'hepflow_serve_errors_total',
        'counter',
        'Requests that failed, by protocol and kind of error.',
        [...this.errors].map(([key, v]) => {
          const [protocol, kind] = key.split('\u0000') as [string, string];
          return `hepflow_serve_errors_total${labelText({ protocol, kind })} ${v}`;
        }),
      ),
      family(
        'hepflow_serve_request_duration_seconds',
        'histogram',
        'Time from reading a request to answering it, queueing and the model included.',
        [...this.latency].flatMap(([protocol, h]) => h.lines('hepflow_serve_request_duration_seconds', { protocol })),
      ),
      family(
        'hepflow_serve_batch_size',
        'histogram',
        'Events per model call.',
        this.batchSize.lines('hepflow_serve_batch_size', {}),
      ),
      family(
        'hepflow_serve_batch_duration_seconds',
        'histogram',
        'Time of one model call.',
        this.batchSeconds.lines('hepflow_serve_batch_duration_seconds', {}),
      ),
      family('hepflow_serve_queue_depth', 'gauge', 'Events waiting for the model.', [
        `hepflow_serve_queue_depth ${queued}`,
      ]),
      family('hepflow_serve_draining', 'gauge', '1 while the service drains for shutdown.', [
        `hepflow_serve_draining ${draining ? 1 : 0}`,
      ]),
    ].join('\n')}\n`;
  }
}
