import { AgentState, DeviceState, isAgentAvailable, WorkItem } from '../domain';

/**
 * The supervisors' wallboard's live half: per queue, what waits and who serves it; per agent, the
 * state and how long it has held it. Built from the engine's memory (the queues' order, the open
 * callbacks, the agents), never from the database, so that one snapshot a second costs the same
 * whatever the number of viewers. The day's figures come from the day report (http/wall-feed.ts).
 * Pure: the caller passes the clock's time.
 */

/** One agent's state as a supervisor names it; the first that applies, in this order. */
export type WallAgentState = 'logged_out' | 'paused' | 'on_call' | 'wrap_up' | 'free' | 'unavailable';

/** How a waiting item stands: a live caller waits; a callback is due, being dialled, or scheduled later. */
export type WallItemStatus = 'waiting' | 'due' | 'dialling' | 'scheduled';

export interface WallItem {
  kind: 'caller' | 'callback';
  /** Higher is served first (routes.<id>.priority); 0 by default. */
  priority: number;
  /** Seconds since the caller arrived, or since the callback was requested. */
  waitedSec: number;
  status: WallItemStatus;
  /** Seconds until a scheduled callback may be dialled. */
  dueInSec?: number;
}

export interface WallAgentCounts {
  /** Logged in and not paused (as the queue's own figures count it). */
  staffed: number;
  free: number;
  onCall: number;
  wrapUp: number;
  paused: number;
}

export interface WallQueue {
  id: string;
  name: string;
  callersWaiting: number;
  /** Callbacks owed that may be dialled now, or are being dialled. */
  callbacksDueNow: number;
  /** Callbacks owed whose time (schedule or retry gap) has not come yet. */
  callbacksScheduled: number;
  /** The longest a live caller waiting now has waited; null when none waits. */
  oldestWaitSec: number | null;
  /** The longest a callback due now has been owed; null when none is. */
  oldestOwedSec: number | null;
  /** What a caller arriving now would be told. */
  estimatedWaitSec: number;
  agents: WallAgentCounts;
  /** The first items in service order (priority, then arrival), at most WALL_ITEMS_PER_QUEUE. */
  items: WallItem[];
  /** Every item in the queue, shown or not. */
  itemsTotal: number;
}

export interface WallAgent {
  id: string;
  name: string;
  queues: string[];
  state: WallAgentState;
  /** Seconds in the state. */
  inStateSec: number;
  /** False when the state began before anyone watched: the time is then at least inStateSec. */
  inStateKnown: boolean;
}

export interface WallSnapshot {
  /** The engine's time of the snapshot, ISO 8601. */
  at: string;
  queues: WallQueue[];
  agents: WallAgent[];
}

/** A wall shows the head of a queue; the count says how many more wait. */
export const WALL_ITEMS_PER_QUEUE = 12;

/** An open callback as the snapshot needs it. */
export interface WallCallbackInfo {
  requestedAt: number;
  /** Not dialled before this epoch ms (schedule, retry gap, another instance's lease). */
  notBefore?: number;
  dialling: boolean;
}

export interface WallQueueInput {
  id: string;
  name: string;
  /** In service order. */
  items: readonly WorkItem[];
  estimatedWaitSec: number;
  /** A configured queue is always shown; an agent's owed-callback queue only while it holds some. */
  configured: boolean;
}

export interface WallInput {
  now: number;
  queues: readonly WallQueueInput[];
  callback(id: string): WallCallbackInfo | undefined;
  agents: readonly AgentState[];
}

const ON_A_CALL: ReadonlySet<DeviceState> = new Set(['INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD']);

export function wallAgentState(a: AgentState, now: number): WallAgentState {
  if (!a.loggedIn) return 'logged_out';
  if (a.paused) return 'paused';
  if (a.onPluginCall || ON_A_CALL.has(a.deviceState)) return 'on_call';
  if (now < a.wrapUpUntil) return 'wrap_up';
  return isAgentAvailable(a, now) ? 'free' : 'unavailable';
}

/**
 * How long each agent has been in its state. The engine keeps no such time, so it is observed:
 * each snapshot compares with the previous one. After a pause in observing (nobody watched) the
 * states seen first are marked unknown-since, as a change may have gone unseen.
 */
export class AgentStateClock {
  private readonly seen = new Map<string, { state: WallAgentState; since: number; known: boolean }>();
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly staleAfterMs = 5000) {}

  observe(states: ReadonlyMap<string, WallAgentState>, now: number): Map<string, { sinceMs: number; known: boolean }> {
    if (now - this.lastAt > this.staleAfterMs) this.seen.clear();
    this.lastAt = now;
    const out = new Map<string, { sinceMs: number; known: boolean }>();
    for (const [id, state] of states) {
      const prev = this.seen.get(id);
      const next = prev?.state === state ? prev : { state, since: now, known: prev !== undefined };
      this.seen.set(id, next);
      out.set(id, { sinceMs: next.since, known: next.known });
    }
    for (const id of this.seen.keys()) if (!states.has(id)) this.seen.delete(id);
    return out;
  }
}

const secondsSince = (now: number, at: number): number => Math.max(0, Math.floor((now - at) / 1000));

export function buildWallSnapshot(input: WallInput, clock: AgentStateClock): WallSnapshot {
  const { now } = input;
  const states = new Map(input.agents.map((a) => [a.id, wallAgentState(a, now)] as const));
  const since = clock.observe(states, now);

  const queues: WallQueue[] = [];
  for (const q of input.queues) {
    if (!q.configured && q.items.length === 0) continue;
    const items: WallItem[] = [];
    let callersWaiting = 0;
    let dueNow = 0;
    let scheduled = 0;
    let oldestCaller: number | undefined;
    let oldestOwed: number | undefined;
    for (const item of q.items) {
      let shown: WallItem;
      if (item.kind === 'caller') {
        callersWaiting += 1;
        oldestCaller = Math.min(oldestCaller ?? item.arrivedAt, item.arrivedAt);
        shown = { kind: 'caller', priority: item.priority, waitedSec: secondsSince(now, item.arrivedAt), status: 'waiting' };
      } else {
        const cb = input.callback(item.id);
        const requestedAt = cb?.requestedAt ?? item.arrivedAt;
        const later = !cb?.dialling && cb?.notBefore !== undefined && cb.notBefore > now;
        if (later) scheduled += 1;
        else {
          dueNow += 1;
          oldestOwed = Math.min(oldestOwed ?? requestedAt, requestedAt);
        }
        shown = {
          kind: 'callback',
          priority: item.priority,
          waitedSec: secondsSince(now, requestedAt),
          status: cb?.dialling ? 'dialling' : later ? 'scheduled' : 'due',
          ...(later && cb?.notBefore !== undefined ? { dueInSec: Math.ceil((cb.notBefore - now) / 1000) } : {}),
        };
      }
      if (items.length < WALL_ITEMS_PER_QUEUE) items.push(shown);
    }
    const members = input.agents.filter((a) => a.queues.some((m) => m.queueId === q.id));
    const count = (s: WallAgentState) => members.filter((a) => states.get(a.id) === s).length;
    queues.push({
      id: q.id,
      name: q.name,
      callersWaiting,
      callbacksDueNow: dueNow,
      callbacksScheduled: scheduled,
      oldestWaitSec: oldestCaller === undefined ? null : secondsSince(now, oldestCaller),
      oldestOwedSec: oldestOwed === undefined ? null : secondsSince(now, oldestOwed),
      estimatedWaitSec: q.estimatedWaitSec,
      agents: {
        staffed: members.filter((a) => a.loggedIn && !a.paused).length,
        free: count('free'),
        onCall: count('on_call'),
        wrapUp: count('wrap_up'),
        paused: count('paused'),
      },
      items,
      itemsTotal: q.items.length,
    });
  }

  const agents: WallAgent[] = input.agents.map((a) => {
    const s = since.get(a.id) ?? { sinceMs: now, known: false };
    return {
      id: a.id,
      name: a.name,
      queues: a.queues.map((m) => m.queueId),
      state: states.get(a.id) ?? 'unavailable',
      inStateSec: secondsSince(now, s.sinceMs),
      inStateKnown: s.known,
    };
  });
  return { at: new Date(now).toISOString(), queues, agents };
}
