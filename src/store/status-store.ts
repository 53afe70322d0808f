import { Knex } from 'knex';
import { announceChange } from './change-feed';
import { CallbackEventType, CallbackRow, CallbackStatus, OPEN_STATUSES, StoredCallback, toCallback } from './callback-records';

/**
 * Where an open callback changes outside an attempt: closed (cancelled, expired, completed or
 * failed by an administrator or a timer), rescheduled, or moved from its owner to a queue. Each
 * change is logged in the callback's history.
 */
export class StatusStore {
  constructor(private readonly db: Knex) {}

  /**
   * Sets an open callback's status and ends its lease; false when it was no longer open. A
   * closing status is logged in the history with its reason.
   */
  async setStatus(callbackId: string, status: CallbackStatus, reason: string, now: Date): Promise<boolean> {
    const rows = (await this.db('callback_requests')
      .where({ id: callbackId })
      .whereIn('status', OPEN_STATUSES)
      .update({ status, outcome_reason: reason, updated_at: this.db.fn.now(), claimed_by: null, claim_expires_at: null })
      .returning('*')) as CallbackRow[];
    const row = rows[0];
    if (!row) return false;
    announceChange(this.db, 'callback_requests', row);
    if (status === 'cancelled' || status === 'expired' || status === 'failed' || status === 'completed') {
      await this.recordEvent(callbackId, status, { detail: { reason }, at: now });
    }
    return true;
  }

  /** Moves a pending callback's earliest dial time (reschedule); undefined if it is not pending. */
  async reschedule(callbackId: string, notBefore: Date, now: Date): Promise<StoredCallback | undefined> {
    const rows = (await this.db('callback_requests')
      .where({ id: callbackId, status: 'pending' })
      .update({ not_before: notBefore, updated_at: this.db.fn.now() })
      .returning('*')) as CallbackRow[];
    if (rows.length === 0) return undefined;
    announceChange(this.db, 'callback_requests', rows[0]);
    await this.recordEvent(callbackId, 'rescheduled', { detail: { notBefore: notBefore.toISOString() }, at: now });
    return toCallback(rows[0]);
  }

  /**
   * An owed (direct-call) callback whose owner window ran out moves to a queue, keeping its
   * original request time as its place.
   */
  async fallBackToQueue(callbackId: string, queueId: string, now: Date): Promise<StoredCallback | undefined> {
    const moved = await this.db.transaction(async (tx): Promise<CallbackRow | undefined> => {
      const rows = (await tx('callback_requests')
        .where({ id: callbackId, status: 'pending' })
        .whereNotNull('owner_agent_id')
        .update({ queue_id: queueId, owner_agent_id: null, updated_at: tx.fn.now() })
        .returning('*')) as CallbackRow[];
      if (rows.length === 0) return undefined;
      await tx('callback_events').insert({
        callback_id: callbackId,
        at: now,
        type: 'fell_back_to_queue',
        detail: JSON.stringify({ queueId }),
      });
      return rows[0];
    });
    if (!moved) return undefined;
    announceChange(this.db, 'callback_requests', moved);
    return toCallback(moved);
  }

  /**
   * The calls that booked these callbacks have ended (src/domain/source-call-hold.ts): recorded on
   * the open rows and announced, so that other instances stop holding them. One statement, no
   * history event (the booking's call ending is not a step of the callback).
   */
  async markSourceCallEnded(callbackIds: readonly string[]): Promise<StoredCallback[]> {
    if (callbackIds.length === 0) return [];
    const rows = (await this.db('callback_requests')
      .whereIn('id', callbackIds)
      .whereIn('status', OPEN_STATUSES)
      .whereNull('source_call_ended_at')
      .update({ source_call_ended_at: this.db.fn.now(), updated_at: this.db.fn.now() })
      .returning('*')) as CallbackRow[];
    for (const row of rows) announceChange(this.db, 'callback_requests', row);
    return rows.map(toCallback);
  }

  /** Adds an event to a callback's history (for reports and the API); changes nothing else. */
  async recordEvent(
    callbackId: string,
    type: CallbackEventType,
    opts: { agentId?: string | null; detail?: Record<string, unknown>; at?: Date } = {},
  ): Promise<void> {
    await this.db('callback_events').insert({
      callback_id: callbackId,
      type,
      agent_id: opts.agentId ?? null,
      detail: JSON.stringify(opts.detail ?? {}),
      ...(opts.at ? { at: opts.at } : {}),
    });
  }
}
