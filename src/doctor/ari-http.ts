import http from 'node:http';
import https from 'node:https';

/**
 * The doctor's view of ARI: plain authenticated GETs, no WebSocket, so that checking never
 * registers the Stasis app (a second connection on the app name takes it over: trace e3).
 * A narrow interface, so the same checks run against the simulator, a real Asterisk
 * (test/asterisk/), or a stub.
 */
export interface AriAnswer {
  status: number;
  /** Parsed JSON, or undefined when the body is not JSON (e.g. another web server's HTML page). */
  json: unknown;
}

export type AriUnreachableReason = 'refused' | 'unknown-host' | 'timeout' | 'other';

/** The request did not get an HTTP answer at all. */
export class AriUnreachable extends Error {
  override name = 'AriUnreachable';
  constructor(
    readonly reason: AriUnreachableReason,
    message: string,
  ) {
    super(message);
  }
}

export interface AriHttp {
  /** The server root as configured (ARI_URL), for messages. */
  readonly baseUrl: string;
  /** GET <baseUrl>/ari<path>; `path` starts with `/` and is already URL-encoded. Throws AriUnreachable. */
  get(path: string): Promise<AriAnswer>;
}

function reasonOf(e: NodeJS.ErrnoException): AriUnreachableReason {
  if (e.code === 'ECONNREFUSED') return 'refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'unknown-host';
  return 'other';
}

/**
 * Over node:http with no keep-alive agent: the doctor is a short command, and a pooled socket
 * would keep the process alive for seconds after the report.
 */
export function createAriHttp(opts: { url: string; user: string; password: string; timeoutMs?: number }): AriHttp {
  const base = new URL(opts.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return {
    baseUrl: opts.url,
    get(path: string): Promise<AriAnswer> {
      const target = new URL(base.href);
      target.pathname = `${prefix}/ari${path}`;
      const client = target.protocol === 'https:' ? https : http;
      return new Promise((resolve, reject) => {
        const req = client.request(
          target,
          { method: 'GET', agent: false, headers: { authorization, accept: 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let json: unknown;
              try {
                json = text === '' ? undefined : (JSON.parse(text) as unknown);
              } catch {
                json = undefined;
              }
              resolve({ status: res.statusCode ?? 0, json });
            });
            res.on('error', (e) => reject(new AriUnreachable('other', e.message)));
          },
        );
        req.setTimeout(timeoutMs, () => req.destroy(new AriUnreachable('timeout', `no answer within ${timeoutMs} ms`)));
        req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof AriUnreachable ? e : new AriUnreachable(reasonOf(e), e.message)));
        req.end();
      });
    },
  };
}
