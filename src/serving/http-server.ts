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
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadEventError } from './event-json.js';
import { DrainingError, QueueFullError } from './micro-batcher.js';
import type { ScoringService } from './scoring-service.js';

export interface HttpOptions {
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
  readonly maxBodyBytes?: number;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
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
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
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
    const url = (req.url ?? '/').split('?')[0];
    try {
      if (req.method === 'GET' && url === '/healthz') {
        const draining = this.service.batcher.isDraining;
        send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok', queued: this.service.batcher.queued });
        return;
      }
      if (req.method === 'GET' && url === '/v1/model') {
        const b = this.service.bundle;
        send(res, 200, {
          uri: b.uri,
          kind: b.input.kind,
          classes: b.classNames,
          maxLen: b.input.maxLen,
          selection: this.service.selection ?? null,
        });
        return;
      }
      if (url !== '/v1/score') {
        send(res, 404, { error: `no route ${req.method} ${url}` });
        return;
      }
      if (req.method !== 'POST') {
        send(res, 405, { error: 'use POST' }, { allow: 'POST' });
        return;
      }
      const text = await readBody(req, this.o.maxBodyBytes ?? 16 << 20);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        send(res, 400, { error: `body is not JSON: ${(e as Error).message}` });
        return;
      }
      const events = body !== null && typeof body === 'object' && 'events' in body ? body.events : [body];
      if (!Array.isArray(events)) {
        send(res, 400, { error: "'events' must be an array" });
        return;
      }
      const results = await this.service.score(events);
      send(res, 200, { results }, { 'server-timing': `score;dur=${(performance.now() - t0).toFixed(3)}` });
    } catch (e) {
      if (e instanceof BadEventError) send(res, 400, { error: e.message });
      else if (e instanceof BodyTooLarge) send(res, 413, { error: e.message }, { connection: 'close' });
      else if (e instanceof QueueFullError || e instanceof DrainingError)
        send(res, 503, { error: e.message }, { 'retry-after': '1' });
      else send(res, 500, { error: (e as Error).message ?? String(e) });
    }
  }
}
