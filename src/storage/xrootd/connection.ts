import net from 'node:net';
import {
  ATTN_ASYNRESP,
  handshake,
  loginRequest,
  protocolRequest,
  RESPONSE_HEADER_BYTES,
  Status,
  parseError,
  parseRedirect,
  authRequest,
  ErrorCode,
} from './protocol.js';

/** The server answered kXR_error: `code` is its error number. */
export class XrdServerError extends Error {
  constructor(
    readonly code: number,
    readonly serverMessage: string,
  ) {
    super(serverMessage);
    this.name = 'XrdServerError';
  }
}

/** The server sent the client elsewhere (kXR_redirect): to `host:port`, with `cgi` added. */
export class XrdRedirect extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly cgi: string,
  ) {
    super(`redirected to ${host}:${port}`);
    this.name = 'XrdRedirect';
  }
}

/** The connection failed (refused, reset, closed, timed out): a new one may succeed. */
export class XrdConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XrdConnectionError';
  }
}

/** A security protocol the client can answer kXR_login's `&P=` offer with. */
export interface XrdCredentials {
  /** The security protocol's name as the server offers it (`sss`). */
  readonly protocol: string;
  /** What an error names: the protocol and where its secret came from. */
  readonly description: string;
  /** The kXR_auth payload, given the server's parameters for the protocol and this socket's own address. */
  credentials(parameters: string, local: { address: string; port: number }): Uint8Array;
}

interface Pending {
  readonly resolve: (body: Buffer) => void;
  readonly reject: (e: Error) => void;
  readonly request: Buffer;
  readonly chunks: Buffer[];
  readonly timer: NodeJS.Timeout;
}

export interface ConnectionOptions {
  readonly timeoutMs: number;
  /** Longest kXR_wait the client sits out before it gives up on a request. */
  readonly maxWaitMs: number;
  readonly credentials?: XrdCredentials;
}

/**
 * One logged-in TCP connection to an XRootD server. Requests are multiplexed by stream
 * id (the protocol's design: many reads in flight on one socket), each with its own
 * timeout; a kXR_wait is sat out and the request resent. Redirects and errors reject the
 * request with XrdRedirect / XrdServerError; anything wrong with the socket rejects every
 * request in flight with XrdConnectionError and closes the connection for good.
 */
export class XrdConnection {
  private readonly pending = new Map<number, Pending>();
  private nextStream = 1;
  private incoming: Buffer[] = [];
  private incomingBytes = 0;
  /** Bytes `incoming` must hold before a whole response can be in it. */
  private needed = RESPONSE_HEADER_BYTES;
  private failure?: XrdConnectionError;
  /** Requests now in flight, for the pool to pick the least busy connection. */
  get load(): number {
    return this.pending.size;
  }
  get closed(): boolean {
    return this.failure !== undefined;
  }

  private constructor(
    private readonly socket: net.Socket,
    readonly address: string,
    private readonly options: ConnectionOptions,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) =>
      this.fail(new XrdConnectionError(`connection to ${address} failed: ${e.message}`, { cause: e })),
    );
    socket.on('close', () => this.fail(new XrdConnectionError(`connection to ${address} closed by the server`)));
  }

  /** Connects, sends the handshake and kXR_protocol, then logs in (authenticating if asked). */
  static async open(host: string, port: number, options: ConnectionOptions): Promise<XrdConnection> {
    const address = `${host}:${port}`;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: host.replace(/^\[(.*)\]$/, '$1'), port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new XrdConnectionError(`connecting to ${address} timed out`));
      }, options.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new XrdConnectionError(`cannot connect to ${address}: ${e.message}`, { cause: e }));
      });
    });
    socket.setNoDelay(true);
    const conn = new XrdConnection(socket, address, options);
    try {
      // The handshake's answer comes on stream 0, as a response to a request.
      await conn.send(0, handshake());
      await conn.request((id) => protocolRequest(id));
      const login = await conn.request((id) => loginRequest(id, 'hepflow', ''));
      const security = login.subarray(16).toString('latin1').replace(/\0+$/, '');
      if (security.includes('&P=')) await conn.authenticate(security);
      return conn;
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  /**
   * Answers the login's `&P=<protocol>,<parameters>` offers with the configured
   * credentials. A refusal is the server's verdict on the secret: permanent, naming it.
   */
  private async authenticate(offer: string): Promise<void> {
    const offered = new Map([...offer.matchAll(/&P=([^,&]+),?([^&]*)/g)].map((m) => [m[1]!, m[2]!]));
    const creds = this.options.credentials;
    const parameters = creds && offered.get(creds.protocol);
    if (!creds || parameters === undefined) {
      throw new XrdServerError(
        ErrorCode.AuthFailed,
        `${this.address} requires authentication by ${[...offered.keys()].join(' or ')}; ${
          creds ? `hepflow is configured for ${creds.description}` : 'no credentials are configured'
        } (sss: set HEPFLOW_XROOTD_SSS_KEYTAB to the keytab file)`,
      );
    }
    const local = { address: this.socket.localAddress ?? '', port: this.socket.localPort ?? 0 };
    try {
      await this.request((id) => authRequest(id, creds.protocol, creds.credentials(parameters, local)));
    } catch (e) {
      if (!(e instanceof XrdServerError)) throw e;
      throw new XrdServerError(e.code, `${this.address} refused ${creds.description}: ${e.serverMessage}`);
    }
  }

  private allocate(): number {
    for (;;) {
      const id = this.nextStream;
      this.nextStream = this.nextStream >= 0xffff ? 1 : this.nextStream + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  /** Sends one request and resolves with the whole body of its answer. */
  request(build: (streamId: number) => Buffer): Promise<Buffer> {
    return this.send(this.allocate(), build);
  }

  private send(streamId: number, build: Buffer | ((streamId: number) => Buffer)): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const request = typeof build === 'function' ? build(streamId) : build;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A request that never returns leaves the stream in an unknown state: drop the connection.
        this.fail(new XrdConnectionError(`no answer from ${this.address} within ${this.options.timeoutMs / 1000}s`));
      }, this.options.timeoutMs);
      this.pending.set(streamId, { resolve, reject, request, chunks: [], timer });
      this.socket.ref();
      this.socket.write(request);
    });
  }

  /**
   * Joins the socket's chunks into whole responses. A large read arrives in many small
   * chunks: they are held in a list and joined once the response is complete, not
   * copied again on every chunk.
   */
  private onData(d: Buffer): void {
    this.incoming.push(d);
    this.incomingBytes += d.length;
    if (this.incomingBytes < this.needed) return;
    let buf = this.incoming.length === 1 ? d : Buffer.concat(this.incoming, this.incomingBytes);
    this.needed = RESPONSE_HEADER_BYTES;
    while (buf.length >= RESPONSE_HEADER_BYTES) {
      const frame = RESPONSE_HEADER_BYTES + buf.readInt32BE(4);
      if (buf.length < frame) {
        this.needed = frame;
        break;
      }
      this.onResponse(buf.readUInt16BE(0), buf.readUInt16BE(2), buf.subarray(RESPONSE_HEADER_BYTES, frame));
      buf = buf.subarray(frame);
    }
    this.incoming = buf.length ? [buf] : [];
    this.incomingBytes = buf.length;
  }

  private onResponse(streamId: number, status: number, body: Buffer): void {
    if (status === Status.attn) {
      // An answer to a request that was told kXR_waitresp, wrapped in an attention message.
      if (body.length >= 8 + RESPONSE_HEADER_BYTES && body.readInt32BE(0) === ATTN_ASYNRESP) {
        const inner = body.subarray(8);
        this.onResponse(inner.readUInt16BE(0), inner.readUInt16BE(2), inner.subarray(RESPONSE_HEADER_BYTES));
      }
      return;
    }
    const p = this.pending.get(streamId);
    if (!p) return;
    if (status === Status.oksofar) {
      p.chunks.push(Buffer.from(body));
      return;
    }
    if (status === Status.waitresp) return;
    if (status === Status.wait) {
      const seconds = body.length >= 4 ? body.readInt32BE(0) : 1;
      clearTimeout(p.timer);
      this.pending.delete(streamId);
      if (seconds * 1000 > this.options.maxWaitMs) {
        p.reject(new XrdConnectionError(`${this.address} asks to wait ${seconds}s, longer than allowed`));
        return;
      }
      setTimeout(() => {
        this.send(streamId, p.request).then(p.resolve, p.reject);
      }, seconds * 1000);
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(streamId);
    // An idle pooled connection must not keep the process alive (a CLI command exits when done).
    if (this.pending.size === 0) this.socket.unref();
    if (status === Status.ok) p.resolve(p.chunks.length ? Buffer.concat([...p.chunks, body]) : Buffer.from(body));
    else if (status === Status.error) {
      const { code, message } = parseError(body);
      p.reject(new XrdServerError(code, message));
    } else if (status === Status.redirect) {
      const r = parseRedirect(body);
      p.reject(new XrdRedirect(r.host, r.port, r.cgi));
    } else p.reject(new XrdServerError(0, `unexpected response status ${status}`));
  }

  private fail(e: XrdConnectionError): void {
    if (this.failure) return;
    this.failure = e;
    this.socket.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  close(): void {
    this.fail(new XrdConnectionError(`connection to ${this.address} closed`));
  }
}
