/**
 * The Open Inference Protocol's gRPC binding (inference.proto, service
 * inference.GRPCInferenceService) over the model of oip.ts. Inputs come as typed
 * `contents` or as `raw_input_contents` (tritonclient.grpc's default); the output goes
 * back as raw_output_contents, the class names in the response's `classes` parameter.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { projectRoot, packageVersion } from '../paths.js';
import { failure } from './http-server.js';
import { OipError, OUTPUT_NAME, rawValues, type InputTensor, type OipModel } from './oip.js';

export interface GrpcOptions {
  readonly host?: string;
  /** 0: any free port. */
  readonly port: number;
  readonly maxMessageBytes?: number;
}

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: { fp32_contents?: number[]; fp64_contents?: number[] } | null;
}
interface InferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: Tensor[];
  outputs: { name: string }[];
  raw_input_contents: Buffer[];
}

// The .proto stays a source file (tsc does not copy it into dist/), read from the checkout.
const PROTO = path.join(projectRoot, 'src/serving/inference.proto');

const STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

function tensors(r: InferRequest): InputTensor[] {
  const raw = r.raw_input_contents;
  if (raw.length > 0 && raw.length !== r.inputs.length)
    throw new OipError(`${raw.length} raw_input_contents for ${r.inputs.length} inputs`, 'bad_request');
  return r.inputs.map((t, i) => {
    const where = `inputs[${i}] '${t.name}'`;
    let values: Float32Array;
    if (raw.length > 0) values = rawValues(t.datatype, raw[i]!, where);
    else if (t.datatype === 'FP32') values = Float32Array.from(t.contents?.fp32_contents ?? []);
    else if (t.datatype === 'FP64') values = Float32Array.from(t.contents?.fp64_contents ?? []);
    else throw new OipError(`${where}: datatype ${t.datatype} not supported (FP32 or FP64)`, 'unsupported');
    return { name: t.name, shape: t.shape.map(Number), values };
  });
}

export class InferenceGrpcServer {
  private readonly server: grpc.Server;

  constructor(
    private readonly model: OipModel,
    private readonly o: GrpcOptions,
  ) {
    const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
    };
    const limit = o.maxMessageBytes ?? 16 << 20;
    // Channelz bookkeeping cost a few per cent of every call in profiles; nothing here reads it.
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': limit, 'grpc.enable_channelz': 0 });
    this.server.addService(pkg.inference.GRPCInferenceService.service, this.handlers());
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const m = this.model;
    const metrics = m.service.metrics;
    const ready = () => !m.service.batcher.isDraining;
    /** A unary handler timed and counted in the metrics, its failures mapped to gRPC status codes. */
    const unary =
      <Q, A>(f: (q: Q) => Promise<{ reply: A; events: number }> | { reply: A; events: number }) =>
      (call: grpc.ServerUnaryCall<Q, A>, done: grpc.sendUnaryData<A>): void => {
        const t0 = performance.now();
        Promise.resolve()
          .then(() => f(call.request))
          .then(
            ({ reply, events }) => {
              metrics.request('oip_grpc', (performance.now() - t0) / 1000, events);
              done(null, reply);
            },
            (e: unknown) => {
              const { status, kind } = failure(e);
              metrics.error('oip_grpc', kind);
              metrics.request('oip_grpc', (performance.now() - t0) / 1000, 0);
              done({ code: STATUS[status] ?? grpc.status.INTERNAL, details: (e as Error).message ?? String(e) });
            },
          );
      };
    const plain = <A>(reply: A) => ({ reply, events: 0 });
    return {
      ServerLive: unary(() => plain({ live: true })),
      ServerReady: unary(() => plain({ ready: ready() })),
      ServerMetadata: unary(() =>
        plain({ name: 'hepflow', version: packageVersion(), extensions: ['binary_tensor_data'] }),
      ),
      ModelReady: unary((q: { name: string; version: string }) => {
        m.check(q.name, q.version);
        return plain({ ready: ready() });
      }),
      ModelMetadata: unary((q: { name: string; version: string }) => {
        m.check(q.name, q.version);
        return plain({
          name: m.name,
          versions: [m.version],
          platform: `hepflow_${m.service.bundle.input.kind}`,
          inputs: m.inputs(),
          outputs: m.outputs(),
        });
      }),
      ModelInfer: unary(async (q: InferRequest) => {
        m.check(q.model_name, q.model_version);
        m.checkOutputs(q.outputs.map((o) => o.name));
        const probs = await m.infer(tensors(q));
        const n = probs.length / m.classes.length;
        return {
          reply: {
            model_name: m.name,
            model_version: m.version,
            id: q.id,
            parameters: { classes: { string_param: m.classes.join(',') } },
            outputs: [{ name: OUTPUT_NAME, datatype: 'FP32', shape: [n, m.classes.length] }],
            raw_output_contents: [Buffer.from(probs.buffer, probs.byteOffset, probs.byteLength)],
          },
          events: n,
        };
      }),
    };
  }

  /** Binds and starts; returns host:port. */
  async listen(): Promise<string> {
    const host = this.o.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        `${host.includes(':') ? `[${host}]` : host}:${this.o.port}`,
        grpc.ServerCredentials.createInsecure(),
        (e, p) => (e ? reject(e) : resolve(p)),
      ),
    );
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Lets calls in flight finish (the batcher's drain answers them), then stops. */
  drain(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
