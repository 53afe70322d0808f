import { Knex } from 'knex';
import { AttemptOwner, AttemptStep, AttemptStore, FinishedAttempt } from './attempt-store';
import { BookingStore, RequestResult } from './booking-store';
import { CallbackQueries } from './callback-queries';
import {
  AttemptRow,
  CallbackEventRow,
  CallbackEventType,
  CallbackStatus,
  DirectCallRecord,
  NewCallbackRequest,
  StoredCallback,
} from './callback-records';
import { Claim, ClaimInput, ClaimStore } from './claim-store';
import { DayReport, DayReportQuery, readDayReport } from './day-report-queries';
import { DirectCallStore } from './direct-call-store';
import { StatusStore } from './status-store';

export * from './callback-records';
export type { AttemptOwner, AttemptStep, FinishedAttempt } from './attempt-store';
export type { RequestResult } from './booking-store';
export type { Claim, ClaimInput } from './claim-store';

/**
 * Where a callback is stored. Every write that a caller or an agent is told about is committed
 * here first; the in-memory queue is rebuilt from these rows after a restart.
 *
 * One object over the parts, each in its own file: booking (booking-store.ts), claims and leases
 * (claim-store.ts), an attempt's steps and end (attempt-store.ts), changes outside an attempt
 * (status-store.ts), reads (callback-queries.ts) and direct calls (direct-call-store.ts). The row
 * shapes are in callback-records.ts.
 */
export class CallbackStore {
  private readonly booking: BookingStore;
  private readonly claims: ClaimStore;
  private readonly attemptLog: AttemptStore;
  private readonly statusChanges: StatusStore;
  private readonly queries: CallbackQueries;
  private readonly directCalls: DirectCallStore;

  /** The day report's reads (day-report-queries.ts): only they need the handle itself. */
  readonly dayReport: (q: DayReportQuery) => Promise<DayReport>;

  constructor(db: Knex) {
    this.dayReport = (q) => readDayReport(db, q);
    this.booking = new BookingStore(db);
    this.claims = new ClaimStore(db);
    this.attemptLog = new AttemptStore(db);
    this.statusChanges = new StatusStore(db);
    this.queries = new CallbackQueries(db);
    this.directCalls = new DirectCallStore(db);
  }

  requestCallback(req: NewCallbackRequest): Promise<RequestResult> {
    return this.booking.requestCallback(req);
  }

  claim(input: ClaimInput): Promise<Claim | null> {
    return this.claims.claim(input);
  }

  expireClaimsOf(holder: string, now: Date, keep: readonly string[] = []): Promise<StoredCallback[]> {
    return this.claims.expireClaimsOf(holder, now, keep);
  }

  resumeAttempt(input: {
    callbackId: string;
    attemptNo: number;
    instanceId: string;
    leaseMs: number;
    now: Date;
  }): Promise<StoredCallback | undefined> {
    return this.claims.resumeAttempt(input);
  }

  renewLease(callbackId: string, instanceId: string, leaseMs: number, now: Date, attemptNo?: number): Promise<boolean> {
    return this.claims.renewLease(callbackId, instanceId, leaseMs, now, attemptNo);
  }

  markAttempt(
    attemptId: number,
    callbackId: string,
    step: AttemptStep,
    opts: { agentId?: string; customerChannelId?: string; now: Date },
  ): Promise<void> {
    return this.attemptLog.markAttempt(attemptId, callbackId, step, opts);
  }

  markAttemptSteps(
    attemptId: number,
    callbackId: string,
    steps: readonly AttemptStep[],
    opts: { agentId?: string; customerChannelId?: string; now: Date },
  ): Promise<void> {
    return this.attemptLog.markAttemptSteps(attemptId, callbackId, steps, opts);
  }

  finishAttempt(o: FinishedAttempt): Promise<StoredCallback> {
    return this.attemptLog.finishAttempt(o);
  }

  finishOwnedAttempt(o: FinishedAttempt & { owner: AttemptOwner }): Promise<{ callback: StoredCallback; owned: boolean }> {
    return this.attemptLog.finishOwnedAttempt(o);
  }

  setStatus(callbackId: string, status: CallbackStatus, reason: string, now: Date): Promise<boolean> {
    return this.statusChanges.setStatus(callbackId, status, reason, now);
  }

  reschedule(callbackId: string, notBefore: Date, now: Date): Promise<StoredCallback | undefined> {
    return this.statusChanges.reschedule(callbackId, notBefore, now);
  }

  /** The calls that booked these callbacks have ended: other instances may dial them now. */
  markSourceCallEnded(callbackIds: readonly string[]): Promise<StoredCallback[]> {
    return this.statusChanges.markSourceCallEnded(callbackIds);
  }

  fallBackToQueue(callbackId: string, queueId: string, now: Date): Promise<StoredCallback | undefined> {
    return this.statusChanges.fallBackToQueue(callbackId, queueId, now);
  }

  recordEvent(
    callbackId: string,
    type: CallbackEventType,
    opts: { agentId?: string | null; detail?: Record<string, unknown>; at?: Date } = {},
  ): Promise<void> {
    return this.statusChanges.recordEvent(callbackId, type, opts);
  }

  get(id: string): Promise<StoredCallback | undefined> {
    return this.queries.get(id);
  }

  listOpen(): Promise<StoredCallback[]> {
    return this.queries.listOpen();
  }

  changedSince(since: Date): Promise<{ rows: StoredCallback[]; dbNow: Date }> {
    return this.queries.changedSince(since);
  }

  databaseNow(): Promise<Date> {
    return this.queries.databaseNow();
  }

  list(filter: { status?: CallbackStatus; queueId?: string; limit?: number } = {}): Promise<StoredCallback[]> {
    return this.queries.list(filter);
  }

  history(callbackId: string): Promise<CallbackEventRow[]> {
    return this.queries.history(callbackId);
  }

  attempts(callbackId: string): Promise<AttemptRow[]> {
    return this.queries.attempts(callbackId);
  }

  recordDirectCall(row: DirectCallRecord): Promise<void> {
    return this.directCalls.recordDirectCall(row);
  }

  directCall(channelId: string): Promise<DirectCallRecord | undefined> {
    return this.directCalls.directCall(channelId);
  }
}
