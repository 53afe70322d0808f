import { Knex } from 'knex';
import {
  AttemptDbRow,
  AttemptRow,
  CallbackEventRow,
  CallbackEventType,
  CallbackRow,
  CallbackStatus,
  OPEN_STATUSES,
  StoredCallback,
  toAttempt,
  toCallback,
} from './callback-records';

/** A callback_events row as pg returns it. */
interface CallbackEventDbRow {
  id: string | number;
  callback_id: string;
  at: Date;
  type: CallbackEventType;
  agent_id: string | null;
  detail: Record<string, unknown>;
}

/**
 * The reads of stored callbacks: the open ones to rebuild the queues at start, what changed for
 * the slow re-read behind the change feed, and lists, history and attempts for the API, the CLI
 * and reports. Nothing here writes.
 */
export class CallbackQueries {
  constructor(private readonly db: Knex) {}

  async get(id: string): Promise<StoredCallback | undefined> {
    const row = (await this.db('callback_requests').where({ id }).first()) as CallbackRow | undefined;
    return row ? toCallback(row) : undefined;
  }

  /** Open callbacks (pending or being dialled), for rebuilding the queues at start. */
  async listOpen(): Promise<StoredCallback[]> {
    const rows = (await this.db('callback_requests')
      .whereIn('status', OPEN_STATUSES)
      .orderBy([{ column: 'priority', order: 'desc' }, 'arrived_at', 'id'])) as CallbackRow[];
    return rows.map(toCallback);
  }

  /**
   * Rows changed since `since` (any status), with the database's own clock for the next call:
   * comparing against the server's now() keeps instances with skewed clocks consistent.
   */
  async changedSince(since: Date): Promise<{ rows: StoredCallback[]; dbNow: Date }> {
    const dbNow = await this.databaseNow();
    const rows = (await this.db('callback_requests').where('updated_at', '>=', since).orderBy('updated_at')) as CallbackRow[];
    return { rows: rows.map(toCallback), dbNow };
  }

  /** The database server's clock, which every instance compares change times against. */
  async databaseNow(): Promise<Date> {
    const row = (await this.db.raw<{ rows: { now: Date }[] }>('SELECT now() AS now')).rows[0];
    return row?.now ?? new Date();
  }

  /** The newest callbacks first, optionally of one status or queue (the API's and the CLI's list). */
  async list(filter: { status?: CallbackStatus; queueId?: string; limit?: number } = {}): Promise<StoredCallback[]> {
    const q = this.db('callback_requests')
      .orderBy('requested_at', 'desc')
      .limit(filter.limit ?? 100);
    if (filter.status) q.where('status', filter.status);
    if (filter.queueId) q.where('queue_id', filter.queueId);
    return ((await q) as CallbackRow[]).map(toCallback);
  }

  /** The callback's history events, oldest first. */
  async history(callbackId: string): Promise<CallbackEventRow[]> {
    const rows = (await this.db('callback_events').where({ callback_id: callbackId }).orderBy('id')) as CallbackEventDbRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      callbackId: r.callback_id,
      at: r.at,
      type: r.type,
      agentId: r.agent_id,
      detail: r.detail,
    }));
  }

  /** The callback's attempts, oldest first. */
  async attempts(callbackId: string): Promise<AttemptRow[]> {
    const rows = (await this.db('callback_attempts').where({ callback_id: callbackId }).orderBy('id')) as AttemptDbRow[];
    return rows.map(toAttempt);
  }
}
