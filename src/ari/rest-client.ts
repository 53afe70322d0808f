import http from 'node:http';
import https from 'node:https';

/** Where ARI's REST API is and who we are there (the same as ari-client's connection). */
export interface AriRestTarget {
  /** `http:` or `https:`. */
  protocol: string;
  /** host[:port] */
  host: string;
  user: string;
  password: string;
}

/**
 * The REST target of an ARI base URL (`http://127.0.0.1:8088`): its protocol and host[:port], as
 * ari-client reads the same URL for its WebSocket (a path in the URL is ignored by both).
 */
export function ariRestTarget(url: string, user: string, password: string): AriRestTarget {
  const u = new URL(url);
  return { protocol: u.protocol, host: u.host, user, password };
}

export type AriQueryValue = string | number | boolean | string[] | undefined;

export interface AriRestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below /ari, e.g. `/channels/abc/answer`; ids already encoded (see `ariPath`). */
  path: string;
  /** Query parameters; undefined ones are left out, lists are sent comma-joined (ARI's allowMultiple). */
  query?: Record<string, AriQueryValue>;
  /** JSON body (ARI's `variables`: `{ variables: { NAME: value } }`). */
  body?: unknown;
  /** The request is abandoned (and its connection closed) after this long. */
  timeoutMs?: number;
}

/**
 * How a REST request failed. The message is what ari-client's was, so that classifyAriError reads
 * both the same: the raw body Asterisk answered ("{\"message\":\"Channel not found\"}"), or the
 * transport error's message (ECONNREFUSED ...). `status` is the HTTP status (undefined: no answer).
 */
export class AriHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'AriHttpError';
  }
}

/** A path of ids, each encoded as one path segment: ariPath('channels', id, 'answer'). */
export function ariPath(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join('/')}`;
}

/** The query string as swagger-client (inside ari-client) builds it: lists comma-joined, undefined left out. */
export function ariQueryString(query: Record<string, AriQueryValue> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(Array.isArray(value) ? value.join(',') : String(value))}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/**
 * ARI's REST API over Node's own HTTP client. ari-client sends each request through
 * swagger-client, which builds the operation and decorates the answer with resource objects on
 * every call: at 10,000 held callers this cost the plugin more CPU than its own work
 * (docs/benchmarks.md, 2026-12-07). Requests go through the global agent, so the connection cap
 * of http-connections.ts and its keep-alive apply as before.
 */
export class AriRestClient {
  private readonly authorization: string;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly target: AriRestTarget) {
    this.authorization = `Basic ${Buffer.from(`${target.user}:${target.password}`).toString('base64')}`;
    this.transport = target.protocol === 'https:' ? https : http;
  }

  /** Resolves with the parsed JSON answer (undefined for an empty one, the text for one not JSON); rejects with AriHttpError. */
  request(r: AriRestRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
      const headers: http.OutgoingHttpHeaders = { authorization: this.authorization, accept: 'application/json' };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      let timer: NodeJS.Timeout | undefined;
      const req = this.transport.request(
        {
          protocol: this.target.protocol,
          host: hostOf(this.target.host),
          port: portOf(this.target.host),
          method: r.method,
          path: `/ari${r.path}${ariQueryString(r.query)}`,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          // The connection closed mid-answer (Asterisk stopped): a transport failure, as classifyAriError reads it.
          res.on('error', (e) => done(() => reject(new AriHttpError(`ECONNRESET: ${e.message}`, res.statusCode))));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return done(() => reject(new AriHttpError(text || `HTTP ${status}`, status)));
            if (text === '') return done(() => resolve(undefined));
            let answer: unknown = text;
            try {
              answer = JSON.parse(text) as unknown;
            } catch {
              // Asterisk did what was asked (2xx): an answer that is not JSON does not undo that.
            }
            done(() => resolve(answer));
          });
        },
      );
      const done = (settle: () => void): void => {
        if (timer) clearTimeout(timer);
        settle();
      };
      req.on('error', (e) => done(() => reject(new AriHttpError(e.message, undefined))));
      if (r.timeoutMs !== undefined)
        timer = setTimeout(() => req.destroy(new Error(`ETIMEDOUT: no answer to ${r.method} ${r.path} in ${r.timeoutMs} ms`)), r.timeoutMs);
      req.end(payload);
    });
  }
}

/** host of `host[:port]`, IPv6 brackets removed. */
function hostOf(hostPort: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (m?.[1]) return m[1];
  const i = hostPort.lastIndexOf(':');
  return i >= 0 ? hostPort.slice(0, i) : hostPort;
}

function portOf(hostPort: string): number | undefined {
  const m = /:(\d+)$/.exec(hostPort);
  return m?.[1] && !hostPort.endsWith(']') ? Number(m[1]) : undefined;
}
