import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { Resvg } from '@resvg/resvg-js';
import { classificationReport, rocCurve, rocSvg, thinRoc, wrapText } from '../src/ml/metrics.js';
import { mulberry32 } from '../src/ml/data.js';

const python = path.join(projectRoot, '.tools', 'venv', 'bin', 'python');

test('AUC of hand-computed cases', () => {
  // 4 positive-negative pairs: (0.35 vs 0.1) win, (0.35 vs 0.4) loss, 0.8 wins both: 3/4.
  assert.equal(rocCurve([0.1, 0.4, 0.35, 0.8], [false, false, true, true]).auc, 0.75);
  assert.equal(rocCurve([0.9, 0.8, 0.2, 0.1], [true, true, false, false]).auc, 1);
  assert.equal(rocCurve([0.9, 0.8, 0.2, 0.1], [false, false, true, true]).auc, 0);
  // All scores tied: one diagonal step, exactly one half.
  assert.equal(rocCurve([0.5, 0.5, 0.5, 0.5, 0.5], [true, false, false, true, false]).auc, 0.5);
  // Ties across classes: pairs (p=0.7: beats 0.3, ties 0.7) (p=0.3: ties 0.3, loses 0.7) => (1+.5+.5+0)/4
  assert.equal(rocCurve([0.7, 0.3, 0.7, 0.3], [true, true, false, false]).auc, 0.5);
  // (0.7 vs 0.7) tie ½, (0.7 vs 0.1) 1, (0.3 vs 0.7) 0, (0.3 vs 0.1) 1 => 2.5/4
  assert.equal(rocCurve([0.7, 0.3, 0.7, 0.1], [true, true, false, false]).auc, 0.625);
});

test('ROC points: one per distinct threshold, from (0,0) to (1,1)', () => {
  const roc = rocCurve([0.1, 0.4, 0.4, 0.8], [false, true, false, true]);
  assert.deepEqual(roc.fpr, [0, 0, 0.5, 1]);
  assert.deepEqual(roc.tpr, [0, 0.5, 1, 1]);
  assert.deepEqual(roc.thresholds, [Infinity, 0.8, 0.4, 0.1]);
  assert.throws(() => rocCurve([0.1, 0.2], [true, true]), /needs both classes/);
  assert.throws(() => rocCurve([0.1, NaN], [true, false]), /NaN/);
});

test('AUC matches an independent numpy reference on tied random scores', () => {
  const random = mulberry32(7);
  const n = 500;
  // Scores rounded to 2 decimals: many ties, some across classes.
  const labels = Array.from({ length: n }, () => random() < 0.4);
  const scores = labels.map((y) => Math.round((random() + (y ? 0.3 : 0)) * 100) / 100);
  const out = execFileSync(python, [path.join(projectRoot, 'test/python/ml_auc_reference.py')], {
    input: JSON.stringify({ scores, labels: labels.map(Number) }),
  });
  const ref = JSON.parse(out.toString()) as { trapz: number; mannWhitney: number };
  const auc = rocCurve(scores, labels).auc;
  assert.ok(Math.abs(ref.trapz - ref.mannWhitney) < 1e-12, 'the two references agree');
  assert.ok(Math.abs(auc - ref.trapz) < 1e-12, `auc ${auc} vs numpy ${ref.trapz}`);
  assert.ok(auc > 0.6 && auc < 0.95);
});

test('classification report: accuracy, confusion matrix, per-class AUC', () => {
  const probs = [
    0.8,
    0.1,
    0.1, // true 0, predicted 0
    0.2,
    0.7,
    0.1, // true 1, predicted 1
    0.5,
    0.1,
    0.4, // true 2, predicted 0
    0.1,
    0.2,
    0.7, // true 2, predicted 2
  ];
  const r = classificationReport(probs, [0, 1, 2, 2], ['a', 'b', 'c']);
  assert.equal(r.accuracy, 0.75);
  assert.deepEqual(r.confusion, [
    [1, 0, 0],
    [0, 1, 0],
    [1, 0, 1],
  ]);
  // class a: positive score 0.8 vs negatives 0.2, 0.5, 0.1 -> 1
  assert.equal(r.perClass[0]!.auc, 1);
  // class c: positives 0.4, 0.7 vs negatives 0.1, 0.1 -> 1
  assert.equal(r.perClass[2]!.auc, 1);
  assert.throws(() => classificationReport(probs, [0, 1, 3, 2], ['a', 'b', 'c']), /label 3/);
  // Class b absent: its AUC is undefined (NaN) and the mean is over a and c.
  const noB = classificationReport(probs, [0, 0, 2, 2], ['a', 'b', 'c']);
  assert.ok(Number.isNaN(noB.perClass[1]!.auc));
  assert.equal(noB.meanAuc, (noB.perClass[0]!.auc + noB.perClass[2]!.auc) / 2);
  const svg = rocSvg(r, 'test <plot>');
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<polyline/g)?.length, 3);
  assert.match(svg, /test &lt;plot&gt;/);
  assert.match(svg, /a \(AUC 1.0000\)/);
});

test('ROC titles fit the image: wrapped onto lines above the plot, as measured with a real font', () => {
  const report = classificationReport(
    [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4, 0.6, 0.2, 0.2],
    [0, 1, 2, 0],
    ['qcd', 'ttbar', 'wjets'],
  );
  // resvg lays text out with the font's real glyph advances (DejaVu Sans is a wide one).
  const font = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };
  const bbox = (svg: string) => new Resvg(svg, { font }).getBBox()!;
  const longUri =
    'ROC, particle-sequence classifier, s3://hepflow/runs/pipeline-2026-11-28T23-05-12-qcd-ttbar-wjets/datasets/full/test';
  // The old single-line title at 14 px: wider than the 480 px image, so it was clipped.
  const oneLine = bbox(
    `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="40" font-family="sans-serif"><text x="240" y="22" text-anchor="middle" font-size="14">${longUri}</text></svg>`,
  );
  assert.ok(oneLine.width > 480, `single line ${oneLine.width} px`);
  for (const title of ['ROC, hlf classifier', longUri, `ROC <${'x'.repeat(150)}>`]) {
    const svg = rocSvg(report, title);
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const titleLines = svg.split('\n').filter((l) => l.startsWith('<text') && l.includes('font-size="14"'));
    const text = titleLines
      .map((l) => />(.*)<\/text>$/.exec(l)![1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'))
      .join('');
    assert.equal(text.replace(/\s/g, ''), title.replace(/\s/g, ''), 'every character of the title is shown, in order');
    const t = bbox(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">${titleLines.join('')}</svg>`,
    );
    assert.ok(t.x >= 0 && t.x + t.width <= w!, `${title}: title spans ${t.x}..${t.x + t.width} of ${w} px`);
    const frameTop = Number(/<rect x="60" y="(\d+)"/.exec(svg)![1]);
    assert.ok(t.y + t.height < frameTop, `${title}: title ends at ${t.y + t.height}, plot starts at ${frameTop}`);
    // Nothing else (ticks, axis labels, legend) leaves the image either.
    const all = bbox(svg.replace(/<rect width="\d+" height="\d+" fill="white"\/>/, ''));
    assert.ok(
      all.x >= 0 && all.y >= 0 && all.x + all.width <= w! && all.y + all.height <= h!,
      `${title}: content ${JSON.stringify(all)}`,
    );
  }
  assert.deepEqual(wrapText('short', 400, 14), ['short']);
  assert.deepEqual(wrapText('', 400, 14), ['']);
});

test('thinning keeps the ends and the AUC', () => {
  const random = mulberry32(3);
  const labels = Array.from({ length: 2000 }, () => random() < 0.5);
  const roc = rocCurve(
    labels.map(() => random()),
    labels,
  );
  const thin = thinRoc(roc, 50);
  assert.equal(thin.fpr.length, 50);
  assert.deepEqual([thin.fpr[0], thin.tpr[0], thin.fpr[49], thin.tpr[49]], [0, 0, 1, 1]);
  assert.equal(thin.auc, roc.auc);
});
