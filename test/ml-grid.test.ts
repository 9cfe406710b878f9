import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGridPoint, expandGrid, selectBest, validateGridConfig } from '../src/ml/grid.js';
import { modelConfig } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';

test('expands a grid into ordered points with stable, readable ids', () => {
  const points = expandGrid({
    batch: [64, 100],
    epochs: [10],
    layers: [
      [50, 20, 10],
      [150, 50, 10],
    ],
  });
  assert.deepEqual(
    points.map((p) => p.id),
    ['b64-e10-l50x20x10', 'b64-e10-l150x50x10', 'b100-e10-l50x20x10', 'b100-e10-l150x50x10'],
  );
  assert.deepEqual(points[1]!.params, { batchSize: 64, epochs: 10, hiddenLayers: [150, 50, 10] });
  // Key order in the input does not change ids or order.
  assert.deepEqual(
    expandGrid({
      layers: [
        [50, 20, 10],
        [150, 50, 10],
      ],
      epochs: [10],
      batch: [64, 100],
    }),
    points,
  );
});

test('the reference HLF scan: 3 x 3 x (3 x 3 x 3) = 243 points', () => {
  const points = expandGrid({
    batch: [64, 100, 200],
    epochs: [10, 30, 50],
    hiddenSizes: [
      [50, 100, 150],
      [20, 50, 100],
      [10, 20, 50],
    ],
  });
  assert.equal(points.length, 243);
  assert.equal(new Set(points.map((p) => p.id)).size, 243);
  assert.ok(points.some((p) => p.id === 'b64-e10-l150x50x10'));
});

test('grid validation errors name the key and value', () => {
  assert.throws(() => validateGridConfig({ batchsize: [64] }), /unknown key 'batchsize'/);
  assert.throws(() => validateGridConfig({ batch: [] }), /'batch' must be a non-empty list/);
  assert.throws(() => validateGridConfig({ batch: [64, 64] }), /'batch' lists a value twice/);
  assert.throws(() => validateGridConfig({ batch: [0] }), /'batch' value 0 is not a positive integer/);
  assert.throws(() => validateGridConfig({ layers: [[50, -1]] }), /'layers' value \[50,-1\]/);
  assert.throws(() => validateGridConfig({ dropout: [1.5] }), /'dropout' value 1.5 is not in \[0, 1\)/);
  assert.throws(() => validateGridConfig({ layers: [[1]], hiddenSizes: [[1]] }), /either 'layers'.*or 'hiddenSizes'/);
  assert.throws(
    () =>
      validateGridConfig({
        batch: Array.from({ length: 101 }, (_, i) => i + 1),
        epochs: Array.from({ length: 100 }, (_, i) => i + 1),
      }),
    /10100 points exceed/,
  );
  assert.throws(() => validateGridConfig([1]), /must be an object/);
});

test('a point applied to a base config; invalid combinations fail validation', () => {
  const base = defaultTrainConfig(modelConfig('hlf'));
  const [p] = expandGrid({ batch: [64], layers: [[150, 50, 10]], learningRate: [0.01] });
  const c = applyGridPoint(base, p!);
  assert.equal(c.batchSize, 64);
  assert.equal(c.epochs, base.epochs);
  assert.deepEqual(c.model.hiddenLayers, [150, 50, 10]);
  assert.equal(c.model.learningRate, 0.01);
  assert.equal(base.model.learningRate, 0.001, 'base untouched');
});

test('best point: by metric and direction, ties to the smallest id, non-finite skipped', () => {
  const outcomes = [
    { id: 'b64-e10', metrics: { valMeanAuc: 0.97, valLoss: 0.3 } },
    { id: 'b100-e10', metrics: { valMeanAuc: 0.98, valLoss: 0.31 } },
    { id: 'b200-e10', metrics: { valMeanAuc: NaN, valLoss: 0.2 } },
    { id: 'b128-e10', metrics: { valMeanAuc: 0.98, valLoss: 0.4 } },
  ];
  assert.equal(selectBest(outcomes, 'valMeanAuc', true).id, 'b100-e10');
  assert.equal(selectBest([...outcomes].reverse(), 'valMeanAuc', true).id, 'b100-e10');
  assert.equal(selectBest(outcomes, 'valLoss', false).id, 'b200-e10');
  assert.throws(() => selectBest(outcomes, 'valAccuracy', true), /no grid point has a finite 'valAccuracy'/);
});
