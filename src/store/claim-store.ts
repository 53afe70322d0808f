import { Knex } from 'knex';
import { announceChange } from './change-feed';
import { AttemptDbRow, AttemptRow, CallbackRow, CallbackStatus, StoredCallback, toAttempt, toCallback } from './callback-records';

export interface ClaimInput {
  callbackId: string;
  instanceId: string;
  agentId: string;
  agentChannelId: string;
  leaseMs: number;
  now: Date;
}

/** A claimed callback and the attempt opened for it. */
export interface Claim {
  callback: StoredCallback;
  attempt: AttemptRow;
}

/**
 * The claim of a pending callback as one statement: lock (SKIP LOCKED), lease, attempt row and
 * history event. The lock re-reads the row's latest version, so a claim committed by another
 * instance after this statement's snapshot is seen and the row skipped; the attempt number comes
 * from the locked row's counter for the same reason. Bindings: callback id, instance id, agent id,
 * agent channel id, now, lease expiry.
 *
 * Always one row: seen_* is the callback as the snapshot saw it (to tell an expired lease from a
 * live one when nothing was claimed), then the claimed callback and attempt_* when claimed.
 */
const CLAIM_SQL = `
WITH p AS (
  SELECT CAST(? AS uuid) AS callback_id, CAST(? AS text) AS instance_id, CAST(? AS text) AS agent_id,
         CAST(? AS text) AS agent_channel_id, CAST(? AS timestamptz) AS now, CAST(? AS timestamptz) AS expires
),
target AS (
  SELECT r.id FROM callback_requests r, p WHERE r.id = p.callback_id AND r.status = 'pending'
  FOR UPDATE OF r SKIP LOCKED
),
claimed AS (
  UPDATE callback_requests r
  SET status = 'in_progress', claimed_by = p.instance_id, claim_expires_at = p.expires,
      attempts_started = r.attempts_started + 1, updated_at = now()
  FROM target t, p
  WHERE r.id = t.id
  RETURNING r.*
),
attempt AS (
  INSERT INTO callback_attempts (callback_id, attempt_no, instance_id, agent_id, agent_channel_id, started_at)
  SELECT c.id, c.attempts_started, p.instance_id, p.agent_id, p.agent_channel_id, p.now FROM claimed c, p
  RETURNING *
),
history AS (
  INSERT INTO callback_events (callback_id, at, type, agent_id, detail)
  SELECT a.callback_id, p.now, 'offered_to_agent', a.agent_id, jsonb_build_object('attemptNo', a.attempt_no, 'agentChannelId', a.agent_channel_id)
  FROM attempt a, p
)
SELECT s.status AS seen_status, s.claim_expires_at AS seen_claim_expires_at, c.*,
       a.id AS attempt_id, a.attempt_no, a.agent_id AS attempt_agent_id, a.agent_channel_id AS attempt_agent_channel_id, a.started_at AS attempt_started_at
FROM p
LEFT JOIN callback_requests s ON s.id = p.callback_id
LEFT JOIN claimed c ON true
LEFT JOIN attempt a ON true`;

interface ClaimRow extends Partial<CallbackRow> {
  seen_status: CallbackStatus | null;
  seen_claim_expires_at: Date | null;
  attempt_id: string | number | null;
  attempt_no: number;
  attempt_agent_id: string;
  attempt_agent_channel_id: string;
  attempt_started_at: Date;
}

/** The callback's own columns of a CLAIM_SQL row (what a change announcement carries). */
function claimedRequest(row: ClaimRow): CallbackRow {
  const {
    seen_status: _s,
    seen_claim_expires_at: _e,
    attempt_id: _i,
    attempt_no: _n,
    attempt_agent_id: _a,
    attempt_agent_channel_id: _c,
    attempt_started_at: _t,
    ...request
  } = row;
  return request as CallbackRow;
}

/**
 * Where a callback is claimed for one attempt and its lease kept: the lease says which instance
 * may dial it, so two instances never call the same customer, and a lost instance's callbacks
 * are taken over once its lease runs out.
 */
/** The waits before a claim that found its pending row locked is tried again (see claimOnce). */
const BUSY_ROW_RETRY_MS = [20, 80];

export class ClaimStore {
  constructor(private readonly db: Knex) {}

  /**
   * Claims a pending callback for one attempt (lease) and opens the attempt row, atomically.
   * Returns null if someone else holds it or it is no longer pending: the caller must then not
   * ring anybody. SKIP LOCKED lets several instances race without waiting.
   *
   * The common case, a pending callback, is one statement (CLAIM_SQL): a free agent waits on it.
   * A callback whose lease ran out (its instance was lost) is reclaimed by reclaimExpired.
   */
  async claim(input: ClaimInput): Promise<Claim | null> {
    for (const wait of BUSY_ROW_RETRY_MS) {
      const r = await this.claimOnce(input);
      if (r !== 'busy') return r;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const last = await this.claimOnce(input);
    return last === 'busy' ? null : last;
  }

  /**
   * One claim statement. 'busy': the row is pending but was locked by a short write (the source
   * call's end, a lease renewal, a booking), which SKIP LOCKED passes over. Read as "claimed
   * elsewhere", it sent a pending callback out of the queue until the next sync, and dispatch
   * took an agent for it again and again (the fuzzer: an agent held for a plugin call).
   */
  private async claimOnce(input: ClaimInput): Promise<Claim | null | 'busy'> {
    const expires = new Date(input.now.getTime() + input.leaseMs);
    const { rows } = await this.db.raw<{ rows: ClaimRow[] }>(CLAIM_SQL, [
      input.callbackId,
      input.instanceId,
      input.agentId,
      input.agentChannelId,
      input.now,
      expires,
    ]);
    const row = rows[0];
    if (row && row.attempt_id !== null) {
      announceChange(this.db, 'callback_requests', claimedRequest(row));
      return {
        callback: toCallback(row as CallbackRow),
        attempt: toAttempt({
          id: row.attempt_id,
          callback_id: input.callbackId,
          attempt_no: row.attempt_no,
          agent_id: row.attempt_agent_id,
          agent_channel_id: row.attempt_agent_channel_id,
          customer_channel_id: null,
          customer_dialed_at: null,
          customer_answered_at: null,
          outcome: null,
          cause: null,
          cause_txt: null,
          started_at: row.attempt_started_at,
          ended_at: null,
        }),
      };
    }
    // Not claimed. Only an expired lease is worth a second look; anything else (held by a live
    // claim, finished, cancelled, unknown) is a plain no.
    if (row?.seen_status === 'in_progress' && row.seen_claim_expires_at !== null && row.seen_claim_expires_at < input.now)
      return this.reclaimExpired(input);
    return row?.seen_status === 'pending' ? 'busy' : null;
  }

  /**
   * The rare path after a lost instance: closes the attempts it left open, then claims as usual,
   * in one transaction. The row is locked first, and every later statement takes a fresh
   * snapshot, so what it reads of the attempts is current.
   */
  private async reclaimExpired(input: ClaimInput): Promise<Claim | null> {
    const claimed = await this.db.transaction(async (tx): Promise<(Claim & { row: CallbackRow }) | null> => {
      const row = (await tx('callback_requests')
        .where({ id: input.callbackId })
        .andWhere((w) => {
          void w.where('status', 'pending').orWhere((x) => {
            void x.where('status', 'in_progress').andWhere('claim_expires_at', '<', input.now);
          });
        })
        .forUpdate()
        .skipLocked()
        .first()) as CallbackRow | undefined;
      if (!row) return null;
      if (row.status === 'in_progress') {
        // A previous owner's lease ran out (it crashed): close its open attempt first.
        const { talked, dialled } = await this.closeAbandonedAttempts(tx, row.id, input.now);
        if (talked) {
          // Customer and agent were bridged: the callback happened; never call them again for it.
          await tx('callback_requests').where({ id: row.id }).update({
            status: 'completed',
            outcome_reason: 'bridged before the instance was lost',
            claimed_by: null,
            claim_expires_at: null,
            updated_at: tx.fn.now(),
          });
          await tx('callback_events').insert({
            callback_id: row.id,
            at: input.now,
            type: 'completed',
            detail: JSON.stringify({ outcome: 'answered', reason: 'instance_lost_after_bridge' }),
          });
          return null;
        }
        // Answered but never bridged (at the guard, or on hold for an agent in customer-first
        // mode) is no conversation: the attempt counts and the customer is called again, here,
        // unless it was the last one allowed: a lost end never buys the customer an extra call.
        if (row.attempts + dialled >= row.max_attempts) {
          await tx('callback_requests').where({ id: row.id }).update({
            status: 'failed',
            outcome_reason: 'max_attempts_reached: last instance_lost',
            claimed_by: null,
            claim_expires_at: null,
            updated_at: tx.fn.now(),
          });
          await tx('callback_events').insert({
            callback_id: row.id,
            at: input.now,
            type: 'failed',
            detail: JSON.stringify({ outcome: 'instance_lost', reason: 'max_attempts_reached' }),
          });
          return null;
        }
      }
      // Attempt numbers count every attempt (agent-side ones too); `attempts` counts customer dials.
      const [updated] = (await tx('callback_requests')
        .where({ id: row.id })
        .update({
          status: 'in_progress',
          claimed_by: input.instanceId,
          claim_expires_at: new Date(input.now.getTime() + input.leaseMs),
          attempts_started: tx.raw('attempts_started + 1'),
          updated_at: tx.fn.now(),
        })
        .returning('*')) as (CallbackRow & { attempts_started: number })[];
      if (!updated) return null;
      const attemptNo = updated.attempts_started;
      const [attempt] = (await tx('callback_attempts')
        .insert({
          callback_id: row.id,
          attempt_no: attemptNo,
          instance_id: input.instanceId,
          agent_id: input.agentId,
          agent_channel_id: input.agentChannelId,
          started_at: input.now,
        })
        .returning('*')) as AttemptDbRow[];
      await tx('callback_events').insert({
        callback_id: row.id,
        at: input.now,
        type: 'offered_to_agent',
        agent_id: input.agentId,
        detail: JSON.stringify({ attemptNo, agentChannelId: input.agentChannelId }),
      });
      return { callback: toCallback(updated), attempt: toAttempt(attempt), row: updated };
    });
    if (!claimed) return null;
    announceChange(this.db, 'callback_requests', claimed.row);
    return { callback: claimed.callback, attempt: claimed.attempt };
  }

  /**
   * Closes attempts left open by a lost instance: `talked` if one had bridged the customer with
   * an agent (a conversation: the callback happened; an answer alone is not one: the guard's 1 may
   * not have come, or a customer-first customer was still on hold for an agent), and how many had
   * dialled the customer (each counts against max_attempts: the customer may have been rung).
   * customer_dialed_at is written before any dial, so an attempt without it never rang them.
   */
  private async closeAbandonedAttempts(tx: Knex.Transaction, callbackId: string, now: Date): Promise<{ talked: boolean; dialled: number }> {
    const open = (await tx('callback_attempts').where({ callback_id: callbackId }).whereNull('ended_at')) as AttemptDbRow[];
    for (const a of open) {
      await tx('callback_attempts').where({ id: a.id }).update({ ended_at: now, outcome: 'instance_lost' });
    }
    // If that attempt had already dialled the customer it counts: the customer was called.
    const dialled = open.filter((a) => a.customer_dialed_at !== null).length;
    if (dialled > 0) await tx('callback_requests').where({ id: callbackId }).increment('attempts', dialled);
    await tx('callback_events').insert({
      callback_id: callbackId,
      at: now,
      type: 'lease_expired',
      detail: JSON.stringify({ attempts: open.map((a) => a.id) }),
    });
    return { talked: open.some((a) => (a.bridged_at ?? null) !== null), dialled };
  }

  /**
   * Ends the leases of a process known to be gone (a dead leader of a standby group): its
   * callbacks are claimable at once, and their next claim closes the attempts it left open.
   * `keep`: callbacks whose attempt this process runs now (taken up again after the restart, when
   * it has the dead process's instance id), which stay claimed.
   */
  async expireClaimsOf(holder: string, now: Date, keep: readonly string[] = []): Promise<StoredCallback[]> {
    const rows = (await this.db('callback_requests')
      .where({ status: 'in_progress', claimed_by: holder })
      .whereNotIn('id', [...keep])
      .update({ claim_expires_at: now, updated_at: this.db.fn.now() })
      .returning('*')) as CallbackRow[];
    for (const r of rows) announceChange(this.db, 'callback_requests', r);
    return rows.map(toCallback);
  }

  /**
   * Takes over the lease of an attempt a previous process (crashed, or a dead leader) left live on
   * Asterisk, so that this process finishes it instead of dialling the customer again. Only while
   * that attempt is still the callback's latest: `attempts_started` is re-checked on the row's
   * newest version under its lock, so if another instance reclaimed the expired lease first (and
   * started an attempt of its own) nothing is taken and the caller of this hangs the legs up.
   */
  async resumeAttempt(input: {
    callbackId: string;
    attemptNo: number;
    instanceId: string;
    leaseMs: number;
    now: Date;
  }): Promise<StoredCallback | undefined> {
    const rows = (await this.db('callback_requests')
      .where({ id: input.callbackId, status: 'in_progress', attempts_started: input.attemptNo })
      .update({
        claimed_by: input.instanceId,
        claim_expires_at: new Date(input.now.getTime() + input.leaseMs),
        updated_at: this.db.fn.now(),
      })
      .returning('*')) as CallbackRow[];
    const row = rows[0];
    if (!row) return undefined;
    announceChange(this.db, 'callback_requests', row);
    return toCallback(row);
  }

  /**
   * Extends the lease while an attempt is alive (called periodically by the attempt owner). With
   * `attemptNo`, only while no later claim has happened (a lease that ran out and was claimed
   * again, even by this instance, belongs to the new attempt). False: the claim is not the caller's.
   */
  async renewLease(callbackId: string, instanceId: string, leaseMs: number, now: Date, attemptNo?: number): Promise<boolean> {
    const held = this.db('callback_requests').where({ id: callbackId, claimed_by: instanceId, status: 'in_progress' });
    if (attemptNo !== undefined) void held.andWhere('attempts_started', attemptNo);
    const n = await held.update({ claim_expires_at: new Date(now.getTime() + leaseMs) });
    return n === 1;
  }
}
