import { Knex } from 'knex';
import { announceChange } from './change-feed';

/**
 * Where a callback is stored. Every write that a caller or an agent is told about is committed
 * here first; the in-memory queue is rebuilt from these rows after a restart.
 */

export type CallbackStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'expired';

export type CallbackEventType =
  | 'requested'
  | 'offered_to_agent'
  | 'agent_answered'
  | 'agent_no_answer'
  | 'agent_accepted'
  | 'agent_declined'
  | 'customer_dialled'
  | 'customer_answered'
  | 'customer_busy'
  | 'customer_no_answer'
  | 'customer_failed'
  | 'bridged'
  | 'completed'
  | 'failed'
  | 'lease_expired'
  | 'cancelled'
  | 'expired'
  | 'rescheduled'
  | 'fell_back_to_queue';

export interface NewCallbackRequest {
  id: string;
  queueId: string;
  routeId?: string | null;
  ownerAgentId?: string | null;
  customerNumber: string;
  customerName?: string | null;
  language: string;
  priority: number;
  arrivedAt: Date;
  maxAttempts: number;
  sourceChannelId?: string | null;
  /** A scheduled callback: not dialled before this time. */
  notBefore?: Date | null;
  /** The place's tie-break in the shared order: a caller's booking keeps the caller's seq. */
  seq?: number;
  /**
   * The number policy's limit on open callbacks per number (maxPendingPerNumber), counted in the
   * OTHER queues: a second request in the same queue is a duplicate, not a refusal. Absent or
   * Infinity: no limit.
   */
  maxOpenElsewhere?: number;
}

export interface StoredCallback {
  id: string;
  queueId: string;
  routeId: string | null;
  ownerAgentId: string | null;
  customerNumber: string;
  customerName: string | null;
  language: string;
  priority: number;
  arrivedAt: Date;
  requestedAt: Date;
  status: CallbackStatus;
  attempts: number;
  maxAttempts: number;
  notBefore: Date | null;
  claimedBy: string | null;
  claimExpiresAt: Date | null;
  outcomeReason: string | null;
  /** The caller's channel that requested it (null for API-created callbacks). */
  sourceChannelId: string | null;
  /** Tie-break in the order shared with live callers (sql/004: work_item_seq). */
  seq: number;
}

export interface CallbackEventRow {
  id: number;
  callbackId: string;
  at: Date;
  type: CallbackEventType;
  agentId: string | null;
  detail: Record<string, unknown>;
}

export interface AttemptRow {
  id: number;
  callbackId: string;
  attemptNo: number;
  agentId: string;
  agentChannelId: string;
  customerChannelId: string | null;
  outcome: string | null;
  cause: number | null;
  causeTxt: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export interface DirectCallRecord {
  channelId: string;
  agentId?: string | null;
  dialled: string;
  callerNumber?: string | null;
  callerName?: string | null;
  startedAt: Date;
  answeredAt?: Date | null;
  endedAt?: Date | null;
  outcome?: string | null;
  reason?: string | null;
  cause?: number | null;
  callbackId?: string | null;
}

export type RequestResult =
  | { kind: 'stored'; callback: StoredCallback }
  | { kind: 'duplicate'; existing: StoredCallback }
  /** The number already has maxOpenElsewhere open callbacks in other queues: nothing was written. */
  | { kind: 'over_limit'; openElsewhere: number };

export type AttemptStep = 'agent_answered' | 'agent_accepted' | 'customer_dialled' | 'customer_answered' | 'bridged';

const STEP_COLUMN: Record<AttemptStep, string> = {
  agent_answered: 'agent_answered_at',
  agent_accepted: 'agent_accepted_at',
  customer_dialled: 'customer_dialed_at',
  customer_answered: 'customer_answered_at',
  bridged: 'bridged_at',
};

export interface CallbackRow {
  id: string;
  queue_id: string;
  route_id: string | null;
  owner_agent_id: string | null;
  customer_number: string;
  customer_name: string | null;
  language: string;
  priority: number;
  arrived_at: Date | string;
  requested_at: Date | string;
  status: CallbackStatus;
  attempts: number;
  max_attempts: number;
  not_before: Date | string | null;
  claimed_by: string | null;
  claim_expires_at: Date | string | null;
  outcome_reason: string | null;
  source_channel_id: string | null;
  seq: string | number;
}

/** pg gives Dates; a NOTIFY payload (row_to_json) gives ISO strings. */
function asDate(v: Date | string): Date;
function asDate(v: Date | string | null): Date | null;
function asDate(v: Date | string | null): Date | null {
  return v === null ? null : v instanceof Date ? v : new Date(v);
}

export function toCallback(r: CallbackRow): StoredCallback {
  return {
    id: r.id,
    queueId: r.queue_id,
    routeId: r.route_id,
    ownerAgentId: r.owner_agent_id,
    customerNumber: r.customer_number,
    customerName: r.customer_name,
    language: r.language,
    priority: r.priority,
    arrivedAt: asDate(r.arrived_at),
    requestedAt: asDate(r.requested_at),
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    notBefore: asDate(r.not_before),
    claimedBy: r.claimed_by,
    claimExpiresAt: asDate(r.claim_expires_at),
    outcomeReason: r.outcome_reason,
    sourceChannelId: r.source_channel_id,
    seq: Number(r.seq),
  };
}

const OPEN: CallbackStatus[] = ['pending', 'in_progress'];

export interface ClaimInput {
  callbackId: string;
  instanceId: string;
  agentId: string;
  agentChannelId: string;
  leaseMs: number;
  now: Date;
}

export interface AttemptOutcome {
  attemptId: number;
  callbackId: string;
  outcome: string;
  cause?: number | null;
  causeTxt?: string | null;
  /** What happens to the callback: back to its place, done, or given up. */
  nextStatus: 'pending' | 'completed' | 'failed';
  /** Whether this attempt counts against max_attempts (customer-side outcomes only). */
  countsAsAttempt: boolean;
  notBefore?: Date | null;
  reason?: string | null;
  now: Date;
}

/**
 * Press 1 as one statement: the duplicate check, the per-number limit, the insert and its history
 * event. A single statement is atomic and, outside a transaction, commits in the round trip that
 * sends it (BEGIN, INSERT, INSERT, COMMIT were four). Bindings: see requestCallback.
 *
 * Always one row: open_elsewhere (open callbacks of the number in other queues), then the stored
 * or the existing open request with `outcome`, or nulls when neither (refused by the limit, or a
 * concurrent insert won the unique index after this statement's snapshot).
 */
const BOOK_SQL = `
WITH p AS (
  SELECT CAST(? AS uuid) AS id, CAST(? AS text) AS queue_id, CAST(? AS text) AS route_id, CAST(? AS text) AS owner_agent_id,
         CAST(? AS text) AS customer_number, CAST(? AS text) AS customer_name, CAST(? AS text) AS language,
         CAST(? AS integer) AS priority, CAST(? AS timestamptz) AS arrived_at, CAST(? AS integer) AS max_attempts,
         CAST(? AS text) AS source_channel_id, CAST(? AS timestamptz) AS not_before, CAST(? AS integer) AS max_open_elsewhere,
         CAST(? AS bigint) AS seq
),
existing AS (
  SELECT r.* FROM callback_requests r, p
  WHERE r.queue_id = p.queue_id AND r.customer_number = p.customer_number AND r.status IN ('pending', 'in_progress')
),
elsewhere AS (
  SELECT count(*)::integer AS n FROM callback_requests r, p
  WHERE r.customer_number = p.customer_number AND r.queue_id <> p.queue_id AND r.status IN ('pending', 'in_progress')
),
inserted AS (
  INSERT INTO callback_requests (id, queue_id, route_id, owner_agent_id, customer_number, customer_name, language, priority, arrived_at, max_attempts, source_channel_id, not_before, seq)
  SELECT p.id, p.queue_id, p.route_id, p.owner_agent_id, p.customer_number, p.customer_name, p.language, p.priority, p.arrived_at, p.max_attempts, p.source_channel_id, p.not_before,
         COALESCE(p.seq, nextval('work_item_seq'))
  FROM p, elsewhere e
  WHERE NOT EXISTS (SELECT 1 FROM existing) AND (p.max_open_elsewhere IS NULL OR e.n < p.max_open_elsewhere)
  ON CONFLICT (queue_id, customer_number) WHERE status IN ('pending', 'in_progress') DO NOTHING
  RETURNING *
),
history AS (
  INSERT INTO callback_events (callback_id, type, detail)
  SELECT i.id, 'requested', jsonb_build_object('queueId', i.queue_id, 'routeId', i.route_id, 'sourceChannelId', i.source_channel_id)
  FROM inserted i
)
SELECT e.n AS open_elsewhere, o.*
FROM elsewhere e
LEFT JOIN (
  SELECT 'stored' AS outcome, i.* FROM inserted i
  UNION ALL
  SELECT 'duplicate' AS outcome, x.* FROM existing x
) o ON true`;

interface BookRow extends Partial<CallbackRow> {
  open_elsewhere: number;
  outcome: 'stored' | 'duplicate' | null;
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
  const { seen_status: _s, seen_claim_expires_at: _e, attempt_id: _i, attempt_no: _n, attempt_agent_id: _a, attempt_agent_channel_id: _c, attempt_started_at: _t, ...request } = row;
  return request as CallbackRow;
}

export class CallbackStore {
  constructor(private readonly db: Knex) {}

  /**
   * Stores a callback request and its first history event. Resolves only after COMMIT: the caller
   * may be told "we will call you back" only then. A second request for the same number in the
   * same queue keeps the first one (and its place); a number with `maxOpenElsewhere` open
   * callbacks in other queues is refused (checked before the duplicate, as the number policy
   * always was).
   *
   * One statement (BOOK_SQL), so one round trip under autocommit: a caller is waiting on it.
   */
  async requestCallback(req: NewCallbackRequest): Promise<RequestResult> {
    const limit = req.maxOpenElsewhere !== undefined && Number.isFinite(req.maxOpenElsewhere) ? req.maxOpenElsewhere : null;
    const bindings = [
      req.id,
      req.queueId,
      req.routeId ?? null,
      req.ownerAgentId ?? null,
      req.customerNumber,
      req.customerName ?? null,
      req.language,
      req.priority,
      req.arrivedAt,
      req.maxAttempts,
      req.sourceChannelId ?? null,
      req.notBefore ?? null,
      limit,
      req.seq ?? null,
    ];
    // A concurrent request for the same queue and number that commits after this statement's
    // snapshot was taken is seen only by the unique index: the INSERT does nothing, and the
    // snapshot shows no open row either. Running the statement again (new snapshot) answers
    // duplicate. Each retry needs a commit that raced this very statement: 3 is ample.
    for (let tries = 0; tries < 3; tries++) {
      const { rows } = await this.db.raw<{ rows: BookRow[] }>(BOOK_SQL, bindings);
      const row = rows[0];
      if (!row) throw new Error('booking statement returned no row');
      if (limit !== null && row.open_elsewhere >= limit) return { kind: 'over_limit', openElsewhere: row.open_elsewhere };
      if (row.outcome === 'stored') {
        announceChange(this.db, 'callback_requests', row);
        return { kind: 'stored', callback: toCallback(row as CallbackRow) };
      }
      if (row.outcome === 'duplicate') return { kind: 'duplicate', existing: toCallback(row as CallbackRow) };
    }
    throw new Error('callback insert conflicted but no open callback was found');
  }

  async get(id: string): Promise<StoredCallback | undefined> {
    const row = (await this.db('callback_requests').where({ id }).first()) as CallbackRow | undefined;
    return row ? toCallback(row) : undefined;
  }

  /** Open callbacks (pending or being dialled), for rebuilding the queues at start. */
  async listOpen(): Promise<StoredCallback[]> {
    const rows = (await this.db('callback_requests').whereIn('status', OPEN).orderBy([{ column: 'priority', order: 'desc' }, 'arrived_at', 'id'])) as CallbackRow[];
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

  async databaseNow(): Promise<Date> {
    const row = (await this.db.raw<{ rows: { now: Date }[] }>('SELECT now() AS now')).rows[0];
    return row?.now ?? new Date();
  }

  async list(filter: { status?: CallbackStatus; queueId?: string; limit?: number } = {}): Promise<StoredCallback[]> {
    const q = this.db('callback_requests').orderBy('requested_at', 'desc').limit(filter.limit ?? 100);
    if (filter.status) q.where('status', filter.status);
    if (filter.queueId) q.where('queue_id', filter.queueId);
    return ((await q) as CallbackRow[]).map(toCallback);
  }

  /**
   * Claims a pending callback for one attempt (lease) and opens the attempt row, atomically.
   * Returns null if someone else holds it or it is no longer pending: the caller must then not
   * ring anybody. SKIP LOCKED lets several instances race without waiting.
   *
   * The common case, a pending callback, is one statement (CLAIM_SQL): a free agent waits on it.
   * A callback whose lease ran out (its instance was lost) is reclaimed by reclaimExpired.
   */
  async claim(input: ClaimInput): Promise<{ callback: StoredCallback; attempt: AttemptRow } | null> {
    const expires = new Date(input.now.getTime() + input.leaseMs);
    const { rows } = await this.db.raw<{ rows: ClaimRow[] }>(CLAIM_SQL, [input.callbackId, input.instanceId, input.agentId, input.agentChannelId, input.now, expires]);
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
    if (row?.seen_status === 'in_progress' && row.seen_claim_expires_at !== null && row.seen_claim_expires_at < input.now) return this.reclaimExpired(input);
    return null;
  }

  /**
   * The rare path after a lost instance: closes the attempts it left open, then claims as usual,
   * in one transaction. The row is locked first, and every later statement takes a fresh
   * snapshot, so what it reads of the attempts is current.
   */
  private async reclaimExpired(input: ClaimInput): Promise<{ callback: StoredCallback; attempt: AttemptRow } | null> {
    const claimed = await this.db.transaction(async (tx): Promise<{ callback: StoredCallback; attempt: AttemptRow; row: CallbackRow } | null> => {
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
        const talked = await this.closeAbandonedAttempts(tx, row.id, input.now);
        if (talked) {
          // Customer and agent were bridged: the callback happened; never call them again for it.
          await tx('callback_requests').where({ id: row.id }).update({ status: 'completed', outcome_reason: 'bridged before the instance was lost', claimed_by: null, claim_expires_at: null, updated_at: tx.fn.now() });
          await tx('callback_events').insert({ callback_id: row.id, at: input.now, type: 'completed', detail: JSON.stringify({ outcome: 'answered', reason: 'instance_lost_after_bridge' }) });
          return null;
        }
        // Answered but never bridged (at the guard, or on hold for an agent in customer-first
        // mode) is no conversation: the attempt counts and the customer is called again, here.
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
      return { callback: toCallback(updated as CallbackRow), attempt: toAttempt(attempt as AttemptDbRow), row: updated as CallbackRow };
    });
    if (!claimed) return null;
    announceChange(this.db, 'callback_requests', claimed.row);
    return { callback: claimed.callback, attempt: claimed.attempt };
  }

  /**
   * Closes attempts left open by a lost instance; true if one had bridged the customer with an
   * agent (a conversation: the callback happened). An answer alone is not one: the guard's 1 may
   * not have come, or a customer-first customer was still on hold for an agent.
   */
  private async closeAbandonedAttempts(tx: Knex.Transaction, callbackId: string, now: Date): Promise<boolean> {
    const open = (await tx('callback_attempts').where({ callback_id: callbackId }).whereNull('ended_at')) as AttemptDbRow[];
    for (const a of open) {
      await tx('callback_attempts').where({ id: a.id }).update({ ended_at: now, outcome: 'instance_lost' });
    }
    // If that attempt had already dialled the customer it counts: the customer was called.
    const dialled = open.filter((a) => a.customer_dialed_at !== null).length;
    if (dialled > 0) await tx('callback_requests').where({ id: callbackId }).increment('attempts', dialled);
    await tx('callback_events').insert({ callback_id: callbackId, at: now, type: 'lease_expired', detail: JSON.stringify({ attempts: open.map((a) => a.id) }) });
    return open.some((a) => (a.bridged_at ?? null) !== null);
  }

  /**
   * Ends the leases of a process known to be gone (a dead leader of a standby group): its
   * callbacks are claimable at once; the claim closes its open attempts (src: claim()). `keep`:
   * callbacks whose attempt this process runs now (taken up again after the restart, when it has
   * the dead process's instance id), which stay claimed.
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
  async resumeAttempt(input: { callbackId: string; attemptNo: number; instanceId: string; leaseMs: number; now: Date }): Promise<StoredCallback | undefined> {
    const rows = (await this.db('callback_requests')
      .where({ id: input.callbackId, status: 'in_progress', attempts_started: input.attemptNo })
      .update({ claimed_by: input.instanceId, claim_expires_at: new Date(input.now.getTime() + input.leaseMs), updated_at: this.db.fn.now() })
      .returning('*')) as CallbackRow[];
    const row = rows[0];
    if (!row) return undefined;
    announceChange(this.db, 'callback_requests', row);
    return toCallback(row);
  }

  /** Extends the lease while an attempt is alive (called periodically by the attempt owner). */
  async renewLease(callbackId: string, instanceId: string, leaseMs: number, now: Date): Promise<boolean> {
    const n = await this.db('callback_requests')
      .where({ id: callbackId, claimed_by: instanceId, status: 'in_progress' })
      .update({ claim_expires_at: new Date(now.getTime() + leaseMs) });
    return n === 1;
  }

  async recordEvent(callbackId: string, type: CallbackEventType, opts: { agentId?: string | null; detail?: Record<string, unknown>; at?: Date } = {}): Promise<void> {
    await this.db('callback_events').insert({
      callback_id: callbackId,
      type,
      agent_id: opts.agentId ?? null,
      detail: JSON.stringify(opts.detail ?? {}),
      ...(opts.at ? { at: opts.at } : {}),
    });
  }

  /** Marks a step of an attempt (agent answered, customer dialled...) and logs it in the history. */
  async markAttempt(attemptId: number, callbackId: string, step: AttemptStep, opts: { agentId?: string; customerChannelId?: string; now: Date }): Promise<void> {
    await this.markAttemptSteps(attemptId, callbackId, [step], opts);
  }

  /**
   * Marks several steps of an attempt at once (the agent's 1 is "accepted" and "customer
   * dialled"), each with its history event, in one statement: atomic, and one round trip where a
   * transaction of two UPDATEs and two INSERTs took six. The customer channel id, when given, is
   * written with them and belongs to the customer_dialled event.
   */
  async markAttemptSteps(attemptId: number, callbackId: string, steps: readonly AttemptStep[], opts: { agentId?: string; customerChannelId?: string; now: Date }): Promise<void> {
    if (steps.length === 0) return;
    // Column names come from STEP_COLUMN, never from input.
    const sets = steps.map((step) => `${STEP_COLUMN[step]} = p.now`);
    if (opts.customerChannelId) sets.push('customer_channel_id = p.customer_channel_id');
    const values = steps.map(() => '(CAST(? AS integer), CAST(? AS text), CAST(? AS jsonb))').join(', ');
    const eventBindings = steps.flatMap((step, i) => [i, step, JSON.stringify(step === 'customer_dialled' && opts.customerChannelId ? { customerChannelId: opts.customerChannelId } : {})]);
    await this.db.raw(
      `WITH p AS (
  SELECT CAST(? AS bigint) AS attempt_id, CAST(? AS uuid) AS callback_id, CAST(? AS timestamptz) AS now,
         CAST(? AS text) AS agent_id, CAST(? AS text) AS customer_channel_id
),
marked AS (
  UPDATE callback_attempts a SET ${sets.join(', ')} FROM p WHERE a.id = p.attempt_id RETURNING a.id
)
INSERT INTO callback_events (callback_id, at, type, agent_id, detail)
SELECT p.callback_id, p.now, s.type, p.agent_id, s.detail FROM p, (VALUES ${values}) AS s(ord, type, detail)
ORDER BY s.ord`,
      [attemptId, callbackId, opts.now, opts.agentId ?? null, opts.customerChannelId ?? null, ...eventBindings],
    );
  }

  /** Closes an attempt and moves the callback on (back to pending, completed or failed), atomically. */
  async finishAttempt(o: AttemptOutcome): Promise<StoredCallback> {
    const finished = await this.db.transaction(async (tx): Promise<CallbackRow> => {
      await tx('callback_attempts').where({ id: o.attemptId }).whereNull('ended_at').update({
        ended_at: o.now,
        outcome: o.outcome,
        cause: o.cause ?? null,
        cause_txt: o.causeTxt ?? null,
      });
      const patch: Record<string, unknown> = {
        status: o.nextStatus,
        claimed_by: null,
        claim_expires_at: null,
        not_before: o.notBefore ?? null,
        updated_at: tx.fn.now(),
      };
      if (o.reason !== undefined) patch.outcome_reason = o.reason;
      if (o.countsAsAttempt) patch.attempts = tx.raw('attempts + 1');
      const [row] = (await tx('callback_requests').where({ id: o.callbackId }).update(patch).returning('*')) as CallbackRow[];
      if (o.nextStatus !== 'pending') {
        await tx('callback_events').insert({ callback_id: o.callbackId, at: o.now, type: o.nextStatus, detail: JSON.stringify({ outcome: o.outcome, reason: o.reason ?? null }) });
      }
      if (!row) throw new Error(`callback ${o.callbackId} vanished while finishing an attempt`);
      return row;
    });
    announceChange(this.db, 'callback_requests', finished);
    return toCallback(finished);
  }

  async setStatus(callbackId: string, status: CallbackStatus, reason: string, now: Date): Promise<boolean> {
    const rows = (await this.db('callback_requests').where({ id: callbackId }).whereIn('status', OPEN).update({ status, outcome_reason: reason, updated_at: this.db.fn.now(), claimed_by: null, claim_expires_at: null }).returning('*')) as CallbackRow[];
    const row = rows[0];
    if (!row) return false;
    announceChange(this.db, 'callback_requests', row);
    if (status === 'cancelled' || status === 'expired' || status === 'failed' || status === 'completed') {
      await this.recordEvent(callbackId, status, { detail: { reason }, at: now });
    }
    return true;
  }

  /** Moves a pending callback's earliest dial time (reschedule); false if it is not pending. */
  async reschedule(callbackId: string, notBefore: Date, now: Date): Promise<StoredCallback | undefined> {
    const rows = (await this.db('callback_requests').where({ id: callbackId, status: 'pending' }).update({ not_before: notBefore, updated_at: this.db.fn.now() }).returning('*')) as CallbackRow[];
    if (rows.length === 0) return undefined;
    announceChange(this.db, 'callback_requests', rows[0] as CallbackRow);
    await this.recordEvent(callbackId, 'rescheduled', { detail: { notBefore: notBefore.toISOString() }, at: now });
    return toCallback(rows[0] as CallbackRow);
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
      await tx('callback_events').insert({ callback_id: callbackId, at: now, type: 'fell_back_to_queue', detail: JSON.stringify({ queueId }) });
      return rows[0] as CallbackRow;
    });
    if (!moved) return undefined;
    announceChange(this.db, 'callback_requests', moved);
    return toCallback(moved);
  }

  /** One row per direct call, written when it starts and completed when it ends. */
  async recordDirectCall(row: DirectCallRecord): Promise<void> {
    await this.db('direct_calls')
      .insert({
        channel_id: row.channelId,
        agent_id: row.agentId ?? null,
        dialled: row.dialled,
        caller_number: row.callerNumber ?? null,
        caller_name: row.callerName ?? null,
        started_at: row.startedAt,
        answered_at: row.answeredAt ?? null,
        ended_at: row.endedAt ?? null,
        outcome: row.outcome ?? null,
        reason: row.reason ?? null,
        cause: row.cause ?? null,
        callback_id: row.callbackId ?? null,
      })
      .onConflict('channel_id')
      .merge();
  }

  async directCall(channelId: string): Promise<DirectCallRecord | undefined> {
    const r = (await this.db('direct_calls').where({ channel_id: channelId }).first()) as
      | { channel_id: string; agent_id: string | null; dialled: string; caller_number: string | null; caller_name: string | null; started_at: Date; answered_at: Date | null; ended_at: Date | null; outcome: string | null; reason: string | null; cause: number | null; callback_id: string | null }
      | undefined;
    if (!r) return undefined;
    return {
      channelId: r.channel_id,
      agentId: r.agent_id,
      dialled: r.dialled,
      callerNumber: r.caller_number,
      callerName: r.caller_name,
      startedAt: r.started_at,
      answeredAt: r.answered_at,
      endedAt: r.ended_at,
      outcome: r.outcome,
      reason: r.reason,
      cause: r.cause,
      callbackId: r.callback_id,
    };
  }

  async history(callbackId: string): Promise<CallbackEventRow[]> {
    const rows = (await this.db('callback_events').where({ callback_id: callbackId }).orderBy('id')) as {
      id: string | number;
      callback_id: string;
      at: Date;
      type: CallbackEventType;
      agent_id: string | null;
      detail: Record<string, unknown>;
    }[];
    return rows.map((r) => ({ id: Number(r.id), callbackId: r.callback_id, at: r.at, type: r.type, agentId: r.agent_id, detail: r.detail }));
  }

  async attempts(callbackId: string): Promise<AttemptRow[]> {
    const rows = (await this.db('callback_attempts').where({ callback_id: callbackId }).orderBy('id')) as AttemptDbRow[];
    return rows.map(toAttempt);
  }
}

interface AttemptDbRow {
  id: string | number;
  callback_id: string;
  attempt_no: number;
  agent_id: string;
  agent_channel_id: string;
  customer_channel_id: string | null;
  customer_dialed_at: Date | null;
  customer_answered_at: Date | null;
  /** Read where it matters (a lost instance's attempts); absent from rows built in memory. */
  bridged_at?: Date | null;
  outcome: string | null;
  cause: number | null;
  cause_txt: string | null;
  started_at: Date;
  ended_at: Date | null;
}

function toAttempt(r: AttemptDbRow): AttemptRow {
  return {
    id: Number(r.id),
    callbackId: r.callback_id,
    attemptNo: r.attempt_no,
    agentId: r.agent_id,
    agentChannelId: r.agent_channel_id,
    customerChannelId: r.customer_channel_id,
    outcome: r.outcome,
    cause: r.cause,
    causeTxt: r.cause_txt,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}
