/**
 * The Parquet layout of score files, one row per scored event:
 *
 *   source_uri     STRING   the event's ROOT file (as in feature files)
 *   source_entry   INT64    its entry in the tree
 *   label          INT32    the true class index where known (feature parts, labelled inputs), else -1
 *   p_<class>      FLOAT    one column per model class: the softmax probability
 *   predicted      STRING   the most probable class
 *   accepted       BOOLEAN  with a selection: p_<class> >= threshold
 */
import {
  Bool,
  Field,
  Float32,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableToIPC,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { rowArrayGroup, type RowCodec } from '../parquet/writer.js';
import type { Selection } from './selection.js';

export const SCORES_FORMAT_KEY = 'hepflow.scores.format';
export const SCORES_FORMAT_VERSION = '1';

export interface ScoreRow {
  readonly sourceUri: string;
  readonly sourceEntry: number;
  /** -1 when unknown. */
  readonly label: number;
  /** One probability per class (a view is fine: the codec copies it). */
  readonly probs: ArrayLike<number>;
}

export const probabilityColumn = (className: string): string => `p_${className}`;

/** The codec of score files for a model's classes (and a selection, which adds `accepted`). */
export function scoreCodec(classNames: readonly string[], selection?: Selection): RowCodec<ScoreRow> {
  const k = classNames.length;
  const selected = selection === undefined ? -1 : classNames.indexOf(selection.className);
  const schema = new Schema([
    new Field('source_uri', new Utf8(), false),
    new Field('source_entry', new Int64(), false),
    new Field('label', new Int32(), false),
    ...classNames.map((c) => new Field(probabilityColumn(c), new Float32(), false)),
    new Field('predicted', new Utf8(), false),
    ...(selection !== undefined ? [new Field('accepted', new Bool(), false)] : []),
  ]);
  return {
    format: { [SCORES_FORMAT_KEY]: SCORES_FORMAT_VERSION, 'hepflow.scores.classes': JSON.stringify(classNames) },
    dictionaryColumns: ['source_uri', 'predicted'],
    check(row, target) {
      if (row.probs.length !== k)
        throw new Error(`${target}: score row has ${row.probs.length} probabilities for ${k} classes`);
    },
    newRowGroup: () =>
      rowArrayGroup((rows) => {
        const n = rows.length;
        const entry = new BigInt64Array(n);
        const label = new Int32Array(n);
        const probs = classNames.map(() => new Float32Array(n));
        const predicted = new Array<string>(n);
        const uri = new Array<string>(n);
        const accepted = new Array<boolean>(n);
        for (let i = 0; i < n; i++) {
          const r = rows[i]!;
          uri[i] = r.sourceUri;
          entry[i] = BigInt(r.sourceEntry);
          label[i] = r.label;
          let best = 0;
          for (let c = 0; c < k; c++) {
            probs[c]![i] = r.probs[c]!;
            if (r.probs[c]! > r.probs[best]!) best = c;
          }
          predicted[i] = classNames[best]!;
          if (selection !== undefined) accepted[i] = r.probs[selected]! >= selection.threshold;
        }
        const children: Data[] = [
          vectorFromArray(uri, new Utf8()).data[0]!,
          makeData({ type: new Int64(), length: n, nullCount: 0, data: entry }),
          makeData({ type: new Int32(), length: n, nullCount: 0, data: label }),
          ...probs.map((data) => makeData({ type: new Float32(), length: n, nullCount: 0, data })),
          vectorFromArray(predicted, new Utf8()).data[0]!,
          ...(selection !== undefined ? [vectorFromArray(accepted, new Bool()).data[0]!] : []),
        ];
        const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
        return tableToIPC(new Table(schema, [new RecordBatch(schema, struct)]), 'stream');
      }),
  };
}
