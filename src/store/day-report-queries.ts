import { Knex } from 'knex';
import { AGENTS_SQL, BOUNDS_SQL, CALLBACKS_SQL, CALLERS_SQL, CONVERSATIONS_SQL, LOAD_SQL, OFFERS_SQL } from './day-report-sql';

/**
 * The day report: how one day went, per queue and in total, per hour and per agent. Read by
 * GET /api/v1/reports/day and the wallboard's "day so far" and charts.
 */

export interface DayReportQuery {
  /** The day, YYYY-MM-DD, in timeZone. */
  date: string;
  /** One queue only; every queue when absent. */
  queueId?: string;
  /** IANA time zone the day and its hours are counted in (default: reports.timeZone, else UTC). */
  timeZone?: string;
  /** Service level threshold in seconds (default: reports.serviceLevelSec, else 60). */
  serviceLevelSec?: number;
  /** The engine's clock, epoch ms (default: Date.now()): what still waits is counted up to it. */
  now?: number;
}

export const DEFAULT_SERVICE_LEVEL_SEC = 60;

/** A query the report refuses (a malformed date, an unknown time zone); the message names the field. */
export class DayReportQueryError extends Error {
  constructor(
    readonly field: 'date' | 'timeZone' | 'serviceLevelSec',
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'DayReportQueryError';
  }
}

/** The day's counts for one queue, or for all of them. */
export interface DayFigures {
  /** Callers who entered the queue that day (a caller moved on by overflow counts in its first queue). */
  callersEntered: number;
  /** Live callers connected to an agent. */
  callsAnswered: number;
  /** Live callers who hung up while waiting, without booking a callback. */
  abandoned: number;
  /** Callback offers made to waiting callers. */
  offersMade: number;
  /** Offers the caller took: callbacks booked from the queue. */
  offersAccepted: number;
  /** Callbacks requested that day, however (booked by a caller, by the API, owed after a direct call). */
  callbacksRequested: number;
  /** Callbacks that ended in a conversation that day. */
  callbacksCompleted: number;
  /** Callbacks cancelled that day (by an administrator, the API). */
  callbacksCancelled: number;
  /** Callbacks that ended failed that day (attempts used up, number refused, expired), and why. */
  callbacksFailed: number;
  failedReasons: Record<string, number>;
  /**
   * Service level: of the callers who entered that day and whose fate is known (answered,
   * abandoned, or called back), the share answered or called back within serviceLevelSec of
   * arriving. null when there is no such caller.
   */
  serviceLevel: { withinSec: number; eligible: number; met: number; share: number | null };
}

/** One hour of the day (an hour of local time; a DST day has 23 or 25). */
export interface HourFigures {
  /** Start of the hour, ISO 8601 UTC. */
  start: string;
  /** The local clock at the start of the hour, HH:MM. */
  label: string;
  /** Callers waiting, on average over the hour (time-weighted; the running hour: so far). */
  callersWaiting: number;
  /** Callers waiting at the end of the hour (the running hour: now). */
  callersWaitingAtEnd: number;
  /** Callbacks owed (requested, not closed yet), on average over the hour. */
  callbacksOwed: number;
  /** Callbacks owed at the end of the hour (the running hour: now). */
  callbacksOwedAtEnd: number;
  /** Callback conversations that started in the hour. */
  conversations: number;
  /** Request to conversation for those callbacks, in seconds; null without any. */
  requestToConversationMedianSec: number | null;
  requestToConversationP90Sec: number | null;
}

export interface QueueDayReport extends DayFigures {
  queueId: string;
  hours: HourFigures[];
}

/** What one agent handled that day. */
export interface AgentDayFigures {
  agentId: string;
  /** Queue callers connected to the agent. */
  calls: number;
  /** Direct calls to the agent's personal number that the agent answered. */
  directCalls: number;
  /** Callback conversations the agent had. */
  callbacks: number;
}

export interface DayReport {
  date: string;
  timeZone: string;
  /** The day's bounds, ISO 8601 UTC, [from, to). */
  from: string;
  to: string;
  serviceLevelSec: number;
  /** Set when the report is of one queue. */
  queueId?: string;
  total: DayFigures;
  /** Every queue with activity that day (or the one asked for), by id. */
  queues: QueueDayReport[];
  hours: HourFigures[];
  agents: AgentDayFigures[];
  generatedAt: string;
}

/** Throws DayReportQueryError for a date that is not a calendar day or an unknown time zone. */
export function checkDayReportQuery(q: DayReportQuery): { timeZone: string; serviceLevelSec: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(q.date);
  const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!day || day.toISOString().slice(0, 10) !== q.date) throw new DayReportQueryError('date', 'a calendar day, YYYY-MM-DD');
  const timeZone = q.timeZone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new DayReportQueryError('timeZone', `unknown time zone '${timeZone}'`);
  }
  const serviceLevelSec = q.serviceLevelSec ?? DEFAULT_SERVICE_LEVEL_SEC;
  if (!Number.isFinite(serviceLevelSec) || serviceLevelSec <= 0) throw new DayReportQueryError('serviceLevelSec', 'a positive number');
  return { timeZone, serviceLevelSec };
}

interface CallerRow {
  queue_id: string;
  entered: number;
  answered: number;
  abandoned: number;
  booked: number;
  direct_offers: number;
  sl_eligible: number;
  sl_met: number;
}
interface CallbackRow {
  queue_id: string;
  kind: string;
  reason: string | null;
  n: number;
}
interface LoadRow {
  queue_id: string;
  kind: 'caller' | 'callback';
  h: number;
  secs: number;
  at_end: number;
}
interface ConversationRow {
  queue_id: string | null;
  h: number;
  n: number;
  p50: number | null;
  p90: number | null;
}

const HOUR_MS = 3600_000;

function emptyFigures(withinSec: number): DayFigures {
  return {
    callersEntered: 0,
    callsAnswered: 0,
    abandoned: 0,
    offersMade: 0,
    offersAccepted: 0,
    callbacksRequested: 0,
    callbacksCompleted: 0,
    callbacksCancelled: 0,
    callbacksFailed: 0,
    failedReasons: {},
    serviceLevel: { withinSec, eligible: 0, met: 0, share: null },
  };
}

function addInto(sum: DayFigures, f: DayFigures): void {
  sum.callersEntered += f.callersEntered;
  sum.callsAnswered += f.callsAnswered;
  sum.abandoned += f.abandoned;
  sum.offersMade += f.offersMade;
  sum.offersAccepted += f.offersAccepted;
  sum.callbacksRequested += f.callbacksRequested;
  sum.callbacksCompleted += f.callbacksCompleted;
  sum.callbacksCancelled += f.callbacksCancelled;
  sum.callbacksFailed += f.callbacksFailed;
  for (const [reason, n] of Object.entries(f.failedReasons)) sum.failedReasons[reason] = (sum.failedReasons[reason] ?? 0) + n;
  sum.serviceLevel.eligible += f.serviceLevel.eligible;
  sum.serviceLevel.met += f.serviceLevel.met;
}

function settleShare(f: DayFigures): void {
  const sl = f.serviceLevel;
  sl.share = sl.eligible > 0 ? sl.met / sl.eligible : null;
}

/** The day's hours: each 3600 s from local midnight, labelled with the local clock. */
function emptyHours(from: Date, count: number, timeZone: string): HourFigures[] {
  const clock = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return Array.from({ length: count }, (_, h) => {
    const start = new Date(from.getTime() + h * HOUR_MS);
    return {
      start: start.toISOString(),
      label: clock.format(start),
      callersWaiting: 0,
      callersWaitingAtEnd: 0,
      callbacksOwed: 0,
      callbacksOwedAtEnd: 0,
      conversations: 0,
      requestToConversationMedianSec: null,
      requestToConversationP90Sec: null,
    };
  });
}

export async function readDayReport(db: Knex, q: DayReportQuery): Promise<DayReport> {
  const { timeZone, serviceLevelSec } = checkDayReportQuery(q);
  const now = new Date(q.now ?? Date.now());
  const bounds = await db.raw<{ rows: { from: Date; to: Date }[] }>(BOUNDS_SQL, { date: q.date, tz: timeZone });
  const { from, to } = bounds.rows[0] ?? { from: new Date(NaN), to: new Date(NaN) };
  const hourCount = Math.round((to.getTime() - from.getTime()) / HOUR_MS);
  const b = { from, to, now, queue: q.queueId ?? null, sl: serviceLevelSec, hours: hourCount };
  // One read-only transaction: every figure from one snapshot, one pool connection at a time (a
  // report never holds several of the connections callers' bookings wait for), and no JIT: the
  // planner's row guesses for the hourly spans can cross its cost threshold, and compiling then
  // takes longer than the whole report.
  const rows = await db.transaction(
    async (tx) => {
      await tx.raw('SET LOCAL jit = off');
      const read = async <T>(sql: string): Promise<T[]> => (await tx.raw<{ rows: T[] }>(sql, b)).rows;
      return {
        callers: await read<CallerRow>(CALLERS_SQL),
        offers: await read<{ queue_id: string; offers: number }>(OFFERS_SQL),
        callbacks: await read<CallbackRow>(CALLBACKS_SQL),
        load: await read<LoadRow>(LOAD_SQL),
        conversations: await read<ConversationRow>(CONVERSATIONS_SQL),
        agentRows: await read<{ agent_id: string; kind: string; n: number }>(AGENTS_SQL),
      };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  const { callers, offers, callbacks, load, conversations, agentRows } = rows;

  const queues = new Map<string, QueueDayReport>();
  const queueOf = (id: string): QueueDayReport => {
    let r = queues.get(id);
    if (!r) queues.set(id, (r = { queueId: id, ...emptyFigures(serviceLevelSec), hours: emptyHours(from, hourCount, timeZone) }));
    return r;
  };
  if (q.queueId !== undefined) queueOf(q.queueId);
  for (const c of callers) {
    const r = queueOf(c.queue_id);
    r.callersEntered += c.entered;
    r.callsAnswered += c.answered;
    r.abandoned += c.abandoned;
    r.offersAccepted += c.booked;
    r.offersMade += c.direct_offers;
    r.serviceLevel.eligible += c.sl_eligible;
    r.serviceLevel.met += c.sl_met;
  }
  for (const o of offers) queueOf(o.queue_id).offersMade += o.offers;
  for (const c of callbacks) {
    const r = queueOf(c.queue_id);
    if (c.kind === 'requested') r.callbacksRequested += c.n;
    else if (c.kind === 'completed') r.callbacksCompleted += c.n;
    else if (c.kind === 'cancelled') r.callbacksCancelled += c.n;
    else {
      r.callbacksFailed += c.n;
      const reason = c.reason ?? c.kind;
      r.failedReasons[reason] = (r.failedReasons[reason] ?? 0) + c.n;
    }
  }
  const hours = emptyHours(from, hourCount, timeZone);
  /** Seconds of hour h that have passed by now (the running hour is averaged over its part so far). */
  const elapsedSec = (h: number): number => Math.max(0, Math.min(HOUR_MS, now.getTime() - (from.getTime() + h * HOUR_MS))) / 1000;
  for (const l of load) {
    const elapsed = elapsedSec(l.h);
    for (const target of [queueOf(l.queue_id).hours[l.h], hours[l.h]]) {
      if (!target) continue;
      const mean = elapsed > 0 ? l.secs / elapsed : 0;
      if (l.kind === 'caller') {
        target.callersWaiting += mean;
        target.callersWaitingAtEnd += l.at_end;
      } else {
        target.callbacksOwed += mean;
        target.callbacksOwedAtEnd += l.at_end;
      }
    }
  }
  for (const c of conversations) {
    const target = c.queue_id === null ? hours[c.h] : queueOf(c.queue_id).hours[c.h];
    if (!target) continue;
    target.conversations = c.n;
    target.requestToConversationMedianSec = c.p50;
    target.requestToConversationP90Sec = c.p90;
  }
  const agents = new Map<string, AgentDayFigures>();
  for (const a of agentRows) {
    let f = agents.get(a.agent_id);
    if (!f) agents.set(a.agent_id, (f = { agentId: a.agent_id, calls: 0, directCalls: 0, callbacks: 0 }));
    if (a.kind === 'call') f.calls += a.n;
    else if (a.kind === 'direct') f.directCalls += a.n;
    else f.callbacks += a.n;
  }

  const total = emptyFigures(serviceLevelSec);
  const sorted = [...queues.values()].sort((x, y) => (x.queueId < y.queueId ? -1 : x.queueId > y.queueId ? 1 : 0));
  for (const r of sorted) {
    settleShare(r);
    addInto(total, r);
  }
  settleShare(total);
  return {
    date: q.date,
    timeZone,
    from: from.toISOString(),
    to: to.toISOString(),
    serviceLevelSec,
    ...(q.queueId !== undefined ? { queueId: q.queueId } : {}),
    total,
    queues: sorted,
    hours,
    agents: [...agents.values()].sort((x, y) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0)),
    generatedAt: now.toISOString(),
  };
}
