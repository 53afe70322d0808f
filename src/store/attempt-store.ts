import { Knex } from 'knex';
import { announceChange } from './change-feed';
import { CallbackRow, StoredCallback, toCallback } from './callback-records';

/** The steps of an attempt that are timed in its row and logged in the history. */
export type AttemptStep = 'agent_answered' | 'agent_accepted' | 'customer_dialled' | 'customer_answered' | 'bridged';

const STEP_COLUMN: Record<AttemptStep, string> = {
  agent_answered: 'agent_answered_at',
  agent_accepted: 'agent_accepted_at',
  customer_dialled: 'customer_dialed_at',
  customer_answered: 'customer_answered_at',
  bridged: 'bridged_at',
};

/** Who may finish an attempt: the instance holding the claim it was opened under. */
export interface AttemptOwner {
  instanceId: string;
  /** The attempt's number: the callback's attempts_started while no later claim has happened. */
  attemptNo: number;
}

/** How an attempt ended, and what happens to its callback. */
export interface FinishedAttempt {
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
 * Where a claimed callback's attempt is recorded as it goes (agent answered, customer dialled,
 * bridged) and closed, each step with its history event, so reports and a lost instance's
 * successor see how far it got.
 */
export class AttemptStore {
  constructor(private readonly db: Knex) {}

  /** Marks a step of an attempt (agent answered, customer dialled...) and logs it in the history. */
  async markAttempt(
    attemptId: number,
    callbackId: string,
    step: AttemptStep,
    opts: { agentId?: string; customerChannelId?: string; now: Date },
  ): Promise<void> {
    await this.markAttemptSteps(attemptId, callbackId, [step], opts);
  }

  /**
   * Marks several steps of an attempt at once (the agent's 1 is "accepted" and "customer
   * dialled"), each with its history event, in one statement: atomic, and one round trip while the
   * customer is about to be dialled. The customer channel id, when given, is written with them and
   * belongs to the customer_dialled event.
   */
  async markAttemptSteps(
    attemptId: number,
    callbackId: string,
    steps: readonly AttemptStep[],
    opts: { agentId?: string; customerChannelId?: string; now: Date },
  ): Promise<void> {
    if (steps.length === 0) return;
    // Column names come from STEP_COLUMN, never from input.
    const sets = steps.map((step) => `${STEP_COLUMN[step]} = p.now`);
    if (opts.customerChannelId) sets.push('customer_channel_id = p.customer_channel_id');
    const values = steps.map(() => '(CAST(? AS integer), CAST(? AS text), CAST(? AS jsonb))').join(', ');
    const eventBindings = steps.flatMap((step, i) => [
      i,
      step,
      JSON.stringify(step === 'customer_dialled' && opts.customerChannelId ? { customerChannelId: opts.customerChannelId } : {}),
    ]);
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
  async finishAttempt(o: FinishedAttempt): Promise<StoredCallback> {
    return (await this.finish(o, undefined)).callback;
  }

  /**
   * Like finishAttempt, but only while `owner` still holds the claim of this very attempt (same
   * instance, status in_progress, and no later claim: attempts_started is still its number). A
   * stale owner whose lease ran out and was claimed again (by another instance or by itself)
   * changes nothing of the callback: `owned` is false and the callback is returned as it stands.
   */
  async finishOwnedAttempt(o: FinishedAttempt & { owner: AttemptOwner }): Promise<{ callback: StoredCallback; owned: boolean }> {
    return this.finish(o, o.owner);
  }

  private async finish(o: FinishedAttempt, owner: AttemptOwner | undefined): Promise<{ callback: StoredCallback; owned: boolean }> {
    const finished = await this.db.transaction(async (tx): Promise<{ row: CallbackRow; owned: boolean }> => {
      // The attempt row is closed whoever holds the claim now: a reclaim has closed it already (then this is a no-op).
      await tx('callback_attempts')
        .where({ id: o.attemptId })
        .whereNull('ended_at')
        .update({
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
      const target = tx('callback_requests').where({ id: o.callbackId });
      if (owner) void target.andWhere({ status: 'in_progress', claimed_by: owner.instanceId, attempts_started: owner.attemptNo });
      const [row] = (await target.update(patch).returning('*')) as CallbackRow[];
      if (!row) {
        const current = (await tx('callback_requests').where({ id: o.callbackId }).first()) as CallbackRow | undefined;
        if (!current) throw new Error(`callback ${o.callbackId} vanished while finishing an attempt`);
        return { row: current, owned: false };
      }
      if (o.nextStatus !== 'pending') {
        await tx('callback_events').insert({
          callback_id: o.callbackId,
          at: o.now,
          type: o.nextStatus,
          detail: JSON.stringify({ outcome: o.outcome, reason: o.reason ?? null }),
        });
      }
      return { row, owned: true };
    });
    if (finished.owned) announceChange(this.db, 'callback_requests', finished.row);
    return { callback: toCallback(finished.row), owned: finished.owned };
  }
}
