/**
 * The HTTP endpoint of the inference service (node:http, no framework):
 *
 *   POST /v1/score   body {"events": [event, ...]} or one event (src/serving/event-json.ts)
 *                    200 {"results": [...]} with `Server-Timing: score;dur=<ms>`, the time
 *                    from reading the request to answering it (queueing in the
 *                    micro-batcher included), so a client can tell the service's time
 *                    from the network's and its own; 400 {"error"} for bad JSON or a bad event;
 *                    413 for a body over the limit; 503 + Retry-After when the queue is
 *                    full or the service is draining
 *   GET  /healthz    200 {"status": "ok", "queued"}; 503 while draining
 *   GET  /v1/model   the model's kind, classes, URI and the selection
 *   GET  /metrics    Prometheus text format (metrics.ts)
 *   /v2/...          the Open Inference Protocol (oip-rest.ts), when given a model name
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadEventError } from './event-json.js';
import type { ErrorKind, Protocol } from './metrics.js';
import { DrainingError, QueueFullError } from './micro-batcher.js';
import { OipError, type OipModel } from './oip.js';
import { oipRest } from './oip-rest.js';
import type { ScoringService } from './scoring-service.js';

export interface HttpOptions {
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
  readonly maxBodyBytes?: number;
  /** The Open Inference Protocol's model (its /v2 routes are off without it). */
  readonly oip?: OipModel;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge(`request body over ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The status code and metrics kind of a failed request. */
export function failure(e: unknown): { status: number; kind: ErrorKind } {
  if (e instanceof BadEventError) return { status: 400, kind: 'bad_request' };
  if (e instanceof OipError) return { status: e.kind === 'not_found' ? 404 : 400, kind: e.kind };
  if (e instanceof BodyTooLarge) return { status: 413, kind: 'body_too_large' };
  if (e instanceof QueueFullError) return { status: 503, kind: 'queue_full' };
  if (e instanceof DrainingError) return { status: 503, kind: 'draining' };
  return { status: 500, kind: 'internal' };
}

export class InferenceHttpServer {
  private readonly server: http.Server;

  constructor(
    private readonly service: ScoringService,
    private readonly o: HttpOptions = {},
  ) {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port ?? 8080, this.o.host ?? '127.0.0.1', () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /**
   * Graceful drain: stop accepting connections, answer everything already admitted,
   * then close the idle keep-alive connections. Requests arriving meanwhile on open
   * connections get 503.
   */
  async drain(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.service.batcher.drain();
    this.server.closeIdleConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const url = (req.url ?? '/').split('?')[0]!;
    const protocol: Protocol = url.startsWith('/v2') ? 'oip_rest' : 'native';
    const metrics = this.service.metrics;
    let events = 0;
    try {
      if (req.method === 'GET' && url === '/metrics') {
        const text = metrics.text(this.service.batcher.queued, this.service.batcher.isDraining);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(text);
        return;
      }
      const oip = this.o.oip;
      const reply =
        oip !== undefined && protocol === 'oip_rest'
          ? await oipRest(oip, req.method ?? 'GET', url, req.headers, () => this.body(req))
          : await this.native(req, res, url, t0);
      if (reply === null) {
        metrics.error(protocol, 'not_found');
        send(res, 404, { error: `no route ${req.method} ${url}` });
      } else if (typeof reply === 'number') events = reply;
      else {
        events = reply.events;
        res.writeHead(reply.status, { 'content-length': Buffer.byteLength(reply.body), ...reply.headers });
        res.end(reply.body);
      }
    } catch (e) {
      const { status, kind } = failure(e);
      metrics.error(protocol, kind);
      const message = (e as Error).message ?? String(e);
      const headers: Record<string, string> =
        kind === 'body_too_large' ? { connection: 'close' } : status === 503 ? { 'retry-after': '1' } : {};
      send(res, status, { error: message }, headers);
    }
    metrics.request(protocol, (performance.now() - t0) / 1000, events);
  }

  private body(req: http.IncomingMessage): Promise<Buffer> {
    return readBody(req, this.o.maxBodyBytes ?? 16 << 20);
  }

  /** The native API: answers and returns the events scored, or null for no such route. */
  private async native(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: string,
    t0: number,
  ): Promise<number | null> {
    if (req.method === 'GET' && url === '/healthz') {
      const draining = this.service.batcher.isDraining;
      send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok', queued: this.service.batcher.queued });
      return 0;
    }
    if (req.method === 'GET' && url === '/v1/model') {
      const b = this.service.bundle;
      send(res, 200, {
        uri: b.uri,
        kind: b.input.kind,
        classes: b.classNames,
        maxLen: b.input.maxLen,
        selection: this.service.selection ?? null,
        oipModel: this.o.oip?.name ?? null,
      });
      return 0;
    }
    if (url !== '/v1/score') return null;
    if (req.method !== 'POST') {
      send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return 0;
    }
    const text = (await this.body(req)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new BadEventError(`body is not JSON: ${(e as Error).message}`);
    }
    const events = body !== null && typeof body === 'object' && 'events' in body ? body.events : [body];
    if (!Array.isArray(events)) throw new BadEventError("'events' must be an array");
    const results = await this.service.score(events);
    send(res, 200, { results }, { 'server-timing': `score;dur=${(performance.now() - t0).toFixed(3)}` });
    return results.filter((r) => r.selected).length;
  }
}
