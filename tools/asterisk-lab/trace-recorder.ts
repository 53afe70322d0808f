import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/**
 * The pieces `npm run record-traces` records a real Asterisk with: a trace (one JSON object a line,
 * the format of test/fixtures/asterisk-<version>/traces/README.md), raw ARI HTTP requests that log
 * themselves into it with their answers, and raw WebSockets of an ARI app whose every message is
 * logged as it arrives. No ari-client and no plugin: what is recorded is what Asterisk did with
 * exactly the requests the trace shows.
 */
export type TraceLine = Record<string, unknown> & { t_ms: number; dir: 'event' | 'request' | 'response' };

const round1 = (n: number): number => Math.round(n * 10) / 10;

export class Trace {
  readonly lines: TraceLine[] = [];
  private readonly t0 = performance.now();
  private nextReq = 1;

  constructor(readonly name: string) {
    this.note('trace start', { wallclock: new Date().toISOString() });
  }

  now(): number {
    return round1(performance.now() - this.t0);
  }

  /** A `lab:note` marker: what the driver does next, or a fact it measured. */
  note(text: string, extra: Record<string, unknown> = {}): void {
    this.lines.push({ t_ms: this.now(), dir: 'event', origin: 'lab', type: 'lab:note', text, ...extra });
  }

  /** A socket's lifecycle (`ws:open`, `ws:close`, `ws:terminate`). */
  client(type: string, extra: Record<string, unknown> = {}): void {
    this.lines.push({ t_ms: this.now(), dir: 'event', origin: 'client', type, ...extra });
  }

  ariEvent(raw: Record<string, unknown>, ws: string | undefined): void {
    this.lines.push({ t_ms: this.now(), dir: 'event', origin: 'ari', ...(ws ? { ws } : {}), ...raw });
  }

  requestId(): number {
    return this.nextReq++;
  }

  push(line: TraceLine): void {
    this.lines.push(line);
  }

  write(dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.name}.jsonl`);
    fs.writeFileSync(file, this.lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return file;
  }
}

export interface RawAnswer {
  status: number;
  body: unknown;
  /** From sending the request to the end of the answer, in ms. */
  ms: number;
}

/** `encodeURIComponent` per value, as the recorded traces a–f show their query strings. */
export function queryString(query: Record<string, string | number>): string {
  const parts = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Raw ARI over HTTP with basic auth; every request and its answer go into the current trace. */
export class RawAri {
  trace: Trace | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly user: string,
    private readonly password: string,
  ) {}

  async request(method: string, resource: string, query: Record<string, string | number> = {}, body?: unknown): Promise<RawAnswer> {
    const trace = this.trace;
    const reqPath = `/ari${resource}${queryString(query)}`;
    const reqId = trace?.requestId() ?? 0;
    trace?.push({ t_ms: trace.now(), dir: 'request', req_id: reqId, method, path: reqPath, ...(body !== undefined ? { body } : {}) });
    const t0 = performance.now();
    const res = await fetch(`${this.baseUrl}${reqPath}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    const ms = round1(performance.now() - t0);
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = text;
    }
    trace?.push({
      t_ms: trace.now(),
      dir: 'response',
      req_id: reqId,
      method,
      path: reqPath,
      status: res.status,
      status_text: res.statusText,
      ...(parsed !== undefined ? { body: parsed } : {}),
    });
    return { status: res.status, body: parsed, ms };
  }
}

export type AriEvent = Record<string, unknown> & { type: string };

/** One WebSocket of an ARI app (`GET /ari/events?app=…`), every message logged into the trace. */
export class AppSocket {
  readonly events: AriEvent[] = [];
  private ws: WebSocket | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly trace: Trace,
    /** Marks this socket's lines in the trace (`ws:"ws2"`); the first socket has none. */
    readonly label: string | undefined,
  ) {}

  static async open(trace: Trace, ariUrl: string, app: string, user: string, password: string, label?: string): Promise<AppSocket> {
    const s = new AppSocket(trace, label);
    const wsUrl = `${ariUrl.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(app)}&api_key=`;
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl + encodeURIComponent(`${user}:${password}`));
      s.ws = ws;
      ws.once('open', () => {
        trace.client(label ? `${label}:open` : 'ws:open', { url: `${wsUrl}REDACTED` });
        resolve();
      });
      ws.once('error', reject);
      ws.on('message', (data) => {
        let raw: unknown;
        try {
          raw = JSON.parse(
            (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString('utf8'),
          );
        } catch {
          return;
        }
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
        const event = raw as AriEvent;
        s.events.push(event);
        trace.ariEvent(event, label);
        for (const w of [...s.waiters]) w();
      });
      ws.on('close', (code) => trace.client(label ? `${label}:close` : 'ws:close', { code }));
    });
    return s;
  }

  /** The first event (seen or yet to come) matching `pred`. */
  waitFor(pred: (e: AriEvent) => boolean, timeoutMs: number, what: string): Promise<AriEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = this.events.find(pred);
        if (!e) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${what}: not received within ${timeoutMs} ms (last: ${this.events
              .slice(-6)
              .map((e) => e.type)
              .join(', ')})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The TCP connection dropped without a close frame, as when the app's process is killed. */
  terminate(): void {
    this.trace.client(this.label ? `${this.label}:terminate` : 'ws:terminate');
    this.ws?.terminate();
  }

  close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }
}

export const channelIdOf = (e: AriEvent): string | undefined => {
  const c = e.channel;
  return typeof c === 'object' && c !== null && 'id' in c ? String(c.id) : undefined;
};

export const playbackOf = (e: AriEvent): { id?: string; state?: string; media_uri?: string } =>
  typeof e.playback === 'object' && e.playback !== null ? e.playback : {};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
