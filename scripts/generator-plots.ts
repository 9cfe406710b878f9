/**
 * Draws normalised distributions of a few high-level features per class, for events
 * that pass the isolated-lepton filter, as a hand-written SVG (no plotting dependency).
 *
 * Run: node dist/scripts/generator-plots.js [out.svg] [eventsPerClass] [seed]
 * (default docs/img/generator-hlf.svg, 20000 events per class, seed 1)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_CLASSES, type EventClass, N_HLF } from '../src/physics/schema.js';
import { HLF } from '../src/physics/hlf.js';
import { selectedSample, type SelectedSample } from './separability.js';
import { esc } from '../src/ml/metrics.js';

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly lo: number;
  readonly hi: number;
  readonly bins: number;
  /** Counts: ticks on the integers rather than at quarters of the range. */
  readonly integer?: boolean;
  readonly value: (hlf: Float32Array, row: number) => number;
}

const col =
  (k: number) =>
  (h: Float32Array, r: number): number =>
    h[r * N_HLF + k]!;

export const PANELS: readonly Panel[] = [
  { title: 'MT (lepton, MET)', unit: 'GeV', lo: 0, hi: 200, bins: 40, value: col(HLF.MT) },
  { title: 'MET', unit: 'GeV', lo: 0, hi: 200, bins: 40, value: col(HLF.MET) },
  { title: 'HT (jets pT > 30 GeV)', unit: 'GeV', lo: 0, hi: 800, bins: 40, value: col(HLF.HT) },
  { title: 'lepton pT', unit: 'GeV', lo: 20, hi: 160, bins: 35, value: col(HLF.LepPt) },
  { title: 'nJets', unit: '', lo: -0.5, hi: 9.5, bins: 10, integer: true, value: col(HLF.nJets) },
  { title: 'nBjets', unit: '', lo: -0.5, hi: 4.5, bins: 5, integer: true, value: col(HLF.nBjets) },
  {
    title: 'lepton relative isolation',
    unit: '',
    lo: 0,
    hi: 0.45,
    bins: 30,
    value: (h, r) => h[r * N_HLF + HLF.LepIsoCh]! + h[r * N_HLF + HLF.LepIsoGamma]! + h[r * N_HLF + HLF.LepIsoNeu]!,
  },
  { title: 'lepton η', unit: '', lo: -2.5, hi: 2.5, bins: 25, value: col(HLF.LepEta) },
];

const COLORS: Record<EventClass, string> = { qcd: '#1f77b4', ttbar: '#d62728', wjets: '#2ca02c' };
const LABELS: Record<EventClass, string> = { qcd: 'QCD multijet', ttbar: 'tt̄', wjets: 'W(→ℓν)+jets' };

/** Normalised histogram (fractions per bin, overflow in the last bin). */
function histogram(sample: SelectedSample, cls: number, p: Panel): number[] {
  const counts = new Array<number>(p.bins).fill(0);
  let n = 0;
  for (let r = 0; r < sample.labels.length; r++) {
    if (sample.labels[r] !== cls) continue;
    const v = p.value(sample.hlf, r);
    const b = Math.min(p.bins - 1, Math.max(0, Math.floor(((v - p.lo) / (p.hi - p.lo)) * p.bins)));
    counts[b]!++;
    n++;
  }
  return counts.map((c) => (n > 0 ? c / n : 0));
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(2));

export function renderSvg(sample: SelectedSample, caption: string): string {
  const pw = 300;
  const ph = 200;
  const margin = { l: 48, r: 12, t: 26, b: 36 };
  const cols = 4;
  const rows = Math.ceil(PANELS.length / cols);
  const W = cols * (pw + margin.l + margin.r);
  const H = rows * (ph + margin.t + margin.b) + 56;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  PANELS.forEach((p, i) => {
    const x0 = (i % cols) * (pw + margin.l + margin.r) + margin.l;
    const y0 = Math.floor(i / cols) * (ph + margin.t + margin.b) + margin.t;
    const hists = EVENT_CLASSES.map((_, c) => histogram(sample, c, p));
    const ymax = Math.max(...hists.flat()) * 1.1 || 1;
    const sx = (v: number): number => x0 + ((v - p.lo) / (p.hi - p.lo)) * pw;
    const sy = (f: number): number => y0 + ph - (f / ymax) * ph;
    out.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
    out.push(`<text x="${x0 + pw / 2}" y="${y0 - 8}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    const xticks =
      p.integer === true
        ? Array.from({ length: Math.floor(p.hi) - Math.ceil(p.lo) + 1 }, (_, k) => Math.ceil(p.lo) + k)
        : [0, 1, 2, 3, 4].map((t) => p.lo + ((p.hi - p.lo) * t) / 4);
    for (const v of xticks) {
      out.push(`<line x1="${sx(v)}" y1="${y0 + ph}" x2="${sx(v)}" y2="${y0 + ph + 4}" stroke="#333"/>`);
      out.push(`<text x="${sx(v)}" y="${y0 + ph + 16}" text-anchor="middle">${fmt(v)}</text>`);
    }
    for (let t = 0; t <= 4; t++) {
      const f = (ymax * t) / 4;
      out.push(`<line x1="${x0 - 4}" y1="${sy(f)}" x2="${x0}" y2="${sy(f)}" stroke="#333"/>`);
      out.push(`<text x="${x0 - 6}" y="${sy(f) + 4}" text-anchor="end">${f.toFixed(2)}</text>`);
    }
    if (p.unit) out.push(`<text x="${x0 + pw}" y="${y0 + ph + 30}" text-anchor="end">${p.unit}</text>`);
    EVENT_CLASSES.forEach((cls, c) => {
      const h = hists[c]!;
      const bw = (p.hi - p.lo) / p.bins;
      let d = `M${sx(p.lo).toFixed(1)},${sy(0).toFixed(1)}`;
      h.forEach((f, b) => {
        d += ` L${sx(p.lo + b * bw).toFixed(1)},${sy(f).toFixed(1)} L${sx(p.lo + (b + 1) * bw).toFixed(1)},${sy(f).toFixed(1)}`;
      });
      d += ` L${sx(p.hi).toFixed(1)},${sy(0).toFixed(1)}`;
      out.push(`<path d="${d}" fill="none" stroke="${COLORS[cls]}" stroke-width="1.6"/>`);
    });
  });
  const ly = H - 24;
  EVENT_CLASSES.forEach((cls, c) => {
    const lx = margin.l + c * 240;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${COLORS[cls]}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(LABELS[cls])} (${sample.selected[cls]} selected)</text>`);
  });
  out.push(`<text x="${W - margin.r}" y="${ly + 4}" text-anchor="end" fill="#555">${esc(caption)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? 'docs/img/generator-hlf.svg';
  const perClass = Number(process.argv[3] ?? 20000);
  const seed = Number(process.argv[4] ?? 1);
  const sample = selectedSample(perClass, seed);
  const caption = `hepflow generator, seed ${seed}, ${perClass} events per class, 13 TeV, <PU> = 30; normalised, isolated-lepton filter applied`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderSvg(sample, caption));
  console.log(`wrote ${path}: selected ${JSON.stringify(sample.selected)}`);
}
