/**
 * Classification metrics: exact one-vs-rest ROC curves and AUC, accuracy, confusion
 * matrix. Plain arrays in, plain JSON out: no tensors, so they are easy to test.
 */

export interface RocCurve {
  /** False-positive rates, from 0 to 1, one point per distinct score threshold. */
  readonly fpr: number[];
  readonly tpr: number[];
  /** Score threshold of each point (Infinity for the (0,0) start). */
  readonly thresholds: number[];
  readonly auc: number;
}

/**
 * ROC of `scores` for the positives marked in `positive`. Samples with equal scores are
 * one threshold step (a diagonal segment), so the trapezoidal area is exactly the
 * Mann–Whitney probability P(s+ > s-) + ½·P(s+ = s-), whatever the input order.
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean>): RocCurve {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`rocCurve: ${n} scores but ${positive.length} labels`);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`rocCurve: score ${i} is NaN`);
    if (positive[i]) nPos++;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0)
    throw new Error(`rocCurve: needs both classes (got ${nPos} positive, ${nNeg} negative)`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    const tp0 = tp;
    const fp0 = fp;
    for (; k < n && scores[order[k]!] === s; k++) {
      if (positive[order[k]!]) tp++;
      else fp++;
    }
    // Trapezoid in counts (integers until the final division, so no drift).
    auc += (fp - fp0) * (tp + tp0);
    fpr.push(fp / nNeg);
    tpr.push(tp / nPos);
    thresholds.push(s);
  }
  return { fpr, tpr, thresholds, auc: auc / (2 * nPos * nNeg) };
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

export interface ClassMetrics {
  readonly className: string;
  readonly auc: number;
  readonly roc: RocCurve;
}

export interface ClassificationReport {
  readonly samples: number;
  readonly accuracy: number;
  /** confusion[true][predicted] */
  readonly confusion: number[][];
  readonly perClass: ClassMetrics[];
  readonly meanAuc: number;
}

/**
 * Metrics for softmax outputs: `probs` is row-major samples × classes, `labels` the
 * true class indices. ROC points are thinned to at most `maxRocPoints` per class for the
 * report (the AUC is always computed on the full curve).
 */
export function classificationReport(
  probs: Float32Array | number[],
  labels: ArrayLike<number>,
  classNames: readonly string[],
  maxRocPoints = 1000,
): ClassificationReport {
  const k = classNames.length;
  const n = labels.length;
  if (probs.length !== n * k)
    throw new Error(`classificationReport: ${probs.length} scores for ${n} samples × ${k} classes`);
  if (n === 0) throw new Error('classificationReport: no samples');
  const confusion = classNames.map(() => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k)
      throw new Error(`classificationReport: label ${y} of sample ${i} is not a class index < ${k}`);
    const p = argmax(probs.slice(i * k, i * k + k));
    confusion[y]![p]!++;
    if (p === y) correct++;
  }
  const perClass = classNames.map((className, c) => {
    const scores = new Float64Array(n);
    const positive = new Array<boolean>(n);
    for (let i = 0; i < n; i++) {
      scores[i] = probs[i * k + c]!;
      positive[i] = labels[i] === c;
    }
    // A class absent from the sample (or the only one present) has no ROC: NaN, not an
    // exception, so a small validation split cannot abort a training run.
    const present = confusion[c]!.reduce((a, b) => a + b, 0);
    if (present === 0 || present === n)
      return { className, auc: NaN, roc: { fpr: [], tpr: [], thresholds: [], auc: NaN } };
    const roc = rocCurve(scores, positive);
    return { className, auc: roc.auc, roc: thinRoc(roc, maxRocPoints) };
  });
  const defined = perClass.filter((c) => Number.isFinite(c.auc));
  return {
    samples: n,
    accuracy: correct / n,
    confusion,
    perClass,
    /** Over the classes that have an AUC (NaN when none has). */
    meanAuc: defined.reduce((s, c) => s + c.auc, 0) / defined.length,
  };
}

/** Keeps at most `max` points (always the ends) so reports and plots stay small. */
export function thinRoc(roc: RocCurve, max: number): RocCurve {
  const n = roc.fpr.length;
  if (n <= max) return roc;
  const keep: number[] = [];
  for (let j = 0; j < max; j++) keep.push(Math.round((j * (n - 1)) / (max - 1)));
  return {
    fpr: keep.map((i) => roc.fpr[i]!),
    tpr: keep.map((i) => roc.tpr[i]!),
    thresholds: keep.map((i) => roc.thresholds[i]!),
    auc: roc.auc,
  };
}

/** Class colours, by label index, in every plot of a run. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** Text for XML and HTML content and double-quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}

const NARROW = new Set(" .,:;/\\|!'()[]ijlrtf");
const WIDE = new Set('mwMW@%');

/**
 * A generous estimate of a sans-serif string's width in pixels: an SVG cannot measure
 * its own text, and an estimate that errs wide wraps a little early rather than clips.
 */
function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) em += NARROW.has(ch) ? 0.4 : WIDE.has(ch) ? 1 : /[A-Z0-9_#&]/.test(ch) ? 0.75 : 0.64;
  return em * fontSize;
}

/**
 * Splits text into lines no wider than `maxWidth`, breaking after spaces, slashes,
 * commas, dots and dashes (titles carry URIs), and inside a word only if it alone is too wide.
 */
export function wrapText(text: string, maxWidth: number, fontSize: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const token of text.split(/(?<=[\s/,.\-_])/)) {
    if (textWidth(line + token, fontSize) <= maxWidth) {
      line += token;
      continue;
    }
    if (line.trim()) lines.push(line.trimEnd());
    line = '';
    for (const ch of token) {
      if (line && textWidth(line + ch, fontSize) > maxWidth) {
        lines.push(line);
        line = '';
      }
      line += ch;
    }
  }
  if (line.trim() || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}

/**
 * A standalone SVG of the per-class ROC curves (TPR vs FPR) with AUCs in the legend.
 * A long title (they name the dataset's URI) wraps onto more lines and the plot moves down.
 */
export function rocSvg(report: ClassificationReport, title: string): string {
  const TITLE_SIZE = 14,
    TITLE_LINE = 18,
    MARGIN = 12;
  const W = 480,
    L = 60,
    R = 20,
    B = 55;
  const titleLines = wrapText(title, W - 2 * MARGIN, TITLE_SIZE);
  const T = 40 + TITLE_LINE * (titleLines.length - 1);
  const H = 480 + TITLE_LINE * (titleLines.length - 1);
  const pw = W - L - R,
    ph = H - T - B;
  const x = (v: number) => (L + v * pw).toFixed(2);
  const y = (v: number) => (T + (1 - v) * ph).toFixed(2);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  titleLines.forEach((line, i) => {
    parts.push(
      `<text x="${W / 2}" y="${22 + TITLE_LINE * i}" text-anchor="middle" font-size="${TITLE_SIZE}">${esc(line)}</text>`,
    );
  });
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    parts.push(`<line x1="${x(v)}" y1="${y(0)}" x2="${x(v)}" y2="${y(1)}" stroke="#eee"/>`);
    parts.push(`<line x1="${x(0)}" y1="${y(v)}" x2="${x(1)}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${x(v)}" y="${Number(y(0)) + 16}" text-anchor="middle">${v.toFixed(1)}</text>`);
    parts.push(`<text x="${L - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>`);
  parts.push(`<text x="${L + pw / 2}" y="${H - 15}" text-anchor="middle">false positive rate</text>`);
  parts.push(
    `<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">true positive rate</text>`,
  );
  report.perClass.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = c.roc.fpr.map((f, j) => `${x(f)},${y(c.roc.tpr[j]!)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    const ly = T + ph - 14 - 18 * (report.perClass.length - 1 - i);
    parts.push(
      `<line x1="${L + pw - 170}" y1="${ly}" x2="${L + pw - 150}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${L + pw - 144}" y="${ly + 4}">${esc(c.className)} (AUC ${c.auc.toFixed(4)})</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
