import { Lab } from '../asterisk-lab/lab';
import { channelOf, ObservedEvent } from '../asterisk-lab/observer';
import { PluginProcess } from '../support/plugin-process';
import { AsteriskRuntime } from '../asterisk-lab/runtime';
import { CallerScript, PhoneScript, SippProcess, SippStep } from '../asterisk-lab/sipp';
import { PROMPTS } from '../../src/calls/prompts';
import { storyConfig } from '../support/story-config';
import { CrashPoint, isCrashPoint } from '../../src/config/crash-points';
import { PostgresServer } from '../support/postgres-server';
import { countInvariants } from './invariants';
import { ALL_CRASH_POINTS, RunResult } from './scenarios';

/**
 * The fault runs on a real Asterisk (`npm run faults -- --asterisk`): what tools/faults/scenarios.ts
 * does on the simulator, with SIPp people and the plugin as `npm start` runs it. Every point gets
 * a fresh lab (tools/asterisk-lab); the plugin is killed with -9 (at a crash point, or from outside
 * at a moment seen on Asterisk's own events), started again on the same database and Asterisk,
 * and the story goes on until every callback is settled and every channel is gone, or a bound.
 *
 * The people: a caller presses 1 whenever the offer plays (and keeps pressing until hung up);
 * agent 1001's desk phone answers, presses 1 during the whisper and stays until the plugin hangs
 * up; the customer answers, presses 1 at the guard prompt, talks and hangs up.
 *
 * Counted: the four invariants (tools/faults/invariants.ts) from Asterisk's events (the observer)
 * and the database. Checked per point, from the restarted plugin's debug log of every ARI request
 * (src/ari/ari-client-adapter.ts): an adopted `Up` caller is never answered again, no request
 * about an adopted channel waits behind the previous process's prompt, an adopted caller is hung
 * up only after its confirmation or its agent's hang-up, and its holding bridge is reused.
 */
export const EXTERNAL_KILLS = ['kill.prompt_to_held_caller', 'kill.agent_in_preview', 'kill.pair_bridged'] as const;
export type ExternalKill = (typeof EXTERNAL_KILLS)[number];
export const ASTERISK_RESTART = 'asterisk.restarted';
export type AsteriskFaultPoint = CrashPoint | ExternalKill | typeof ASTERISK_RESTART;
export const ALL_ASTERISK_POINTS: AsteriskFaultPoint[] = [...ALL_CRASH_POINTS, ...EXTERNAL_KILLS, ASTERISK_RESTART];

/** The sample dialplan's queue number (asterisk-config/extensions.conf). */
const SUPPORT_DID = '5552000';
const AGENT = '1001';
const CALLER = '+15550001001';
/** A request about an adopted channel that takes this long has waited for something (a playback). */
export const SLOW_REQUEST_MS = 2500;
/**
 * How long the customer talks after the guard's 1. Where the kill falls on the talk (the pair
 * answered or bridged) it outlasts a restart of the plugin, even on a loaded machine, so the
 * restarted process finds the pair still talking; elsewhere a short talk keeps the run short.
 */
const TALK_OVER_RESTART_MS = 10_000;
const SHORT_TALK_MS = 2_000;
const KILLED_WHILE_TALKING: readonly AsteriskFaultPoint[] = ['preview.after_customer_answer', 'preview.after_bridge', 'kill.pair_bridged'];

/**
 * Timings: offers start 1 s after entry (the offer prompt is 7.7 s long); rings and the agent's
 * decision are bounded generously; a failed attempt is retried at once (the retry gap would only
 * make the run longer); claims of the killed process are released by the restarted one at once
 * (plugin.ts), so the lease length does not pace the run.
 */
export function asteriskFaultsConfig(): Record<string, unknown> {
  return storyConfig({
    agents: [],
    queue: { offer: { initialDelaySec: 1, intervalSec: 20, thresholdPosition: 0 }, maxAttempts: 5, retryMinGapSec: 0 },
    callback: {
      agentRingTimeoutSec: 10,
      customerRingTimeoutSec: 10,
      previewDecisionSec: 20,
      declineWindowSec: 1,
      leaseSec: 30,
      syncIntervalSec: 1,
    },
  });
}

/** A caller who presses 1 at `firstPressMs` and then every 3.5 s until the plugin hangs up. */
export function callerPressingOne(from: string, firstPressMs: number, presses = 12): CallerScript {
  const steps: SippStep[] = [{ wait: firstPressMs }, { dtmf: '1' }];
  for (let i = 1; i < presses; i++) steps.push({ wait: 3500 }, { dtmf: '1' });
  steps.push({ waitForBye: 60_000 });
  return { from, steps };
}

/** An agent who answers, presses 1 during the whisper and stays on until the plugin hangs up. */
export const AGENT_ACCEPTING: Omit<PhoneScript, 'user'> = {
  answer: { answerAfterMs: 600 },
  steps: [{ wait: 2500 }, { dtmf: '1' }, { waitForBye: 120_000 }],
};
/** A customer who answers, presses 1 at the guard prompt, talks `talkMs` and hangs up. */
export function customerTalking(talkMs: number): Omit<PhoneScript, 'user'> {
  return { answer: { answerAfterMs: 800 }, steps: [{ wait: 2000 }, { dtmf: '1' }, { wait: talkMs }, { hangup: true }] };
}
/** A customer whose talk outlasts a restart of the plugin. */
export const CUSTOMER_TALKING = customerTalking(TALK_OVER_RESTART_MS);

export const isAgentLeg = (id: string | undefined): boolean => id?.startsWith('cb-agent-') === true;
export const isCustomerLeg = (id: string | undefined): boolean => id?.startsWith('cb-customer-') === true;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The promise's value if it settles within `ms`, else undefined. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the plugin's ARI requests, from its debug log ---------------------------------------------

export interface AriRequestSeen {
  /** When the request was sent (epoch ms). */
  at: number;
  op: string;
  target: string;
  result: string;
  ms: number;
}

/** Every ARI request a plugin process logged (`ari request`, LOG_LEVEL debug). */
export function ariRequestsOf(plugin: Pick<PluginProcess, 'lines'>): AriRequestSeen[] {
  const out: AriRequestSeen[] = [];
  for (const l of plugin.lines) {
    if (l.message !== 'ari request') continue;
    const ms = typeof l.ms === 'number' ? l.ms : 0;
    const end = typeof l.timestamp === 'string' ? Date.parse(l.timestamp) : NaN;
    out.push({ at: end - ms, op: String(l.op), target: typeof l.target === 'string' ? l.target : '', result: String(l.result), ms });
  }
  return out;
}

/** A request is about a channel when its target names it (the channel, its playbacks, its own bridge). */
export const isAbout = (r: AriRequestSeen, channelId: string): boolean =>
  r.target.split(/[ ,]/).some((t) => t === channelId || t === `quiet-${channelId}` || t.startsWith(`${channelId}-pb`));

/** A queue's holding bridge, shared by its callers (src/calls/channel-ids.ts, holdingBridgeIdOf). */
const isSharedHoldingBridge = (id: string | undefined): boolean => id?.startsWith('hold.') === true;

// ---- re-adoption checks --------------------------------------------------------------------------

export interface AdoptionChecks {
  /** Callers adopted back into their queue. */
  adopted: string[];
  /** Callers whose request was stored already: confirmed again and hung up. */
  confirmed_again: string[];
  /** Agent/customer (or caller/agent) pairs kept connected. */
  adopted_pairs: number;
  /** `answer` sent for an adopted channel (must be 0: it is Up, and Asterisk holds it behind a playback). */
  answers: number;
  /** Requests about adopted channels that took longer than SLOW_REQUEST_MS. */
  slow_requests: string[];
  max_request_ms: number;
  /** An adopted caller hung up by the plugin without its confirmation or its agent's hang-up first. */
  unjustified_hangups: string[];
  /**
   * Adopted callers whose holding bridge was reused: kept in it as they were (the plugin saw them
   * in it), or, when they were not in it yet, the bridge found (409) and the caller added.
   */
  holding_bridges_reused: number;
  /**
   * Adopted callers Asterisk took out of their holding bridge and put back (ChannelLeftBridge,
   * then ChannelEnteredBridge, after the restart): a break in their music. Must be empty.
   */
  holding_bridge_reentered: string[];
  /** The previous process's prompts stopped on adopted channels (a stop Asterisk accepted). */
  old_prompts_stopped: number;
  /** From the restart to the first request about an adopted channel. */
  first_request_ms: number | undefined;
}

/**
 * What the restarted (or newly leading) plugin did with the channels it found: from its log of
 * ARI requests and Asterisk's events after `since`.
 */
export function adoptionChecks(plugin: Pick<PluginProcess, 'lines'>, events: readonly ObservedEvent[], since: number): AdoptionChecks {
  const ids = (message: string): string[] =>
    plugin.lines.filter((l) => l.message === message && typeof l.channelId === 'string').map((l) => l.channelId as string);
  const adopted = ids('reconcile: adopting a caller left in Stasis into its queue again');
  const confirmedAgain = ids('reconcile: caller already has a stored callback; confirming again and hanging up');
  const pairs = plugin.lines.filter((l) => l.message === 'reconcile: two answered legs without a session; keeping them connected');
  const pairChannels = pairs.flatMap((l) =>
    Array.isArray(l.channels) ? l.channels.filter((c): c is string => typeof c === 'string') : [],
  );
  const requests = ariRequestsOf(plugin);
  const all = [...adopted, ...confirmedAgain, ...pairChannels];
  const about = requests.filter((r) => all.some((c) => isAbout(r, c)));
  const slow = about.filter((r) => r.ms > SLOW_REQUEST_MS);
  const callers = [...adopted, ...confirmedAgain];
  const unjustified: string[] = [];
  for (const h of requests.filter((r) => r.op === 'hangup' && callers.includes(r.target))) {
    const confirmed = events.some(
      (e) =>
        e.type === 'PlaybackStarted' &&
        channelOf(e) === h.target &&
        e.raw.playback?.media_uri === PROMPTS.confirm &&
        e.at >= since &&
        e.at <= h.at + 1000,
    );
    const agentLeft = plugin.lines.some(
      (l) => l.message === 'caller session ended' && l.callId === h.target && l.reason === 'agent_hung_up',
    );
    if (!confirmed && !agentLeft) unjustified.push(h.target);
  }
  const kept = (c: string): boolean =>
    plugin.lines.some((l) => l.message === 'adopted caller kept in its holding bridge' && l.callId === c);
  // Not in the shared bridge at the crash (typing, or not added yet): added to it (found, or made).
  const foundAndAdded = (c: string): boolean =>
    requests.some((r) => {
      const [bridge, ...channels] = r.target.split(/[ ,]/);
      return r.op === 'addToBridge' && isSharedHoldingBridge(bridge) && channels.includes(c) && r.result === 'ok';
    });
  const reused = adopted.filter((c) => kept(c) || foundAndAdded(c));
  const inHold =
    (type: string, c: string) =>
    (e: ObservedEvent): boolean =>
      e.type === type && e.at >= since && isSharedHoldingBridge(e.raw.bridge?.id) && channelOf(e) === c;
  const reentered = adopted.filter((c) => {
    const left = events.find(inHold('ChannelLeftBridge', c));
    return left !== undefined && events.some((e) => inHold('ChannelEnteredBridge', c)(e) && e.at >= left.at);
  });
  const stopped = requests.filter(
    (r) => r.op === 'stopPlayback' && r.result === 'ok' && all.some((c) => r.target.startsWith(`${c}-pb`)),
  ).length;
  const first = about.length > 0 ? Math.min(...about.map((r) => r.at)) - since : undefined;
  return {
    adopted,
    confirmed_again: confirmedAgain,
    adopted_pairs: pairs.length,
    answers: about.filter((r) => r.op === 'answer' && callers.some((c) => r.target === c)).length,
    slow_requests: slow.map((r) => `${r.op} ${r.target} ${r.ms} ms`),
    max_request_ms: about.reduce((m, r) => Math.max(m, r.ms), 0),
    unjustified_hangups: unjustified,
    holding_bridges_reused: reused.length,
    holding_bridge_reentered: reentered,
    old_prompts_stopped: stopped,
    first_request_ms: first,
  };
}

/** The re-adoption rules a run broke (empty: all kept). */
export function adoptionViolations(c: AdoptionChecks): string[] {
  const v: string[] = [];
  if (c.answers > 0) v.push(`${c.answers} answer request(s) for an adopted Up channel`);
  if (c.slow_requests.length > 0) v.push(`requests about adopted channels waited: ${c.slow_requests.join('; ')}`);
  if (c.unjustified_hangups.length > 0) v.push(`adopted callers hung up without a reason: ${c.unjustified_hangups.join(', ')}`);
  if (c.holding_bridges_reused < c.adopted.length)
    v.push(`holding bridge reused for ${c.holding_bridges_reused} of ${c.adopted.length} adopted callers`);
  if (c.holding_bridge_reentered.length > 0)
    v.push(`adopted callers taken out of their holding bridge and put back: ${c.holding_bridge_reentered.join(', ')}`);
  return v;
}

// ---- one run -------------------------------------------------------------------------------------

export interface AsteriskRunResult extends RunResult {
  /** The Asterisk version the run used (GET /asterisk/info). */
  asterisk: string;
  adoption: AdoptionChecks;
  /** Re-adoption rules broken (see adoptionViolations). */
  violations: string[];
}

export interface AsteriskRunOptions {
  runtime: AsteriskRuntime;
  server: PostgresServer;
  /** Bound for settling after the restart (default 120 s). */
  settleMs?: number;
  log?: (line: string) => void;
  /** Keep the lab's folder (also kept when the run throws, or with LAB_KEEP=1). */
  keep?: boolean;
}

type Kind = 'offer' | 'preview' | 'restart';

function kindOf(point: AsteriskFaultPoint): Kind {
  if (point === ASTERISK_RESTART) return 'restart';
  return point.startsWith('offer.') || point === 'kill.prompt_to_held_caller' ? 'offer' : 'preview';
}

/** Channel ids live on Asterisk now (GET /channels). */
async function liveChannels(lab: Lab): Promise<{ id: string; name: string; state: string }[]> {
  const r = await lab.asterisk.ari<{ id: string; name: string; state: string }[]>('GET', '/channels').catch(() => undefined);
  return r?.status === 200 && Array.isArray(r.body) ? r.body : [];
}

interface CallbackRowDb {
  id: string;
  customer_number: string;
  status: string;
  claimed_by: string | null;
}

async function callbackRows(lab: Lab): Promise<CallbackRowDb[]> {
  return lab.db('callback_requests').select<CallbackRowDb[]>('id', 'customer_number', 'status', 'claimed_by');
}

/** The version of the lab's Asterisk, as it says itself. */
export async function asteriskVersionOf(lab: Lab): Promise<string> {
  const r = await lab.asterisk.ari<{ system?: { version?: string } }>('GET', '/asterisk/info');
  return r.body.system?.version ?? 'unknown';
}

export async function login(lab: Lab, agentId: string): Promise<void> {
  const r = await lab.api('POST', `/agents/${agentId}/login`);
  if (r.status !== 200) throw new Error(`login of ${agentId}: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function bookThroughApi(lab: Lab, number: string): Promise<string> {
  const r = await lab.api<{ callback: { id: string } }>('POST', '/callbacks', { queueId: 'support', number });
  if (r.status !== 201) throw new Error(`POST /callbacks: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.callback.id;
}

/**
 * A channel entering the plugin's app as a queue caller. Seen through the dialplan step that runs
 * `Stasis(direct-callback,queue,...)`: the observer, although subscribed to everything, is never
 * sent the StasisStart of a channel entering another app (measured; tools/asterisk-lab/README.md).
 */
export const isQueueEntry = (e: ObservedEvent, number?: string): boolean =>
  e.type === 'ChannelDialplan' &&
  e.raw.dialplan_app === 'Stasis' &&
  typeof e.raw.dialplan_app_data === 'string' &&
  e.raw.dialplan_app_data.startsWith('direct-callback,queue,') &&
  (number === undefined || e.raw.channel?.caller?.number === number);

/** The first queue caller's channel from `number`. */
export async function callerChannel(lab: Lab, number: string, timeoutMs: number): Promise<string> {
  const e = await lab.observer.waitFor((x) => isQueueEntry(x, number), timeoutMs, `a queue call from ${number}`);
  return e.raw.channel?.id as string;
}

export async function startLab(opts: { runtime: AsteriskRuntime; server: PostgresServer }): Promise<Lab> {
  // Agent 1001 starts logged out: a waiting caller overflows (and is not put through to the
  // agent); the story logs the agent in when a callback is to be served.
  return Lab.start({
    runtime: opts.runtime,
    postgres: opts.server,
    agents: [{ id: AGENT, loggedIn: false }],
    pluginConfig: asteriskFaultsConfig(),
    http: true,
    startPlugin: false,
  });
}

export async function runAsteriskPoint(point: AsteriskFaultPoint, opts: AsteriskRunOptions): Promise<AsteriskRunResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  const lab = await startLab(opts);
  let failed = true;
  try {
    const asterisk = await asteriskVersionOf(lab);
    await lab.phone(AGENT).use(AGENT_ACCEPTING);
    await lab.customers.use(customerTalking(KILLED_WHILE_TALKING.includes(point) ? TALK_OVER_RESTART_MS : SHORT_TALK_MS));
    const kind = kindOf(point);
    const callers: SippProcess[] = [];
    let reached = false;
    let restartAt: number;
    let storedBefore: string[];
    let judged: PluginProcess;
    if (kind === 'restart') {
      const r = await restartAsteriskStory(lab, callers, notes);
      reached = r.reached;
      restartAt = r.restartAt;
      storedBefore = r.storedBefore;
      judged = r.plugin;
    } else {
      const first = await lab.startPlugin({ crashAt: isCrashPoint(point) ? point : undefined });
      if (kind === 'offer') {
        // Killed from outside while the offer plays: the caller presses 1 only after the restart.
        callers.push(await lab.call(SUPPORT_DID, callerPressingOne(CALLER, point === 'kill.prompt_to_held_caller' ? 9000 : 3000)));
        if (point === 'kill.prompt_to_held_caller') {
          const ch = await callerChannel(lab, CALLER, 20_000);
          await lab.observer.waitFor(
            (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer,
            20_000,
            'the offer playing',
          );
          await sleep(1000);
          first.kill();
        }
      } else {
        await bookThroughApi(lab, CALLER);
        await login(lab, AGENT).catch(async (e: unknown) => {
          // The login's own dispatch can reach an early crash point (the agent leg originated)
          // before its answer is written: the connection then dies with the process (measured:
          // `fetch failed`). That is the point reached, not a failed run.
          const exit = await within(first.exited, 5000);
          if (exit?.signal !== 'SIGKILL') throw e;
        });
        if (point === 'kill.agent_in_preview') {
          await lab.observer.waitFor(
            (e) => e.type === 'PlaybackStarted' && isAgentLeg(channelOf(e)) && e.raw.playback?.media_uri === PROMPTS.whisperIntro,
            30_000,
            'the whisper on the agent leg',
          );
          await sleep(300);
          first.kill();
        } else if (point === 'kill.pair_bridged') {
          await lab.observer.waitForCount(
            (e) =>
              e.type === 'ChannelEnteredBridge' &&
              e.raw.bridge?.bridge_type === 'mixing' &&
              (isAgentLeg(channelOf(e)) || isCustomerLeg(channelOf(e))),
            2,
            40_000,
            'agent and customer in a mixing bridge',
          );
          await sleep(300);
          first.kill();
        }
      }
      const exit = await within(first.exited, 60_000);
      reached = exit?.signal === 'SIGKILL';
      if (!reached) {
        notes.push(`kill point not reached (${JSON.stringify(exit ?? 'still running')})`);
        first.kill();
        await first.exited;
      }
      storedBefore = (await callbackRows(lab)).map((r) => r.id);
      restartAt = Date.now();
      // Started again at once, as a supervisor does, on the same database and Asterisk.
      judged = await lab.startPlugin();
    }
    await settle(lab, { deadline: Date.now() + (opts.settleMs ?? 120_000), loginWhenCallersGone: kind !== 'preview', callers });
    // Counts, from Asterisk's events and the database.
    const rows = await callbackRows(lab);
    const events = lab.observer.events;
    const callerNumberOf = new Map<string, string>();
    for (const e of events) if (isQueueEntry(e) && e.raw.channel) callerNumberOf.set(e.raw.channel.id, e.raw.channel.caller?.number ?? '');
    const confirmedChannels = new Set(
      events.filter((e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm).map((e) => channelOf(e) ?? ''),
    );
    const confirmedNumbers = [...confirmedChannels].filter((c) => callerNumberOf.has(c)).map((c) => callerNumberOf.get(c) as string);
    const attempts = (await lab
      .db('callback_attempts')
      .select('callback_id', 'customer_channel_id', 'customer_dialed_at', 'customer_answered_at', 'bridged_at')
      .orderBy('id')) as {
      callback_id: string;
      customer_channel_id: string | null;
      customer_dialed_at: Date | null;
      customer_answered_at: Date | null;
      bridged_at: Date | null;
    }[];
    const legs = events.filter((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id));
    const dials = new Map<string, Set<number>>();
    for (const e of events) {
      const peer = e.raw.peer?.id;
      if (e.type === 'Dial' && e.raw.dialstatus === '' && isCustomerLeg(peer))
        dials.set(peer as string, (dials.get(peer as string) ?? new Set()).add(e.at));
    }
    const completedAt = new Map<string, number>();
    for (const h of await lab
      .db('callback_events')
      .where({ type: 'completed' })
      .select<{ callback_id: string; at: Date }[]>('callback_id', 'at'))
      completedAt.set(h.callback_id, new Date(h.at).getTime());
    const counts = countInvariants({
      storedBeforeRestart: storedBefore,
      rows,
      confirmedNumbers,
      attempts,
      customerLegs: legs.map((e) => ({
        id: e.raw.channel?.id as string,
        createdAt: e.at,
        answered: events.some(
          (x) => x.type === 'ChannelStateChange' && x.raw.channel?.id === e.raw.channel?.id && x.raw.channel?.state === 'Up',
        ),
      })),
      dialsPerChannel: new Map([...dials].map(([k, v]) => [k, v.size])),
      completedAt,
      channelsLeft: (await liveChannels(lab)).map((c) => `${c.name}(${c.state})`),
    });
    notes.push(...counts.notes);
    const adoption = adoptionChecks(judged, events, restartAt);
    const violations = adoptionViolations(adoption);
    failed = counts.lost + counts.false_confirmations + counts.double_dials + counts.stuck + violations.length > 0 || !reached;
    return {
      point,
      crashed: reached,
      lost: counts.lost,
      false_confirmations: counts.false_confirmations,
      double_dials: counts.double_dials,
      stuck: counts.stuck,
      redials_after_answer: counts.redials_after_answer,
      callbacks: rows.length,
      ms: Date.now() - t0,
      notes: failed ? [...notes, `lab kept in ${lab.asterisk.dir}`] : notes,
      asterisk,
      adoption,
      violations,
    };
  } finally {
    await lab.stop({ keep: failed || opts.keep });
  }
}

/**
 * Waits until every stored callback is settled (completed or failed), every SIPp caller has
 * finished and no channel is left, or the deadline. Agent 1001 is logged in once no caller waits
 * (a waiting caller would be put through to the agent instead of becoming a callback).
 */
async function settle(lab: Lab, opts: { deadline: number; loginWhenCallersGone: boolean; callers: readonly SippProcess[] }): Promise<void> {
  let loggedIn = !opts.loginWhenCallersGone;
  for (;;) {
    const rows = await callbackRows(lab);
    const callersDone = opts.callers.every((c) => !c.running);
    const channels = await liveChannels(lab);
    if (!loggedIn && callersDone && rows.some((r) => r.status === 'pending')) {
      await login(lab, AGENT);
      loggedIn = true;
    }
    const settled =
      rows.length > 0 && rows.every((r) => r.status === 'completed' || r.status === 'failed') && callersDone && channels.length === 0;
    if (settled || Date.now() > opts.deadline) return;
    await sleep(500);
  }
}

/**
 * Asterisk restarted under the plugin: a callback stored before (its caller confirmed and gone)
 * and a caller held with the offer playing when Asterisk goes; the plugin must reconnect by
 * itself, take a new caller's request, and complete both callbacks.
 */
async function restartAsteriskStory(
  lab: Lab,
  callers: SippProcess[],
  notes: string[],
): Promise<{ reached: boolean; restartAt: number; storedBefore: string[]; plugin: PluginProcess }> {
  const plugin = await lab.startPlugin();
  const first = await lab.call(SUPPORT_DID, callerPressingOne(CALLER, 3000));
  callers.push(first);
  const firstCh = await callerChannel(lab, CALLER, 20_000);
  await lab.observer.waitFor(
    (e) => e.type === 'PlaybackStarted' && channelOf(e) === firstCh && e.raw.playback?.media_uri === PROMPTS.confirm,
    40_000,
    'the first caller confirmed',
  );
  await first.finished(40_000);
  // A second caller waits on hold, the offer playing, while Asterisk goes away under it.
  const heldNumber = '+15550001002';
  // Not among the callers the run waits for: Asterisk takes this call with it.
  const held = await lab.call(SUPPORT_DID, { from: heldNumber, steps: [{ waitForBye: 120_000 }] });
  const heldCh = await callerChannel(lab, heldNumber, 20_000);
  await lab.observer.waitFor(
    (e) => e.type === 'PlaybackStarted' && channelOf(e) === heldCh && e.raw.playback?.media_uri === PROMPTS.offer,
    20_000,
    'the offer to the held caller',
  );
  const storedBefore = (await callbackRows(lab)).map((r) => r.id);
  const restartAt = Date.now();
  await lab.asterisk.restart();
  // The plugin reconnects on its own: its app is registered again on the new Asterisk.
  const deadline = Date.now() + 60_000;
  let reconnected = false;
  while (Date.now() < deadline) {
    const r = await lab.asterisk.ari('GET', '/applications/direct-callback').catch(() => undefined);
    if (r?.status === 200) {
      reconnected = true;
      break;
    }
    await sleep(200);
  }
  if (!reconnected) notes.push('the plugin did not reconnect to the restarted Asterisk within 60 s');
  else notes.push(`reconnected ${Date.now() - restartAt} ms after the restart began`);
  if (!plugin.running) notes.push('the plugin process exited');
  await held.stop();
  // New calls are served: a third caller's request is stored and confirmed.
  callers.push(await lab.call(SUPPORT_DID, callerPressingOne('+15550001003', 3000)));
  return { reached: reconnected && plugin.running, restartAt, storedBefore, plugin };
}
