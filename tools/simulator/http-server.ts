/**
 * HTTP side of the simulator: auth, api-docs, REST routing/validation and the WebSocket upgrade.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RequestValidator, parseQuery } from './request-validator';
import { renderApiDeclaration, renderResourceListing } from './swagger-documents';
import type { CompactSpec } from './spec/ari-spec';
import type { RestHandler, RestResponse } from './rest-handlers';
import { AriHttpError } from './model/support';
import type { EventStream } from './event-stream';
import type { RequestFault, FaultableRequest } from './request-faults';

export interface RecordedRequest {
  seq: number;
  /** ms since the simulator started */
  atMs: number;
  method: string;
  /** URL path as sent, without the query string (e.g. /ari/channels/123/play) */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** null until the response was written */
  status: number | null;
  responseBody?: unknown;
  /** Operation nickname (`channels.play`), when routed */
  operation?: string;
}

export interface Violation {
  method: string;
  path: string;
  message: string;
}

export interface HttpServerOptions {
  spec: CompactSpec;
  user: string;
  password: string;
  handlers: Map<string, RestHandler>;
  stream: EventStream;
  startedAtMs: number;
  onRequest(r: RecordedRequest): void;
  onResponse(r: RecordedRequest): void;
  onViolation(v: Violation): void;
  onInternalError(err: unknown, r: RecordedRequest): void;
  apiDocsStatus(): number;
  /** Fault injection (request-faults.ts): slow or refuse a routed request. */
  requestFault?(r: FaultableRequest): RequestFault | undefined;
  /** Asterisk's http.conf `sessionlimit` (default 100): see AriHttpServer.sessions. */
  sessionLimit?: number;
}

/** Asterisk's default http.conf `sessionlimit`. */
export const ASTERISK_HTTP_SESSION_LIMIT = 100;
/** Asterisk's default http.conf `session_keep_alive`: an idle kept-alive connection is closed after it. */
export const ASTERISK_HTTP_KEEP_ALIVE_MS = 15000;

/** Open HTTP sessions (WebSockets included), the most at once, and connections refused over the limit. */
export interface HttpSessionStats {
  open: number;
  peak: number;
  refused: number;
  limit: number;
}

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (res.writableEnded) return;
  if (body === undefined || status === 204) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * What Asterisk's HTTP server answers for a path outside /ari (main/http.c ast_http_error, with the
 * sample http.conf's servername): an HTML page, whatever the credentials (measured on 22.10.1).
 */
const NOT_FOUND_PAGE =
  '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>404 Not Found</title>\r\n</head><body>\r\n<h1>Not Found</h1>\r\n<p>The requested URL was not found on this server.</p>\r\n<hr />\r\n<address>Asterisk</address>\r\n</body></html>\r\n';

export class AriHttpServer {
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly stats: HttpSessionStats;
  private readonly validator: RequestValidator;
  private seq = 0;
  port = 0;
  host = '127.0.0.1';
  listening = false;

  constructor(private readonly o: HttpServerOptions) {
    this.validator = new RequestValidator(o.spec);
    this.stats = { open: 0, peak: 0, refused: 0, limit: o.sessionLimit ?? ASTERISK_HTTP_SESSION_LIMIT };
    this.server = this.makeServer();
  }

  private makeServer(): http.Server {
    const server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    server.on('connection', (s: Socket) => {
      // As Asterisk does over its session limit (main/http.c, measured on 22.10.1 in
      // test/asterisk/http-sessions.asterisk.test.ts): the connection is accepted, then closed
      // before anything is read or answered. WebSockets count: each is a session.
      if (this.sockets.size >= this.stats.limit) {
        this.stats.refused++;
        s.destroy();
        return;
      }
      this.sockets.add(s);
      this.stats.open = this.sockets.size;
      this.stats.peak = Math.max(this.stats.peak, this.sockets.size);
      s.on('close', () => {
        this.sockets.delete(s);
        this.stats.open = this.sockets.size;
      });
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    server.keepAliveTimeout = ASTERISK_HTTP_KEEP_ALIVE_MS;
    return server;
  }

  /** HTTP sessions so far (a copy). */
  get sessions(): HttpSessionStats {
    return { ...this.stats };
  }

  listen(port: number, host: string): Promise<number> {
    this.host = host;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : port;
        this.listening = true;
        resolve(this.port);
      });
    });
  }

  /** Close the listener and destroy every connection (HTTP and WebSocket). */
  async close(): Promise<void> {
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Take the server down and bring it back on the same port (a fresh listener). */
  async restart(): Promise<void> {
    this.server = this.makeServer();
    await this.listen(this.port, this.host);
  }

  private authOk(req: http.IncomingMessage, url: URL): boolean {
    const expected = `${this.o.user}:${this.o.password}`;
    const apiKey = url.searchParams.get('api_key');
    if (apiKey !== null) return apiKey === expected;
    const auth = req.headers.authorization;
    if (auth && auth.startsWith('Basic ')) {
      return Buffer.from(auth.slice(6), 'base64').toString('utf8') === expected;
    }
    return false;
  }

  /** `arrivedAt`: performance.now() when the request was first seen, before its body was read. */
  private record(req: http.IncomingMessage, url: URL, body: unknown, arrivedAt: number): RecordedRequest {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (k !== 'api_key') query[k] = v;
    const r: RecordedRequest = {
      seq: ++this.seq,
      atMs: Math.round((arrivedAt - this.o.startedAtMs) * 10) / 10,
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      body,
      status: null,
    };
    this.o.onRequest(r);
    return r;
  }

  private finish(res: http.ServerResponse, r: RecordedRequest, status: number, body?: unknown): void {
    r.status = status;
    r.responseBody = body;
    send(res, status, body);
    this.o.onResponse(r);
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Timed on arrival: reading even an empty body takes turns of a busy event loop, which a
    // benchmark would otherwise count as the client's latency.
    const arrivedAt = performance.now();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const rawBody = await this.readBody(req).catch(() => '');
    let body: unknown = undefined;
    let bodyError: string | null = null;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody) as unknown;
      } catch {
        bodyError = 'Error parsing request body';
        body = rawBody;
      }
    }
    const r = this.record(req, url, body, arrivedAt);
    const method = (req.method ?? 'GET').toUpperCase();
    // Outside /ari the HTTP server answers before ARI checks credentials (measured: any password).
    if (!url.pathname.startsWith('/ari/')) {
      this.o.onViolation({ method, path: url.pathname, message: 'request outside /ari' });
      r.status = 404;
      r.responseBody = NOT_FOUND_PAGE;
      if (!res.writableEnded) {
        res.writeHead(404, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(NOT_FOUND_PAGE) });
        res.end(NOT_FOUND_PAGE);
      }
      this.o.onResponse(r);
      return;
    }
    if (!this.authOk(req, url)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
      this.finish(res, r, 401, { message: 'Authentication required' });
      return;
    }
    const ariPath = url.pathname.slice('/ari'.length);
    const docs = /^\/api-docs\/([A-Za-z]+)\.json$/.exec(ariPath);
    if (docs) {
      const status = this.o.apiDocsStatus();
      if (status === 401) {
        this.finish(res, r, 401, { message: 'Authentication required' });
        return;
      }
      if (status !== 200) {
        this.finish(res, r, status, { message: 'Service Unavailable' });
        return;
      }
      if (method !== 'GET') {
        this.finish(res, r, 405, { message: 'Invalid method' });
        return;
      }
      const basePath = `http://${req.headers.host ?? `${this.host}:${this.port}`}/ari`;
      const doc =
        docs[1] === 'resources' ? renderResourceListing(this.o.spec, basePath) : renderApiDeclaration(this.o.spec, docs[1], basePath);
      if (!doc) this.finish(res, r, 404, { message: 'Resource not found' });
      else this.finish(res, r, 200, doc);
      return;
    }
    const route = this.validator.route(method, ariPath);
    if (route.kind === 'not-found') {
      this.o.onViolation({ method, path: url.pathname, message: `unknown resource ${ariPath}` });
      this.finish(res, r, 404, { message: 'Resource not found' });
      return;
    }
    if (route.kind === 'bad-method') {
      this.o.onViolation({
        method,
        path: url.pathname,
        message: `method ${method} not allowed on ${ariPath} (allowed: ${route.allowed.join(', ')})`,
      });
      this.finish(res, r, 405, { message: 'Invalid method' });
      return;
    }
    const { match } = route;
    r.operation = `${match.resource}.${match.operation.nickname}`;
    const query = parseQuery(url.searchParams);
    const problems = bodyError ? [bodyError] : this.validator.check(match.operation, query, body);
    for (const message of problems)
      this.o.onViolation({ method, path: url.pathname + url.search.replace(/api_key=[^&]*/, 'api_key=REDACTED'), message });
    if (match.operation.upgrade === 'websocket') {
      this.finish(res, r, 400, { message: 'WebSocket upgrade required' });
      return;
    }
    const handler = this.o.handlers.get(r.operation);
    if (!handler) {
      this.finish(res, r, 501, { message: `Not implemented in the ARI simulator: ${method} ${match.apiPath}` });
      return;
    }
    const fault = this.o.requestFault?.({ method, operation: r.operation, path: url.pathname, query: r.query });
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status !== undefined) {
      this.finish(res, r, fault.status, { message: fault.message ?? 'Injected fault' });
      return;
    }
    let out: RestResponse;
    try {
      out = await handler({
        method,
        pathParams: match.pathParams,
        query,
        body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null,
        problems,
      });
    } catch (err) {
      if (err instanceof AriHttpError) {
        this.finish(res, r, err.status, err.body);
      } else {
        this.o.onInternalError(err, r);
        this.finish(res, r, 500, { message: `ARI simulator internal error: ${err instanceof Error ? err.message : String(err)}` });
      }
      return;
    }
    this.finish(res, r, out.status, out.body);
    if (out.after) out.after();
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const reject = (status: number, text: string, body: Record<string, unknown>): void => {
      const b = JSON.stringify(body);
      socket.write(
        `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\nConnection: close\r\n\r\n${b}`,
      );
      socket.destroy();
    };
    const r = this.record(req, url, undefined, performance.now());
    r.operation = 'events.eventWebsocket';
    const done = (status: number): void => {
      r.status = status;
      this.o.onResponse(r);
    };
    if (!this.authOk(req, url)) {
      reject(401, 'Unauthorized', { message: 'Authentication required' });
      done(401);
      return;
    }
    if (url.pathname !== '/ari/events') {
      reject(404, 'Not Found', { message: 'Resource not found' });
      done(404);
      return;
    }
    const route = this.validator.route('GET', '/events');
    if (route.kind === 'ok') {
      for (const message of this.validator.check(route.match.operation, parseQuery(url.searchParams), undefined)) {
        this.o.onViolation({ method: 'GET', path: '/ari/events', message });
      }
    }
    const apps = url.searchParams
      .getAll('app')
      .flatMap((a) => a.split(','))
      .filter(Boolean);
    if (!apps.length) {
      reject(400, 'Bad Request', { message: "Missing parameter 'app'" });
      done(400);
      return;
    }
    this.o.stream.accept(req, socket, head, apps);
    done(this.o.stream.refusing() ? 503 : 101);
  }
}
