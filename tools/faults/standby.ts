import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { storyConfig } from '../support/story-config';
import { PROMPTS } from '../../src/calls/prompts';
import { AriSimulator, OutboundLeg, SimCall } from '../simulator/ari-simulator';
import { CallbackStore } from '../../src/store/callback-store';
import { createDatabase } from '../../src/store/database';
import { createScratchDatabase, PostgresServer } from '../support/postgres-server';
import { PluginProcess } from '../support/plugin-process';
import { CallRobot } from './robot';

/**
 * Hot standby under kill -9 (`npm run faults -- --standby`): two plugin processes of one standby
 * group serve one Asterisk (the simulator); the leader is killed again and again while callers
 * wait in a queue with an offer prompt playing, and, every other time, while a callback's preview
 * or conversation is in progress. Each time the standby takes over, and a new standby is started.
 *
 * Measured per kill: the takeover time, from the kill to the new leader's first ARI request about
 * an adopted caller. Counted over the run: callers lost (hung up or never served), places lost
 * (a caller's stored place changed, or callers served out of their order), false confirmations,
 * and double dials (a customer dialled twice in one attempt, or again after answering).
 */
export interface StandbyReport {
  kills: number;
  takeover_p50_ms: number;
  takeover_max_ms: number;
  /**
   * Kills in a preview or a talk: from the kill to the callback stored completed (the new
   * leader adopts the talk, or releases the dead process's claim and calls again).
   */
  callback_finished_p50_ms: number;
  callback_finished_max_ms: number;
  callers_lost: number;
  places_lost: number;
  false_confirmations: number;
  double_dials: number;
  notes: string[];
}

const PASSWORD = 'standby-faults-pa55';
const SUPPORT_AGENT = 'PJSIP/1002';
const SALES_AGENT = 'PJSIP/1001';

function standbyConfig(): Record<string, unknown> {
  const base = storyConfig({
    logLevel: 'info',
    agents: [
      ['a1001', 'Ann', SALES_AGENT],
      ['a1002', 'Bob', SUPPORT_AGENT],
    ],
    queue: { offer: { initialDelaySec: 0.2, intervalSec: 1, thresholdPosition: 0 }, maxAttempts: 5 },
    callback: {
      agentRingTimeoutSec: 4,
      customerRingTimeoutSec: 4,
      declineWindowSec: 0,
      previewDecisionSec: 4,
      leaseSec: 20,
      syncIntervalSec: 5,
    },
  });
  const [support] = base.queues as Record<string, unknown>[];
  const agents = (base.agents as Record<string, unknown>[]).map((a) => ({
    ...a,
    queues: [{ id: a.id === 'a1001' ? 'sales' : 'support' }],
  }));
  return { ...base, queues: [support, { ...support, id: 'sales' }], agents };
}

/** How long the new leader has to finish a callback the kill interrupted. */
const FINISH_WITHIN_MS = 40000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** The first leg to `endpoint` created after the simulator had `marker` legs. */
async function newLegOf(sim: AriSimulator, endpoint: string, marker: number, timeoutMs: number): Promise<OutboundLeg> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leg = sim.legs.slice(marker).find((l) => l.endpointName === endpoint);
    if (leg) return leg;
    if (Date.now() > deadline) throw new Error(`no new leg to ${endpoint} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** When (wall clock) the first request after index `since` naming one of `ids` reached the simulator. */
function firstRequestAbout(sim: AriSimulator, ids: string[], since: number, timeoutMs: number): Promise<number | undefined> {
  const about = (path: string) => ids.some((id) => path.includes(id));
  if (sim.requests.slice(since).some((r) => about(r.path))) return Promise.resolve(Date.now());
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(undefined);
    }, timeoutMs);
    const off = sim.onRequest((r) => {
      if (!about(r.path)) return;
      clearTimeout(timer);
      off();
      resolve(Date.now());
    });
  });
}

export async function runStandbyFaults(opts: {
  server: PostgresServer;
  kills?: number;
  log?: (line: string) => void;
}): Promise<StandbyReport> {
  const kills = opts.kills ?? 10;
  const log = opts.log ?? (() => undefined);
  const notes: string[] = [];
  // Long prompts: a kill lands while one plays.
  const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 2500, perDigitMs: 10 } });
  const scratch = await createScratchDatabase(opts.server, 'adc_standby');
  const db: Knex = createDatabase(scratch.url, { poolMax: 2 });
  const config = standbyConfig();
  const children: PluginProcess[] = [];
  let instance = 0;
  const startProcess = (): PluginProcess => {
    instance += 1;
    const child = PluginProcess.start({
      config,
      milestones: true,
      env: { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: `standby-${instance}`, LOG_LEVEL: 'info' },
    });
    children.push(child);
    return child;
  };
  const customers = Array.from({ length: kills }, (_, i) => `+1555880${String(1000 + i)}`);
  const robot = new CallRobot(sim, {
    agentEndpoints: [SALES_AGENT],
    customerEndpoints: customers.map((n) => `PJSIP/${n.slice(1)}@trunk`),
    talkMs: 3000,
  });
  const waiting: SimCall[] = [];
  const takeovers: number[] = [];
  /** From the kill to the callback stored completed, for the kills in a preview or a talk. */
  const finishes: number[] = [];
  try {
    sim.endpoint(SUPPORT_AGENT).setDeviceState('INUSE');
    sim.endpoint(SALES_AGENT).setDeviceState('INUSE');
    let leader = startProcess();
    await leader.ready(30000);
    let standby = startProcess();
    await sleep(500); // the standby is blocked on the lock
    robot.start();
    const store = new CallbackStore(db);
    for (let k = 0; k < kills; k++) {
      // One more caller waits in support; the newest hears the offer when the leader dies.
      const caller = sim.call({ from: `+1555770${String(1000 + k)}`, to: 'queue:support' });
      waiting.push(caller);
      await caller.entered();
      await caller.waitFor('mohOn', 5000);
      const inPreview = k % 2 === 1;
      const callbackId = randomUUID();
      if (inPreview) {
        // A callback in sales, and its agent free: the kill lands in the preview or the talk.
        await store.requestCallback({
          id: callbackId,
          queueId: 'sales',
          customerNumber: customers[k],
          language: 'en',
          priority: 0,
          arrivedAt: new Date(),
          maxAttempts: 5,
        });
        const marker = sim.legs.length;
        sim.endpoint(SALES_AGENT).setDeviceState(null);
        const leg = await newLegOf(sim, SALES_AGENT, marker, 15000);
        if (k % 4 === 1) await leg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 8000);
        else await leg.waitFor('inBridge', 15000);
      } else {
        await caller.waitForPlayback((m) => m === PROMPTS.offer, 8000);
      }
      const killedAt = Date.now();
      const seen = sim.requests.length;
      // The first request of the new leader about one of the callers it adopts, timed when it
      // arrives (watched from the kill on: the standby may send it before it reports ready).
      const ids = waiting.filter((c) => c.alive).map((c) => c.id);
      leader.kill();
      const first = firstRequestAbout(sim, ids, seen, 45000);
      await leader.exited;
      await standby.ready(30000);
      const firstAt = await first;
      if (firstAt === undefined) notes.push(`kill ${k + 1}: no request for an adopted caller seen`);
      else takeovers.push(firstAt - killedAt);
      log(
        `kill ${k + 1}/${kills}${inPreview ? (k % 4 === 1 ? ' (in preview)' : ' (talking)') : ' (offer playing)'}: takeover ${firstAt !== undefined ? firstAt - killedAt : '?'} ms`,
      );
      if (inPreview) {
        // The new leader finishes this callback (adopting the talk, or calling again) before the next round.
        const until = Date.now() + FINISH_WITHIN_MS;
        while (Date.now() < until && ['pending', 'in_progress'].includes(((await store.get(callbackId))?.status as string) ?? ''))
          await sleep(200);
        const status = (await store.get(callbackId))?.status;
        if (status === 'completed') finishes.push(Date.now() - killedAt);
        else {
          // What the new leader did with it, for whoever reads the failure.
          const attempts = await db('callback_attempts').where({ callback_id: callbackId }).orderBy('id');
          const about = standby.lines.filter((l) => JSON.stringify(l).includes(callbackId)).slice(-15);
          notes.push(
            `kill ${k + 1}: the callback ended ${status} ${Date.now() - killedAt} ms after the kill; attempts ${JSON.stringify(attempts)}; the new leader's lines about it: ${about.map((l) => JSON.stringify(l)).join(' | ')}`,
          );
        }
      }
      sim.endpoint(SALES_AGENT).setDeviceState('INUSE');
      leader = standby;
      standby = startProcess();
      await sleep(300);
    }
    // The end: everybody is served; the support callers in their order.
    const entries = (await db('queue_entries')
      .whereNull('closed_at')
      .orderBy([{ column: 'arrived_at' }, { column: 'seq' }])) as { id: string; channel_id: string; arrived_at: Date; seq: string }[];
    const served: string[] = [];
    sim.endpoint(SUPPORT_AGENT).manual();
    sim.endpoint(SUPPORT_AGENT).setDeviceState(null);
    sim.endpoint(SALES_AGENT).setDeviceState(null);
    const toServe = waiting.filter((c) => c.alive).length;
    for (let i = 0; i < toServe; i++) {
      const leg = await sim
        .endpoint(SUPPORT_AGENT)
        .nextLeg(15000)
        .catch(() => undefined);
      if (!leg) break;
      served.push(leg.displayedCaller.number);
      leg.answer();
      await leg.waitFor('inBridge', 8000).catch(() => undefined);
      leg.hangup();
      await sleep(50);
    }
    const deadline = Date.now() + 60000;
    for (;;) {
      const open = (await db('callback_requests').whereIn('status', ['pending', 'in_progress']).count<{ n: string }[]>({ n: '*' }))[0];
      if (Number(open?.n ?? 0) === 0 || Date.now() > deadline) break;
      await sleep(300);
    }
    // ---- counts
    const arrival = waiting.map((c) => c.channel.caller.number);
    const stillWaiting = entries
      .map((e) => waiting.find((c) => c.id === e.channel_id)?.channel.caller.number)
      .filter((n): n is string => n !== undefined);
    let placesLost = 0;
    // Entries must still be the callers' original ones, in arrival order, and served in it.
    if (JSON.stringify(stillWaiting) !== JSON.stringify(arrival.filter((n) => stillWaiting.includes(n)))) placesLost += 1;
    served.forEach((n, i) => {
      if (arrival[i] !== n) placesLost += 1;
    });
    const firstEntries = await db('queue_entries')
      .select('channel_id')
      .count<{ channel_id: string; n: string }[]>({ n: '*' })
      .groupBy('channel_id');
    placesLost += firstEntries.filter((e) => Number(e.n) !== 1).length; // a caller's place re-created, not found again
    const callersLost =
      waiting.filter((c) => c.hungUpBy === 'app' && !served.includes(c.channel.caller.number)).length + (arrival.length - served.length);
    if (served.length !== arrival.length) notes.push(`served ${served.length} of ${arrival.length} waiting callers: ${served.join(',')}`);
    const rows = await db('callback_requests').select<{ customer_number: string; status: string }[]>('customer_number', 'status');
    let falseConfirmations = 0;
    for (const c of sim.calls)
      if (
        c.playbacks.some((p) => p.media.includes(PROMPTS.confirm) && p.startedAt !== null) &&
        !rows.some((r) => r.customer_number === c.channel.caller.number)
      )
        falseConfirmations += 1;
    const attempts = (await db('callback_attempts')
      .select('callback_id', 'customer_channel_id', 'customer_dialed_at', 'customer_answered_at', 'bridged_at')
      .orderBy('id')) as {
      callback_id: string;
      customer_channel_id: string | null;
      customer_dialed_at: Date | null;
      customer_answered_at: Date | null;
      bridged_at: Date | null;
    }[];
    let doubleDials = 0;
    const dials = new Map<string, number>();
    for (const r of sim.requests) {
      const m = /^\/ari\/channels\/([^/]+)\/dial$/.exec(r.path);
      if (r.method === 'POST' && m?.[1]) dials.set(m[1], (dials.get(m[1]) ?? 0) + 1);
    }
    for (const n of dials.values()) if (n > 1) doubleDials += n - 1;
    for (const leg of sim.legs.filter((l) => l.endpointName.endsWith('@trunk'))) {
      if (!attempts.some((a) => a.customer_channel_id === leg.id)) doubleDials += 1;
    }
    for (const id of new Set(attempts.map((a) => a.callback_id))) {
      const mine = attempts.filter((a) => a.callback_id === id);
      // No dial after a stored conversation (customer and agent bridged).
      const talked = mine.findIndex((a) => a.bridged_at !== null);
      if (talked >= 0) doubleDials += mine.slice(talked + 1).filter((a) => a.customer_dialed_at !== null).length;
    }
    const stuck = rows.filter((r) => r.status === 'pending' || r.status === 'in_progress').length;
    if (stuck) notes.push(`${stuck} callback(s) still open at the end`);
    return {
      kills: takeovers.length,
      takeover_p50_ms: pct(takeovers, 50),
      takeover_max_ms: Math.max(...takeovers),
      callback_finished_p50_ms: pct(finishes, 50),
      callback_finished_max_ms: finishes.length > 0 ? Math.max(...finishes) : NaN,
      callers_lost: callersLost,
      places_lost: placesLost,
      false_confirmations: falseConfirmations,
      double_dials: doubleDials,
      notes,
    };
  } catch (e) {
    for (const c of children) log(`--- plugin child log (last lines):\n${c.tail(20)}`);
    throw e;
  } finally {
    robot.stop();
    for (const c of children) await c.stop().catch(() => undefined);
    await sim.stop();
    await db.destroy();
    await scratch.drop().catch(() => undefined);
  }
}
