/**
 * Replays a trace recorded by `npm run record-traces` (raw ARI requests + app WebSockets, no
 * ari-client) against the simulator: the same requests in the same order, the same sockets opened
 * and dropped, the same SIPp caller placed, on a time axis shrunk by `scale`. What it returns is
 * compared by the replay tests with what the real Asterisk did (test/simulator/recorded-trace-replay.test.ts).
 *
 * Pacing: a request is sent once the simulator has delivered as many events (noise left out) as
 * the real Asterisk had before it, and no earlier than the recorded gap since the last response or
 * event, divided by `scale`. Every recorded request was sent after the previous one's answer (the
 * recorder awaits each), so the order is the same.
 */
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import type { AriSimulator, SimCall } from '../../tools/simulator/ari-simulator';
import { isNoise, type TraceLine } from './simulator-traces';

type Ev = Record<string, unknown>;

export interface ReplayedRequest {
  /** The recorded request line, its answer and duration on the real Asterisk. */
  method: string;
  path: string;
  real: { status: number; body: unknown; ms: number; t_ms: number };
  /** The simulator's answer to the same request (ids mapped), and its duration in ms. */
  sim: { path: string; status: number; body: unknown; ms: number; sentAt: number; doneAt: number };
}

export interface ReplayedEvent {
  event: Ev;
  at: number;
}

export interface Replay {
  requests: ReplayedRequest[];
  /** Events each socket got, by the trace's label ('' for the first socket, 'ws2'). */
  events: Map<string, ReplayedEvent[]>;
  /** Real id → simulator id (the inbound caller's channel). */
  ids: Map<string, string>;
}

/** The DIDs of the sample dialplan the recorder dials, as the simulator's `to`. */
const DIALLED: Record<string, string> = { '5552000': 'queue:support', '5551000': 'direct:1001' };

const isAriEvent = (l: TraceLine): boolean => l.dir === 'event' && l.origin === 'ari';
const chanId = (e: Ev): string | undefined => {
  const c = e.channel;
  return typeof c === 'object' && c !== null && 'id' in c ? String(c.id) : undefined;
};

function mapIds(text: string, ids: Map<string, string>): string {
  let out = text;
  for (const [real, sim] of ids) out = out.split(real).join(sim);
  return out;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

export async function replayTrace(sim: AriSimulator, lines: TraceLine[], opts: { app: string; scale: number }): Promise<Replay> {
  const { app, scale } = opts;
  const ids = new Map<string, string>();
  const events = new Map<string, ReplayedEvent[]>();
  const sockets = new Map<string, WebSocket>();
  const requests: ReplayedRequest[] = [];
  const responses = new Map<number, TraceLine>();
  for (const l of lines) if (l.dir === 'response' && l.req_id !== undefined) responses.set(l.req_id, l);
  const signal = (l: TraceLine): boolean => isAriEvent(l) && !isNoise(l.raw);
  const simSignalCount = (): number => [...events.values()].reduce((n, list) => n + list.filter((e) => !isNoise(e.event)).length, 0);
  /** Where the two time axes were last known to meet: (real t_ms, simulator ms). */
  let anchor = { real: 0, sim: performance.now() };
  let realSignals = 0;
  let call: SimCall | undefined;

  const open = async (label: string): Promise<void> => {
    const list: ReplayedEvent[] = events.get(label) ?? [];
    events.set(label, list);
    const ws = new WebSocket(
      `${sim.url.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(app)}&api_key=${encodeURIComponent(`${sim.user}:${sim.password}`)}`,
    );
    ws.on('message', (m: Buffer) => list.push({ event: JSON.parse(String(m)) as Ev, at: performance.now() }));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    sockets.set(label, ws);
    await sim.waitForApp(app);
  };

  for (const l of lines) {
    if (l.type === 'lab:note' && /^sipp caller dials (\d+)/.test(l.text ?? '')) {
      const did = /^sipp caller dials (\d+)/.exec(l.text ?? '')?.[1] ?? '';
      call = sim.call({ from: '5559876', name: 'Customer', to: DIALLED[did] ?? did });
      continue;
    }
    if (l.dir === 'event' && l.origin === 'client') {
      const m = /^(ws\d*):(open|terminate)$/.exec(l.type ?? '');
      if (!m) continue;
      const label = m[1] === 'ws' ? '' : m[1];
      if (m[2] === 'open') await open(label);
      else sockets.get(label)?.terminate();
      continue;
    }
    if (isAriEvent(l)) {
      if (l.type === 'StasisStart' && call) {
        await call.entered(2000);
        const real = chanId(l.raw);
        if (real) ids.set(real, call.id);
      }
      if (signal(l)) {
        realSignals += 1;
        const want = realSignals;
        if (await until(() => simSignalCount() >= want, 2000))
          anchor = l.t_ms > anchor.real ? { real: l.t_ms, sim: performance.now() } : anchor;
      }
      continue;
    }
    if (l.dir !== 'request' || l.req_id === undefined) continue;
    const res = responses.get(l.req_id);
    if (!res) continue;
    const wait = anchor.sim + (l.t_ms - anchor.real) / scale - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const path = mapIds(String(l.path), ids);
    const body = l.raw.body;
    const sentAt = performance.now();
    const r = await fetch(`${sim.url}${path}`, {
      method: String(l.method),
      headers: {
        authorization: `Basic ${Buffer.from(`${sim.user}:${sim.password}`).toString('base64')}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    const doneAt = performance.now();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = text;
    }
    anchor = { real: res.t_ms, sim: doneAt };
    requests.push({
      method: String(l.method),
      path: String(l.path),
      real: { status: Number(res.status), body: res.body, ms: res.t_ms - l.t_ms, t_ms: l.t_ms },
      sim: { path, status: r.status, body: parsed, ms: doneAt - sentAt, sentAt, doneAt },
    });
  }
  // Events still to come (the recorder waited ~300-500 ms before closing its socket).
  await new Promise((r) => setTimeout(r, Math.max(30, 500 / scale)));
  for (const ws of sockets.values()) ws.terminate();
  return { requests, events, ids };
}
