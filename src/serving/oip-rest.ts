/**
 * The Open Inference Protocol's HTTP/REST binding (oip.ts has the model's tensors):
 *
 *   GET  /v2                                       server metadata
 *   GET  /v2/health/live, /v2/health/ready         200, or 503 while draining
 *   GET  /v2/models/{name}[/versions/{v}]          model metadata (+ `classes`, `features`)
 *   GET  /v2/models/{name}[/versions/{v}]/ready    200, or 503 while draining
 *   POST /v2/models/{name}[/versions/{v}]/infer    JSON tensors, or Triton's binary tensor
 *        extension (tritonclient.http's default): the body is `Inference-Header-Content-Length`
 *        bytes of JSON, then each input whose `parameters.binary_data_size` is set, in
 *        order; outputs come back binary the same way when asked (`binary_data` on an
 *        output or `binary_data_output` on the request)
 */
import { packageVersion } from '../paths.js';
import { jsonValues, OipError, OUTPUT_NAME, rawValues, type InputTensor, type OipModel } from './oip.js';

export interface RestReply {
  readonly status: number;
  readonly body: Buffer | string;
  readonly headers: Record<string, string>;
  /** Events scored (for the metrics). */
  readonly events: number;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}, events = 0): RestReply => ({
  status,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
  events,
});

const HEADER_LENGTH = 'inference-header-content-length';

interface InferRequest {
  id?: unknown;
  parameters?: { binary_data_output?: unknown };
  inputs?: unknown;
  outputs?: { name?: unknown; parameters?: { binary_data?: unknown } }[];
}

/** The request's JSON part and its input tensors (binary ones cut from the body's tail). */
function parseInfer(body: Buffer, headerLength: string | undefined): { request: InferRequest; tensors: InputTensor[] } {
  const jsonLength = headerLength === undefined ? body.length : Number(headerLength);
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length)
    throw new OipError(
      `Inference-Header-Content-Length ${headerLength} does not fit a ${body.length}-byte body`,
      'bad_request',
    );
  let request: InferRequest;
  try {
    request = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as InferRequest;
  } catch (e) {
    throw new OipError(`request is not JSON: ${(e as Error).message}`, 'bad_request');
  }
  if (request === null || typeof request !== 'object' || !Array.isArray(request.inputs))
    throw new OipError("request must be an object with an 'inputs' array", 'bad_request');
  let at = jsonLength;
  const tensors = (request.inputs as unknown[]).map((x, i): InputTensor => {
    const t = x as { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown; parameters?: unknown };
    const where = `inputs[${i}]`;
    if (typeof t?.name !== 'string' || typeof t.datatype !== 'string' || !Array.isArray(t.shape))
      throw new OipError(`${where}: needs name, datatype and shape`, 'bad_request');
    const size = (t.parameters as { binary_data_size?: unknown } | undefined)?.binary_data_size;
    let values: Float32Array;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0 || at + (size as number) > body.length)
        throw new OipError(
          `${where}: binary_data_size ${JSON.stringify(size)} passes the end of the body`,
          'bad_request',
        );
      values = rawValues(t.datatype, body.subarray(at, at + (size as number)), where);
      at += size as number;
    } else values = jsonValues(t.datatype, t.data, where);
    return { name: t.name, shape: t.shape as number[], values };
  });
  return { request, tensors };
}

async function infer(model: OipModel, body: Buffer, headerLength: string | undefined): Promise<RestReply> {
  const { request, tensors } = parseInfer(body, headerLength);
  const outputs = Array.isArray(request.outputs) ? request.outputs : [];
  model.checkOutputs(outputs.map((o) => String(o?.name)));
  const probs = await model.infer(tensors);
  // An output's own binary_data wins; without it the request's binary_data_output applies.
  const binary = (outputs[0]?.parameters?.binary_data ?? request.parameters?.binary_data_output) === true;
  const n = probs.length / model.classes.length;
  const output = {
    name: OUTPUT_NAME,
    datatype: 'FP32',
    shape: [n, model.classes.length],
    ...(binary ? { parameters: { binary_data_size: probs.byteLength } } : { data: Array.from(probs) }),
  };
  const header = JSON.stringify({
    model_name: model.name,
    model_version: model.version,
    ...(typeof request.id === 'string' ? { id: request.id } : {}),
    parameters: { classes: model.classes.join(',') },
    outputs: [output],
  });
  if (!binary) return json(200, header, {}, n);
  const head = Buffer.from(header, 'utf8');
  return {
    status: 200,
    body: Buffer.concat([head, Buffer.from(probs.buffer, probs.byteOffset, probs.byteLength)]),
    headers: { 'content-type': 'application/octet-stream', 'Inference-Header-Content-Length': String(head.length) },
    events: n,
  };
}

/**
 * The reply to an OIP request for `path` (under /v2), or null for a path the protocol
 * does not have. `body` is read only for infer (the caller reads it lazily).
 */
export async function oipRest(
  model: OipModel,
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
  body: () => Promise<Buffer>,
): Promise<RestReply | null> {
  const draining = model.service.batcher.isDraining;
  if (method === 'GET' && path === '/v2')
    return json(200, { name: 'hepflow', version: packageVersion(), extensions: ['binary_tensor_data'] });
  if (method === 'GET' && path === '/v2/health/live') return json(200, { live: true });
  if (method === 'GET' && path === '/v2/health/ready') return json(draining ? 503 : 200, { ready: !draining });
  const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
  if (m === null) return null;
  model.check(decodeURIComponent(m[1]!), m[2] === undefined ? undefined : decodeURIComponent(m[2]));
  if (m[3] === '/infer') {
    if (method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
    const h = headers[HEADER_LENGTH];
    return infer(model, await body(), Array.isArray(h) ? h[0] : h);
  }
  if (method !== 'GET') return json(405, { error: 'use GET' }, { allow: 'GET' });
  if (m[3] === '/ready') return json(draining ? 503 : 200, { name: model.name, ready: !draining });
  return json(200, {
    name: model.name,
    versions: [model.version],
    platform: `hepflow_${model.service.bundle.input.kind}`,
    inputs: model.inputs(),
    outputs: model.outputs(),
    classes: model.classes,
    features: model.featureNames(),
  });
}
