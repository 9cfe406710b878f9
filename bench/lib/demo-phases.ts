/** A line of a command's output and when it arrived (seconds from the command's start). */
export interface TimedLine {
  readonly t: number;
  readonly line: string;
}

/** Where each phase of `npm run demo` ends: the first line that starts with the marker (cli/commands/demo.ts prints them). */
const PHASES = [
  { phase: 'bootstrap', endsAt: 'stack:' },
  { phase: 'stack and inputs', endsAt: 'started ingestWorkflow' },
  { phase: 'ingest', endsAt: 'started pipelineWorkflow' },
  { phase: 'pipeline', endsAt: 'report:' },
] as const;

/** The demo's run split by its output; the last phase ('rest') runs to the last line. */
export function demoPhases(lines: readonly TimedLine[]): { phase: string; seconds: number }[] {
  const out: { phase: string; seconds: number }[] = [];
  let from = 0;
  for (const p of PHASES) {
    const at = lines.find((l) => l.t >= from && l.line.startsWith(p.endsAt));
    if (at === undefined) throw new Error(`demo output has no line starting with '${p.endsAt}' (end of ${p.phase})`);
    out.push({ phase: p.phase, seconds: at.t - from });
    from = at.t;
  }
  out.push({ phase: 'rest', seconds: Math.max(0, (lines.at(-1)?.t ?? from) - from) });
  return out;
}

const seconds = (s: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  if (!m) throw new Error(`not a bash time: '${s}'`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/** user + system seconds of the children from bash's `times` (its second line). */
export function parseTimes(lines: readonly string[]): number {
  const children = lines[1]?.trim().split(/\s+/);
  if (children?.length !== 2) throw new Error(`unexpected output of bash's times: ${JSON.stringify(lines)}`);
  return seconds(children[0]!) + seconds(children[1]!);
}
