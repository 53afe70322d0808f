/**
 * The traces `npm run record-traces` recorded on the lab's Asterisk 22.10.1 (g, h, i in
 * test/fixtures/asterisk-22.10.1/traces/), replayed against the simulator request by request on a
 * time axis shrunk 5 times (test/helpers/raw-trace-replay.ts). For every request: the same status,
 * the same error body, the same fields in a success body (ids mapped; values that differ per call
 * left out, see IGNORED), and the same timing fact: a request the real Asterisk held behind a
 * running playback (≥ 100 ms; it answered right after PlaybackFinished) is held by the simulator
 * too, until the same playback finished, and a request it answered at once is answered at once.
 * Per socket, the same events in the same order (signatures as in trace-replay.test.ts).
 */
import { expect } from 'chai';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { actualSignatures, expectedSignatures, loadTrace, type TraceLine } from '../helpers/simulator-traces';
import { replayTrace, type Replay, type ReplayedRequest } from '../helpers/raw-trace-replay';

const APP = 'direct-callback';
const SCALE = 5;
/** A recorded request that took this long waited for something (a playback); one under 20 ms did not. */
const WAITED_MS = 100;
const AT_ONCE_MS = 20;
/** An item that ended this soon after a stop's answer was cut short by it (trace l4). */
const CUT_SHORT_MS = 50;
/** One spoken digit on the real Asterisk (trace l: 10 digits of `digits:` in 7.9 s, `sound:digits/2` 0.75 s). */
const DIGIT_MS = 790;
/** A request's answer and an event arrive on two connections: the event may trail the answer by a little. */
const EVENT_SLACK_MS = 5;

/** Fields whose values differ per call or per machine (not behaviour): left out of the body comparison. */
const IGNORED = new Set([
  'creationtime',
  'protocol_id',
  'name',
  'caller',
  'connected',
  'accountcode',
  'dialplan',
  'language',
  'channelvars',
  'timestamp',
  'asterisk_id',
]);

type Ev = Record<string, unknown>;
const pb = (e: Ev): { id?: string; media_uri?: string; state?: string } =>
  typeof e.playback === 'object' && e.playback !== null ? e.playback : {};

/** How long each medium played to its end on the real Asterisk (PlaybackStarted → PlaybackFinished(done), never stopped). */
function mediaDurations(lines: TraceLine[]): Map<string, number> {
  const started = new Map<string, number>();
  const stopped = new Set<string>();
  const out = new Map<string, number>();
  for (const l of lines) {
    if (l.dir === 'request' && l.method === 'DELETE' && /^\/ari\/playbacks\//.test(l.path ?? ''))
      stopped.add((l.path ?? '').split('/')[3] ?? '');
    if (l.dir === 'request' && l.method === 'DELETE' && /^\/ari\/channels\/[^/]+(\?|$)/.test(l.path ?? ''))
      for (const id of started.keys()) stopped.add(id);
    if (l.type === 'PlaybackStarted') started.set(pb(l.raw).id ?? '', l.t_ms);
    if (l.type === 'PlaybackFinished' && pb(l.raw).state === 'done' && !stopped.has(pb(l.raw).id ?? '')) {
      const id = pb(l.raw).id ?? '';
      const media = pb(l.raw).media_uri ?? '';
      const ms = l.t_ms - (started.get(id) ?? l.t_ms);
      out.set(media, Math.max(out.get(media) ?? 0, ms));
    }
  }
  // An item of a list that went on to the next one (PlaybackContinuing) played to its end, stop or
  // not (a stop during `digits:` is ignored: trace l), unless it ended right after a stop: a stop
  // 0.1 s into `number:12` cut that file short (trace l4).
  const itemStart = new Map<string, { media: string; t: number }>();
  const lastStop = new Map<string, number>();
  for (const l of lines) {
    const id = pb(l.raw).id ?? '';
    if (l.dir === 'response' && l.method === 'DELETE' && /^\/ari\/playbacks\//.test(l.path ?? ''))
      lastStop.set((l.path ?? '').split('/')[3] ?? '', l.t_ms);
    if (l.type === 'PlaybackStarted') itemStart.set(id, { media: pb(l.raw).media_uri ?? '', t: l.t_ms });
    if (l.type === 'PlaybackContinuing' && itemStart.has(id)) {
      const item = itemStart.get(id) as { media: string; t: number };
      const cutShort = l.t_ms - (lastStop.get(id) ?? -Infinity) < CUT_SHORT_MS;
      if (!out.has(item.media) && !cutShort) out.set(item.media, l.t_ms - item.t);
    }
  }
  return out;
}

/** How long the shortest playback running at `t` still had to play on the real Asterisk (undefined: none ran). */
function runningRest(lines: TraceLine[], t: number): number | undefined {
  const durations = mediaDurations(lines);
  const running = new Map<string, number>();
  for (const l of lines) {
    if (l.t_ms > t) break;
    const p = pb(l.raw);
    if (l.type === 'PlaybackStarted') running.set(p.id ?? '', l.t_ms + (durations.get(p.media_uri ?? '') ?? 0));
    if (l.type === 'PlaybackFinished') running.delete(p.id ?? '');
  }
  const rests = [...running.values()].map((end) => end - t).filter((ms) => ms > 0);
  return rests.length ? Math.min(...rests) : undefined;
}

/** The playback whose PlaybackFinished the real Asterisk sent between a request and its answer. */
function finishedWhileWaiting(lines: TraceLine[], r: ReplayedRequest): string | undefined {
  const end = r.real.t_ms + r.real.ms + EVENT_SLACK_MS;
  return lines.find((l) => l.type === 'PlaybackFinished' && l.t_ms >= r.real.t_ms && l.t_ms <= end)?.raw.playback !== undefined
    ? pb(lines.find((l) => l.type === 'PlaybackFinished' && l.t_ms >= r.real.t_ms && l.t_ms <= end)?.raw ?? {}).id
    : undefined;
}

/** Differences between a recorded success body and the simulator's (recorded fields only). */
function bodyDiffs(real: unknown, sim: unknown, ids: Map<string, string>, at: string, out: string[]): void {
  if (typeof real === 'string') {
    let mapped = real;
    for (const [r, s] of ids) mapped = mapped.split(r).join(s);
    if (mapped !== sim) out.push(`${at}: ${JSON.stringify(real)} on Asterisk, ${JSON.stringify(sim)} on the simulator`);
    return;
  }
  if (Array.isArray(real)) {
    if (!Array.isArray(sim) || sim.length !== real.length) {
      out.push(`${at}: ${JSON.stringify(real)} on Asterisk, ${JSON.stringify(sim)} on the simulator`);
      return;
    }
    real.forEach((v, i) => bodyDiffs(v, sim[i], ids, `${at}[${i}]`, out));
    return;
  }
  if (typeof real === 'object' && real !== null) {
    if (typeof sim !== 'object' || sim === null) {
      out.push(`${at}: an object on Asterisk, ${JSON.stringify(sim)} on the simulator`);
      return;
    }
    for (const [k, v] of Object.entries(real)) {
      if (IGNORED.has(k)) continue;
      bodyDiffs(v, (sim as Record<string, unknown>)[k], ids, `${at}.${k}`, out);
    }
    return;
  }
  if (real !== sim) out.push(`${at}: ${JSON.stringify(real)} on Asterisk, ${JSON.stringify(sim)} on the simulator`);
}

/**
 * The 201 of a channel play is a snapshot taken while the playback may already have started: on
 * the real Asterisk it said `queued` or `playing` for the same request from run to run (trace g:
 * both in one run). Either counts as the simulator's `queued`.
 */
function racyPlayState(r: ReplayedRequest): unknown {
  const body = r.real.body;
  if (r.real.status !== 201 || !/\/play(\/|\?)/.test(r.path) || typeof body !== 'object' || body === null) return body;
  const simState = (r.sim.body as { state?: unknown } | undefined)?.state;
  const realState = (body as { state?: unknown }).state;
  return realState === 'playing' && simState === 'queued' ? { ...body, state: 'queued' } : body;
}

/** Everything the replay found different from the recording, one line each. */
function differences(lines: TraceLine[], replay: Replay): string[] {
  const out: string[] = [];
  for (const r of replay.requests) {
    const what = `${r.method} ${r.path}`;
    if (r.sim.status !== r.real.status) {
      out.push(`${what}: ${r.real.status} on Asterisk, ${r.sim.status} on the simulator (${JSON.stringify(r.sim.body)})`);
      continue;
    }
    if (r.real.body !== undefined) bodyDiffs(racyPlayState(r), r.sim.body, replay.ids, what, out);
    if (r.real.ms >= WAITED_MS) {
      const playback = finishedWhileWaiting(lines, r);
      const simFinished = [...replay.events.values()]
        .flat()
        .find((e) => e.event.type === 'PlaybackFinished' && pb(e.event).id === playback);
      if (r.sim.ms < (0.6 * r.real.ms) / SCALE)
        out.push(
          `${what}: held ${Math.round(r.real.ms)} ms on Asterisk (until ${playback} finished), ${Math.round(r.sim.ms)} ms on the simulator (expected ≈ ${Math.round(r.real.ms / SCALE)})`,
        );
      else if (!simFinished || simFinished.at > r.sim.doneAt)
        out.push(`${what}: answered after PlaybackFinished ${playback} on Asterisk, before it on the simulator`);
    } else if (r.real.ms < AT_ONCE_MS) {
      // Had the simulator held it behind the playback running then, it would have taken the rest
      // of that playback: half of that is the limit (timers and load cannot add that much).
      const rest = runningRest(lines, r.real.t_ms);
      if (rest !== undefined && r.sim.ms > Math.max(rest / SCALE / 2, AT_ONCE_MS / 2))
        out.push(
          `${what}: answered in ${r.real.ms.toFixed(1)} ms on Asterisk while a playback had ${Math.round(rest)} ms to go, held ${Math.round(r.sim.ms)} ms on the simulator`,
        );
    }
  }
  const labels = new Set(lines.filter((l) => l.dir === 'event' && l.origin === 'ari').map((l) => l.ws ?? ''));
  for (const label of labels) {
    const expected = expectedSignatures(lines, label ? { ws: label } : {});
    const actual = actualSignatures((replay.events.get(label) ?? []).map((e) => e.event));
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      out.push(`events on socket '${label || 'ws'}':\n      Asterisk:  ${expected.join(' | ')}\n      simulator: ${actual.join(' | ')}`);
    }
  }
  return out;
}

async function replayOnSimulator(file: string): Promise<{ lines: TraceLine[]; replay: Replay; sim: AriSimulator }> {
  const lines = loadTrace(file);
  const sim = await AriSimulator.start({
    user: 'asterisk',
    password: 'secret',
    timing: { playbackStopMs: 1, perDigitMs: DIGIT_MS / SCALE },
  });
  for (const [media, ms] of mediaDurations(lines)) sim.setMediaDuration(media, ms / SCALE);
  // The first request runs code for the first time: on a busy machine that alone took 130 ms.
  await fetch(`${sim.url}/ari/asterisk/info`, { headers: { authorization: `Basic ${Buffer.from('asterisk:secret').toString('base64')}` } });
  const replay = await replayTrace(sim, lines, { app: APP, scale: SCALE });
  return { lines, replay, sim };
}

describe('replay of the traces recorded by npm run record-traces (g, h, i, l) against the simulator', function () {
  this.timeout(20000);
  let sim: AriSimulator | undefined;

  afterEach(async () => {
    const problems = sim ? [...sim.eventViolations, ...sim.internalErrors] : [];
    await sim?.stop();
    sim = undefined;
    expect(problems, 'invalid events / internal errors').to.deep.equal([]);
  });

  it('g: answer, variable and addChannel wait for the channel playback (bridged or not), GET/moh/ring/play/DELETE do not', async () => {
    const r = await replayOnSimulator('g-answer-waits-behind-playback.jsonl');
    sim = r.sim;
    // The facts the trace must hold, or the comparison below proves nothing.
    const waited = r.replay.requests
      .filter((q) => q.real.ms >= WAITED_MS)
      .map((q) => `${q.method} ${q.path.replace(/\/channels\/[^/?]+/, '/channels/X').replace(/\?.*/, '')}`);
    expect(waited).to.deep.equal([
      'POST /ari/channels/X/answer',
      'POST /ari/channels/X/variable',
      'POST /ari/bridges/g-mix/addChannel',
      'POST /ari/channels/X/answer',
    ]);
    expect(r.replay.requests.length).to.be.greaterThan(25);
    expect(differences(r.lines, r.replay)).to.deep.equal([]);
  });

  it('h: bridge and playback outlive the WebSocket; a new socket gets their events; 409 on the bridge id; addChannel of the bridged channel waits, leaves and re-enters', async () => {
    const r = await replayOnSimulator('h-bridge-and-playback-outlive-websocket.jsonl');
    sim = r.sim;
    const add = r.replay.requests.find(
      (q) => q.path === '/ari/bridges/h-hold/addChannel' || q.path.startsWith('/ari/bridges/h-hold/addChannel?'),
    );
    expect(r.replay.requests.filter((q) => q.path.startsWith('/ari/bridges/h-hold/addChannel')).length).to.equal(2);
    expect(add?.real.ms).to.be.lessThan(AT_ONCE_MS);
    expect(r.replay.requests.filter((q) => q.real.status === 409)).to.have.length(2);
    expect(differences(r.lines, r.replay)).to.deep.equal([]);
  });

  it('i: a bridge id that exists answers 409 "Bridge with id … already exists", by path and by query, any type; free again after DELETE', async () => {
    const r = await replayOnSimulator('i-bridge-id-conflict-409.jsonl');
    sim = r.sim;
    expect(r.replay.requests.map((q) => q.real.status)).to.deep.equal([200, 409, 409, 409, 200, 204, 200, 204]);
    expect(differences(r.lines, r.replay)).to.deep.equal([]);
  });

  it('l: a stop during digits: or number: is answered 204 and ignored (the list goes on, POST /variable waits for it); during sound:digits/N it ends the list at once', async () => {
    const r = await replayOnSimulator('l-stop-during-digits.jsonl');
    sim = r.sim;
    const measured = (label: string): Record<string, unknown> => r.lines.find((l) => l.raw.text === `${label}: measured`)?.raw ?? {};
    // The facts the trace must hold, or the comparison below proves nothing.
    expect(measured('l1').items_started_after_stop).to.deep.equal(['sound:beep']);
    expect(Number(measured('l1').variable_ms)).to.be.greaterThan(5000);
    expect(measured('l2').items_started_after_stop).to.deep.equal([]);
    expect(Number(measured('l2').variable_ms)).to.be.lessThan(AT_ONCE_MS);
    expect(measured('l3').items_started_after_stop).to.deep.equal(['sound:beep']);
    expect(measured('l5').second_stop_status).to.equal(204);
    const stops = r.replay.requests.filter((q) => q.method === 'DELETE' && q.path.startsWith('/ari/playbacks/'));
    expect(stops.map((q) => q.real.status)).to.deep.equal([204, 204, 204, 204, 204, 204]);
    expect(differences(r.lines, r.replay)).to.deep.equal([]);
  });
});
