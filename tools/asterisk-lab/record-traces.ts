/**
 * `npm run record-traces [-- --out DIR] [--only NAME] [--keep]`: records what a real Asterisk does,
 * as the traces the simulator is held to (test/fixtures/asterisk-<version>/traces/, format in its
 * README). It starts the lab's Asterisk from the project's `asterisk-config/` (tools/asterisk-lab/),
 * places SIPp calls into the sample dialplan, and drives them with raw ARI HTTP requests and an
 * app's WebSocket (not the plugin, not ari-client), writing every request, answer and event.
 *
 * The stories (one file each; `--only g` or `--only g-answer-waits-behind-playback`):
 *  g  channel commands while a playback runs: how long `answer`, `variable`, `hangup`… take
 *  h  a bridge and a playback outlive the app's WebSocket; what a new socket finds and gets
 *  i  a bridge id that already exists: 409 on POST /bridges/{id}, and on POST /bridges?bridgeId=
 *  k  customer legs dialled the moment POST /channels/create answers: before or after StasisStart?
 *  l  a stop during `digits:`, `number:` and `sound:digits/N` items: which end the playback at once
 *
 * Traces a–f (recorded on 2026-11-24 with ari-client by another driver) are not re-recorded here.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AsteriskServer } from './asterisk-server';
import { PortAllocator } from './ports';
import { ASTERISK_VERSION, findAsteriskRuntime, REPO_ROOT, type AsteriskRuntime } from './runtime';
import { callerScenario, SippProcess, type SippStep } from './sipp';
import { AppSocket, RawAri, Trace, channelIdOf, playbackOf, sleep, type AriEvent } from './trace-recorder';
import { parseCommandLine } from '../../src/cli/options';

const APP = 'direct-callback';
/** The sample dialplan's queue number: `Stasis(direct-callback,queue,support)`. */
const QUEUE_DID = '5552000';
/** Debian's core sounds (asterisk-core-sounds-en-wav), durations from the files. */
const LONG_SOUND = 'sound:queue-periodic-announce'; // 7.8 s
const MID_SOUND = 'sound:queue-callswaiting'; // 2.5 s
const SHORT_SOUND = 'sound:beep'; // 0.4 s
/** Customer legs story k creates and dials, one after another. */
const CREATE_WINDOW_ROUNDS = 60;

const COMMAND = {
  usage: 'npm run record-traces --',
  summary: "Record real-Asterisk ARI traces (the lab's Asterisk from asterisk-config/, SIPp callers, raw ARI) into test/fixtures/.",
  options: {
    out: {
      type: 'string',
      valueName: 'dir',
      description: `where the .jsonl files go (default test/fixtures/asterisk-${ASTERISK_VERSION}/traces)`,
    },
    only: {
      type: 'string',
      multiple: true,
      valueName: 'name',
      description: 'record only this story: g, h, i or a file name without .jsonl',
    },
    keep: { type: 'boolean', description: "keep Asterisk's folder (logs, SIPp files) after the run" },
  },
} as const;

interface Rig {
  asterisk: AsteriskServer;
  ari: RawAri;
  ports: PortAllocator;
  runtime: AsteriskRuntime;
  password: string;
  callers: SippProcess[];
}

interface Story {
  name: string;
  run: (rig: Rig, trace: Trace) => Promise<void>;
}

/** A SIPp caller dialling `did` from 5559876 ("Customer"), through the trunk. */
async function call(rig: Rig, trace: Trace, did: string, steps: readonly SippStep[]): Promise<SippProcess> {
  const p = { sip: await rig.ports.take(), media: (await rig.ports.takeRange(4))[0], control: await rig.ports.take() };
  const sipp = SippProcess.start({
    sipp: rig.runtime.sipp,
    workDir: path.join(rig.asterisk.dir, 'lab'),
    name: `${trace.name}-caller-${rig.callers.length + 1}`,
    scenario: callerScenario({ from: '5559876', fromName: 'Customer', steps }),
    sipPort: p.sip,
    mediaPort: p.media,
    controlPort: p.control,
    remote: `127.0.0.1:${rig.asterisk.opts.ports.sip}`,
    service: did,
    calls: 1,
  });
  rig.callers.push(sipp);
  trace.note(`sipp caller dials ${did}`, { steps });
  return sipp;
}

const socket = (rig: Rig, trace: Trace, label?: string): Promise<AppSocket> =>
  AppSocket.open(trace, rig.asterisk.ariUrl, APP, 'direct-callback', rig.password, label);

const isFinished =
  (id: string) =>
  (e: AriEvent): boolean =>
    e.type === 'PlaybackFinished' && playbackOf(e).id === id;
const isStarted =
  (id: string) =>
  (e: AriEvent): boolean =>
    e.type === 'PlaybackStarted' && playbackOf(e).id === id;

/** An inbound caller in Stasis, answered, in a holding bridge with music on hold (probes.md's setup). */
async function callerInHoldingBridge(rig: Rig, trace: Trace, ws: AppSocket, bridgeId: string): Promise<string> {
  await call(rig, trace, QUEUE_DID, [{ waitForBye: 120_000 }]);
  const start = await ws.waitFor((e) => e.type === 'StasisStart', 20_000, 'StasisStart of the caller');
  const id = channelIdOf(start) as string;
  await rig.ari.request('POST', `/channels/${id}/answer`);
  await rig.ari.request('POST', '/bridges', { type: 'holding', bridgeId, name: `${bridgeId}-name` });
  await rig.ari.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: id });
  await rig.ari.request('POST', `/bridges/${bridgeId}/moh`, { mohClass: 'default' });
  await ws.waitFor((e) => e.type === 'ChannelEnteredBridge', 5000, 'ChannelEnteredBridge');
  return id;
}

async function hangUpAndDestroy(rig: Rig, ws: AppSocket, channelId: string, bridgeId: string): Promise<void> {
  await rig.ari.request('DELETE', `/channels/${channelId}`, { reason: 'normal' });
  await ws.waitFor((e) => e.type === 'StasisEnd' && channelIdOf(e) === channelId, 10_000, 'StasisEnd');
  await rig.ari.request('DELETE', `/bridges/${bridgeId}`);
  await ws.waitFor((e) => e.type === 'BridgeDestroyed', 5000, 'BridgeDestroyed').catch(() => undefined);
  await sleep(300);
}

/** Starts a channel playback, waits for its PlaybackStarted, then `lagMs`. */
async function playOn(rig: Rig, ws: AppSocket, channelId: string, playbackId: string, media: string, lagMs: number): Promise<void> {
  await rig.ari.request('POST', `/channels/${channelId}/play/${playbackId}`, { media });
  await ws.waitFor(isStarted(playbackId), 5000, `PlaybackStarted ${playbackId}`);
  await sleep(lagMs);
}

const STORIES: Story[] = [
  {
    name: 'g-answer-waits-behind-playback',
    async run(rig, trace) {
      trace.note(
        'g: caller dials 5552000 (Stasis direct-callback,queue,support); app answers, holding bridge g-hold + bridge MOH; then channel commands while channel-targeted playbacks run',
      );
      const ws = await socket(rig, trace);
      const bridge = 'g-hold';
      const id = await callerInHoldingBridge(rig, trace, ws, bridge);
      const { ari } = rig;

      trace.note(`g1: play ${LONG_SOUND} (7.8 s) on the bridged Up channel, then 1 s later POST /answer`);
      await playOn(rig, ws, id, 'g1-long', LONG_SOUND, 1000);
      const g1 = await ari.request('POST', `/channels/${id}/answer`);
      trace.note('g1: measured', { answer_ms: g1.ms, answer_status: g1.status });
      await ws.waitFor(isFinished('g1-long'), 15_000, 'PlaybackFinished g1-long');

      trace.note(`g2: after it, play ${SHORT_SOUND} (201 at once); DELETE the finished g1-long (404)`);
      const g2 = await ari.request('POST', `/channels/${id}/play/g2-beep`, { media: SHORT_SOUND });
      await ari.request('DELETE', '/playbacks/g1-long');
      await ws.waitFor(isFinished('g2-beep'), 5000, 'PlaybackFinished g2-beep');
      trace.note('g2: measured', { play_ms: g2.ms });

      trace.note('g3: no playback running: POST /answer on the Up channel');
      const g3 = await ari.request('POST', `/channels/${id}/answer`);
      trace.note('g3: measured', { answer_ms: g3.ms });

      trace.note(`g4: play ${LONG_SOUND}, 1 s later DELETE /playbacks, then at once POST /answer`);
      await playOn(rig, ws, id, 'g4-long', LONG_SOUND, 1000);
      const g4stop = await ari.request('DELETE', '/playbacks/g4-long');
      const g4 = await ari.request('POST', `/channels/${id}/answer`);
      await ws.waitFor(isFinished('g4-long'), 5000, 'PlaybackFinished g4-long');
      trace.note('g4: measured', { stop_ms: g4stop.ms, answer_ms: g4.ms });

      trace.note(`g5: play ${MID_SOUND} (2.5 s), 300 ms later POST /variable`);
      await playOn(rig, ws, id, 'g5-mid', MID_SOUND, 300);
      const g5 = await ari.request('POST', `/channels/${id}/variable`, { variable: 'G5', value: 'set' });
      trace.note('g5: measured', { variable_ms: g5.ms });
      await ws.waitFor(isFinished('g5-mid'), 5000, 'PlaybackFinished g5-mid');

      trace.note(`g6: play ${LONG_SOUND}, 300 ms later requests that do not wait (each timed), then DELETE it`);
      await playOn(rig, ws, id, 'g6-long', LONG_SOUND, 300);
      const timed: Record<string, number> = {};
      const time = async (label: string, method: string, resource: string, query: Record<string, string> = {}): Promise<void> => {
        timed[label] = (await ari.request(method, resource, query)).ms;
      };
      await time('get_channel_ms', 'GET', `/channels/${id}`);
      await time('get_variable_ms', 'GET', `/channels/${id}/variable`, { variable: 'G5' });
      await time('channel_moh_start_ms', 'POST', `/channels/${id}/moh`, { mohClass: 'default' });
      await time('channel_moh_stop_ms', 'DELETE', `/channels/${id}/moh`);
      await time('ring_ms', 'POST', `/channels/${id}/ring`);
      await time('bridge_moh_ms', 'POST', `/bridges/${bridge}/moh`, { mohClass: 'default' });
      await time('play_queued_ms', 'POST', `/channels/${id}/play/g6-queued`, { media: SHORT_SOUND });
      await time('stop_queued_ms', 'DELETE', '/playbacks/g6-queued');
      await time('stop_running_ms', 'DELETE', '/playbacks/g6-long');
      await ws.waitFor(isFinished('g6-long'), 5000, 'PlaybackFinished g6-long');
      await ws
        .waitFor(isFinished('g6-queued'), 5000, 'PlaybackFinished g6-queued')
        .catch(() => trace.note('not observed: PlaybackFinished g6-queued'));
      trace.note('g6: measured', timed);

      trace.note(
        `g7: another bridge g-mix (mixing); play ${MID_SOUND} on the channel (still in g-hold), 300 ms later POST /bridges/g-mix/addChannel (a move)`,
      );
      await ari.request('POST', '/bridges', { type: 'mixing', bridgeId: 'g-mix', name: 'g-mix-name' });
      await playOn(rig, ws, id, 'g7-mid', MID_SOUND, 300);
      const g7 = await ari.request('POST', '/bridges/g-mix/addChannel', { channel: id });
      trace.note('g7: measured', { add_channel_ms: g7.ms });
      await ws.waitFor(isFinished('g7-mid'), 5000, 'PlaybackFinished g7-mid');
      await ws.waitFor(
        (e) => e.type === 'ChannelEnteredBridge' && JSON.stringify(e.bridge).includes('"g-mix"'),
        5000,
        'ChannelEnteredBridge g-mix',
      );

      trace.note(`g8: the channel out of any bridge: POST /bridges/g-mix/removeChannel, play ${MID_SOUND}, 300 ms later POST /answer`);
      await ari.request('POST', '/bridges/g-mix/removeChannel', { channel: id });
      await ws.waitFor(
        (e) => e.type === 'ChannelLeftBridge' && JSON.stringify(e.bridge).includes('"g-mix"'),
        5000,
        'ChannelLeftBridge g-mix',
      );
      await playOn(rig, ws, id, 'g8-mid', MID_SOUND, 300);
      const g8 = await ari.request('POST', `/channels/${id}/answer`);
      trace.note('g8: measured', { answer_ms: g8.ms });
      await ws.waitFor(isFinished('g8-mid'), 5000, 'PlaybackFinished g8-mid');

      trace.note(`g9: play ${LONG_SOUND}, 300 ms later DELETE /channels (app hangup during the playback)`);
      await playOn(rig, ws, id, 'g9-long', LONG_SOUND, 300);
      const g9 = await ari.request('DELETE', `/channels/${id}`, { reason: 'normal' });
      await ws.waitFor((e) => e.type === 'StasisEnd', 10_000, 'StasisEnd');
      trace.note('g9: measured', { hangup_ms: g9.ms });
      await ari.request('DELETE', '/bridges/g-mix');
      await ari.request('DELETE', `/bridges/${bridge}`);
      await sleep(500);
      await ws.close();
    },
  },
  {
    name: 'h-bridge-and-playback-outlive-websocket',
    async run(rig, trace) {
      trace.note(
        'h: caller dials 5552000; app answers, holding bridge h-hold + bridge MOH, a channel playback of 7.8 s; then its WebSocket drops without a close frame',
      );
      const ws1 = await socket(rig, trace);
      const bridge = 'h-hold';
      const id = await callerInHoldingBridge(rig, trace, ws1, bridge);
      const { ari } = rig;
      await playOn(rig, ws1, id, 'h-offer', LONG_SOUND, 500);

      trace.note('h1: the app WebSocket drops (TCP closed, no close frame), as when the process is killed');
      ws1.terminate();
      await sleep(500);
      trace.note('h1: no socket: what the REST API shows');
      await ari.request('GET', `/applications/${APP}`);
      await ari.request('GET', '/playbacks/h-offer');
      await ari.request('GET', `/bridges/${bridge}`);
      await ari.request('GET', `/channels/${id}`);

      trace.note('h2: a new WebSocket for the same app ("ws2"); what it finds');
      const ws2 = await socket(rig, trace, 'ws2');
      await sleep(200);
      await ari.request('GET', `/applications/${APP}`);
      await ari.request('GET', '/playbacks/h-offer');

      trace.note(
        'h3: the new process recreates its bridge: POST /bridges/{same id} and POST /bridges?bridgeId=same, then addChannel of the channel already in it',
      );
      await ari.request('POST', `/bridges/${bridge}`, { type: 'holding', name: `${bridge}-again` });
      await ari.request('POST', '/bridges', { type: 'holding', bridgeId: bridge, name: `${bridge}-again` });
      const add = await ari.request('POST', `/bridges/${bridge}/addChannel`, { channel: id });
      trace.note('h3: measured', { add_channel_ms: add.ms, add_channel_status: add.status });

      trace.note("h4: the old connection's playback runs on: wait for its PlaybackFinished on ws2");
      await ws2
        .waitFor(isFinished('h-offer'), 15_000, 'PlaybackFinished h-offer on ws2')
        .catch(() => trace.note('not observed: PlaybackFinished h-offer on ws2'));

      trace.note('h5: the new connection controls the channel: play, then hang up, destroy the bridge');
      await ari.request('POST', `/channels/${id}/play/h-after`, { media: SHORT_SOUND });
      await ws2.waitFor(isFinished('h-after'), 5000, 'PlaybackFinished h-after');
      await hangUpAndDestroy(rig, ws2, id, bridge);
      await ws2.close();
    },
  },
  {
    name: 'i-bridge-id-conflict-409',
    async run(rig, trace) {
      trace.note('i: bridges created by id, no channel: the same id again, by path and by query, before and after DELETE');
      const ws = await socket(rig, trace);
      const { ari } = rig;
      trace.note('i1: POST /bridges/i-bridge (holding), then the same id again');
      await ari.request('POST', '/bridges/i-bridge', { type: 'holding', name: 'first' });
      await ari.request('POST', '/bridges/i-bridge', { type: 'holding', name: 'second' });
      await ari.request('POST', '/bridges/i-bridge', { type: 'mixing', name: 'second' });
      trace.note('i2: POST /bridges?bridgeId=i-bridge (the create route with the id in the query)');
      await ari.request('POST', '/bridges', { type: 'holding', bridgeId: 'i-bridge', name: 'second' });
      await ari.request('GET', '/bridges/i-bridge');
      trace.note('i3: DELETE it, then the id is free again');
      await ari.request('DELETE', '/bridges/i-bridge');
      await ari.request('POST', '/bridges', { type: 'mixing', bridgeId: 'i-bridge', name: 'third' });
      await ari.request('DELETE', '/bridges/i-bridge');
      await sleep(300);
      await ws.close();
    },
  },
  {
    // Issue 18, defect 2: once in 16 customer dials the plugin's dial got 409 "Channel not in
    // Stasis application" 4 ms after its create. Here each leg is dialled the moment its create
    // answers, as the plugin did, and the trace shows whether its StasisStart came first.
    name: 'k-dial-in-the-create-window',
    async run(rig, trace) {
      trace.note(
        `k: ${CREATE_WINDOW_ROUNDS} customer legs, one after another: POST /channels/create (PJSIP/5559876@trunk, nothing answers behind the trunk), POST /dial the moment the create answers, a dial again after StasisStart if that one was refused, then DELETE; k1 without variables, k2 with the variables the plugin sends (CONNECTEDLINE, CALLBACK_ID)`,
      );
      const ws = await socket(rig, trace);
      const { ari } = rig;
      const isOf = (type: string, id: string) => (e: AriEvent) => e.type === type && channelIdOf(e) === id;
      for (const part of ['k1', 'k2'] as const) {
        const tally = { dial_204: 0, dial_409: 0, dial_other: 0, stasis_start_before_dial: 0, gaps_ms: [] as number[] };
        for (let n = 1; n <= CREATE_WINDOW_ROUNDS / 2; n++) {
          const id = `${part}-leg-${n}`;
          const variables = { 'CONNECTEDLINE(num)': '5550100', 'CONNECTEDLINE(name)': 'Support Callback', CALLBACK_ID: `${part}-${n}` };
          await ari.request(
            'POST',
            '/channels/create',
            { endpoint: 'PJSIP/5559876@trunk', app: APP, appArgs: `customer,${part}-${n}`, channelId: id },
            part === 'k2' ? { variables } : undefined,
          );
          const createdAt = trace.now();
          const startedFirst = ws.events.some(isOf('StasisStart', id));
          const dial = await ari.request('POST', `/channels/${id}/dial`, { timeout: 5 });
          await ws.waitFor(isOf('StasisStart', id), 5000, `StasisStart ${id}`);
          const startLine = trace.lines.find(
            (l) => l.type === 'StasisStart' && channelIdOf({ type: 'StasisStart', channel: l.channel }) === id,
          );
          if (startLine) tally.gaps_ms.push(Math.round((startLine.t_ms - createdAt) * 10) / 10);
          if (startedFirst) tally.stasis_start_before_dial++;
          if (dial.status === 204) tally.dial_204++;
          else if (dial.status === 409) tally.dial_409++;
          else tally.dial_other++;
          if (dial.status === 409) {
            const again = await ari.request('POST', `/channels/${id}/dial`, { timeout: 5 });
            trace.note(`${part}: ${id} dialled again after its StasisStart`, { status: again.status });
          }
          await ari.request('DELETE', `/channels/${id}`, { reason: 'normal' });
          await ws.waitFor(isOf('ChannelDestroyed', id), 10_000, `ChannelDestroyed ${id}`);
          await sleep(100);
        }
        trace.note(`${part}: measured`, tally);
      }
      await sleep(300);
      await ws.close();
    },
  },
  {
    // Issue 18, defect 1: a stop answered 204 during a `digits:` item is ignored. Which items
    // honour a stop, whether a list of `sound:digits/N` ends at once when stopped during one of
    // them, and whether a stop sent again once the ignored item is over ends the list.
    name: 'l-stop-during-digits',
    async run(rig, trace) {
      trace.note(
        'l: caller dials 5552000; app answers (no bridge); channel playbacks stopped in one item, each followed at once by POST /variable (which waits for the playback)',
      );
      const ws = await socket(rig, trace);
      const { ari } = rig;
      await call(rig, trace, QUEUE_DID, [{ waitForBye: 120_000 }]);
      const start = await ws.waitFor((e) => e.type === 'StasisStart', 20_000, 'StasisStart of the caller');
      const id = channelIdOf(start) as string;
      await ari.request('POST', `/channels/${id}/answer`);
      const itemStarted = (pb: string, item: string, after: number) => (e: AriEvent) =>
        e.type === 'PlaybackStarted' && playbackOf(e).id === pb && playbackOf(e).media_uri === item && ws.events.indexOf(e) >= after;
      const stopDuring = async (
        label: string,
        media: readonly string[],
        item: string,
        lagMs: number,
        stopAgainAt?: string,
      ): Promise<void> => {
        const pb = `${label}-pb`;
        const from = ws.events.length;
        trace.note(`${label}: play ${media.join(',')}; DELETE ${lagMs} ms into ${item}, then POST /variable`);
        await ari.request('POST', `/channels/${id}/play/${pb}`, { media: media.join(',') });
        await ws.waitFor(itemStarted(pb, item, from), 15_000, `PlaybackStarted ${pb} ${item}`);
        await sleep(lagMs);
        const stoppedAt = trace.now();
        const mark = ws.events.length;
        const stop = await ari.request('DELETE', `/playbacks/${pb}`);
        let again: number | undefined;
        if (stopAgainAt !== undefined) {
          await ws.waitFor(itemStarted(pb, stopAgainAt, mark), 20_000, `PlaybackStarted ${pb} ${stopAgainAt}`);
          again = (await ari.request('DELETE', `/playbacks/${pb}`)).status;
        }
        const variable = await ari.request('POST', `/channels/${id}/variable`, { variable: 'L', value: label });
        const finished = await ws.waitFor(isFinished(pb), 20_000, `PlaybackFinished ${pb}`);
        const finishedLine = trace.lines.find(
          (l) => l.type === 'PlaybackFinished' && (l.playback as { id?: string } | undefined)?.id === pb,
        );
        trace.note(`${label}: measured`, {
          stop_status: stop.status,
          stop_ms: stop.ms,
          ...(again !== undefined ? { second_stop_status: again } : {}),
          variable_ms: variable.ms,
          finished_state: playbackOf(finished).state ?? null,
          finished_after_stop_ms: finishedLine ? Math.round(finishedLine.t_ms - stoppedAt) : null,
          items_started_after_stop: ws.events
            .slice(mark)
            .filter((e) => e.type === 'PlaybackStarted' && playbackOf(e).id === pb)
            .map((e) => playbackOf(e).media_uri),
        });
        await sleep(300);
      };
      const spoken = '2125550040'.split('').map((d) => `sound:digits/${d}`);
      await stopDuring('l1', [SHORT_SOUND, 'digits:2125550040', SHORT_SOUND], 'digits:2125550040', 1100);
      await stopDuring('l2', [SHORT_SOUND, ...spoken, SHORT_SOUND], 'sound:digits/1', 150);
      await stopDuring('l3', [SHORT_SOUND, 'number:1234567', SHORT_SOUND], 'number:1234567', 500);
      await stopDuring('l4', [SHORT_SOUND, 'number:12', SHORT_SOUND], 'number:12', 100);
      await stopDuring('l5', [SHORT_SOUND, 'digits:2125550040', LONG_SOUND, SHORT_SOUND], 'digits:2125550040', 1100, LONG_SOUND);
      await ari.request('DELETE', `/channels/${id}`, { reason: 'normal' });
      await ws.waitFor((e) => e.type === 'StasisEnd', 10_000, 'StasisEnd');
      await sleep(300);
      await ws.close();
    },
  },
];

function selected(only: readonly string[] | undefined): Story[] {
  if (!only || only.length === 0) return STORIES;
  return only.map((o) => {
    const s = STORIES.find((x) => x.name === o.replace(/\.jsonl$/, '') || x.name.startsWith(`${o}-`));
    if (!s) {
      process.stderr.write(`record-traces: no story '${o}' (stories: ${STORIES.map((x) => x.name).join(', ')})\n`);
      process.exit(2);
    }
    return s;
  });
}

async function main(): Promise<void> {
  const o = parseCommandLine('record-traces', COMMAND, (v) => ({
    out: path.resolve(v.out ?? path.join(REPO_ROOT, 'test', 'fixtures', `asterisk-${ASTERISK_VERSION}`, 'traces')),
    only: v.only,
    keep: v.keep === true,
  }));
  const stories = selected(o.only);
  const found = findAsteriskRuntime();
  if (!found.ok) throw new Error(found.reason);
  const ports = new PortAllocator();
  const rtp = await ports.takeRange(100);
  const password = randomBytes(16).toString('hex');
  const asterisk = await AsteriskServer.start({
    runtime: found.runtime,
    ports: { sip: await ports.take(), http: await ports.take(), ami: await ports.take(), rtpStart: rtp[0], rtpEnd: rtp[rtp.length - 1] },
    ariPassword: password,
    amiPassword: randomBytes(16).toString('hex'),
    agentPhones: [
      { endpoint: '1001', port: await ports.take() },
      { endpoint: '1002', port: await ports.take() },
    ],
    trunkPort: await ports.take(),
  });
  const rig: Rig = {
    asterisk,
    ari: new RawAri(asterisk.ariUrl, 'direct-callback', password),
    ports,
    runtime: found.runtime,
    password,
    callers: [],
  };
  let failed = false;
  try {
    const info = await asterisk.ari<{ system?: { version?: string } }>('GET', '/asterisk/info');
    const version = info.body.system?.version ?? '?';
    for (const story of stories) {
      const trace = new Trace(story.name);
      trace.note(
        `recorded by npm run record-traces on Asterisk ${version} (the lab's, from asterisk-config/), raw ARI HTTP + app WebSocket`,
      );
      rig.ari.trace = trace;
      await story.run(rig, trace);
      for (const c of rig.callers.splice(0)) {
        const code = await c.finished(10_000);
        if (code === undefined) await c.stop();
        trace.note('sipp caller exited', { code: code ?? null });
      }
      trace.note('scenario done');
      rig.ari.trace = undefined;
      process.stdout.write(`${trace.write(o.out)} (${trace.lines.length} lines)\n`);
    }
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    for (const c of rig.callers) await c.stop();
    await asterisk.stop({ keep: o.keep || failed });
    if (o.keep || failed) process.stdout.write(`Asterisk's folder kept: ${asterisk.dir}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`record-traces: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
