import { HANGUP_CAUSE } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { AttemptOutcome, decideRetry, TimerHandle } from '../domain';
import { Logger } from '../logging/logger';
import { AttemptStep } from '../store/attempt-store';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext } from './call-context';
import { PROMPTS } from './prompts';

/**
 * The bookkeeping every callback attempt shares, whatever leg is called first: the claim (lease)
 * before anyone is rung, its renewal while the attempt lives, and the outcome with the retry rule.
 */

export async function claimCallback(
  ctx: CallContext,
  callback: StoredCallback,
  agentId: string,
  firstChannelId: string,
  log: Logger,
): Promise<{ callback: StoredCallback; attempt: AttemptRow } | null> {
  try {
    return await ctx.store.claim({
      callbackId: callback.id,
      instanceId: ctx.config.instanceId,
      agentId,
      agentChannelId: firstChannelId,
      leaseMs: ctx.config.callback.leaseSec * 1000,
      now: new Date(ctx.clock.now()),
    });
  } catch (e) {
    log.error('could not claim callback (database)', { error: String(e) });
    return null;
  }
}

/** A step in the attempt's history (reports); a failed write is logged and the call goes on. */
export async function noteAttemptStep(
  ctx: CallContext,
  log: Logger,
  attempt: AttemptRow,
  callbackId: string,
  step: AttemptStep,
  opts: { agentId?: string },
): Promise<void> {
  await ctx.store
    .markAttempt(attempt.id, callbackId, step, { ...opts, now: new Date(ctx.clock.now()) })
    .catch((e: unknown) => log.warn('history write failed', { error: String(e) }));
}

/** Renews the lease every third of its length until stopped. */
export class LeaseKeeper {
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: CallContext,
    private readonly callbackId: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    const leaseMs = this.ctx.config.callback.leaseSec * 1000;
    this.timer = this.ctx.clock.setTimer(
      () => {
        if (this.stopped) return;
        void this.ctx.store
          .renewLease(this.callbackId, this.ctx.config.instanceId, leaseMs, new Date(this.ctx.clock.now()))
          .catch((e: unknown) => this.log.warn('lease renewal failed', { error: String(e) }));
        this.start();
      },
      Math.max(1000, leaseMs / 3),
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.ctx.clock.clearTimer(this.timer);
  }
}

/** What a failed customer leg means, from its hang-up cause. */
export function customerLegOutcome(cause: number | undefined): { outcome: AttemptOutcome; prompt: string } {
  if (cause === HANGUP_CAUSE.USER_BUSY) return { outcome: 'busy', prompt: PROMPTS.customerBusy };
  if (cause === HANGUP_CAUSE.NO_ANSWER || cause === HANGUP_CAUSE.NO_USER_RESPONSE)
    return { outcome: 'no_answer', prompt: PROMPTS.customerNoAnswer };
  if (cause === HANGUP_CAUSE.CONGESTION) return { outcome: 'congestion', prompt: PROMPTS.customerFailed };
  return { outcome: 'failed', prompt: PROMPTS.customerFailed };
}

const AGENT_SIDE = new Set([
  'agent_declined',
  'agent_no_decision',
  'agent_no_answer',
  'agent_busy',
  'agent_unreachable',
  'agent_hung_up_in_preview',
  'no_agent',
]);

/**
 * Closes an attempt that did not end in a conversation and moves the callback on: back to its
 * place (attempts + 1 and the retry gap when the customer was dialled; at once and uncounted when
 * only the agent side failed) or failed at the maximum. A database failure here loses nothing:
 * the lease expires and the callback is reclaimed.
 */
export async function concludeAttempt(
  ctx: CallContext,
  log: Logger,
  input: { callback: StoredCallback; attempt: AttemptRow; queue: QueueConfig; outcome: string; cause?: number; customerDialled: boolean },
): Promise<StoredCallback> {
  const { callback, attempt, queue, outcome, cause, customerDialled } = input;
  const now = ctx.clock.now();
  const agentSide = AGENT_SIDE.has(outcome);
  const retryOutcome: AttemptOutcome = agentSide
    ? outcome === 'agent_declined' || outcome === 'agent_no_decision'
      ? 'agent_declined'
      : 'agent_no_answer'
    : ((outcome === 'answered' ? 'failed' : outcome) as AttemptOutcome);
  const decision = customerDialled
    ? decideRetry({
        attemptsMade: callback.attempts + 1,
        maxAttempts: callback.maxAttempts,
        lastAttemptEndedAt: now,
        minGapMs: queue.retryMinGapSec * 1000,
        now,
        outcome: retryOutcome,
      })
    : ({ kind: 'retry', notBefore: now } as const);
  const nextStatus = decision.kind === 'give_up' ? 'failed' : decision.kind === 'done' ? 'completed' : 'pending';
  let updated = callback;
  try {
    updated = await ctx.store.finishAttempt({
      attemptId: attempt.id,
      callbackId: callback.id,
      outcome,
      cause: cause ?? null,
      nextStatus,
      countsAsAttempt: customerDialled,
      notBefore: decision.kind === 'retry' && customerDialled ? new Date(decision.notBefore) : null,
      reason: decision.kind === 'give_up' ? `${decision.reason}: last ${outcome}` : null,
      now: new Date(now),
    });
  } catch (e) {
    log.error('could not record the attempt outcome; the lease will expire', { error: String(e) });
  }
  log.info('callback attempt ended', { outcome, cause, nextStatus, attempts: updated.attempts });
  return updated;
}

export function isAgentSideOutcome(outcome: string): boolean {
  return AGENT_SIDE.has(outcome);
}

/**
 * The attempt bridged agent and customer: the callback is completed at once, so a crash during
 * the conversation never dials it again. Returns the stored callback (unchanged when the write
 * failed: the failure is logged, the conversation goes on).
 */
export async function completeAttempt(
  ctx: CallContext,
  log: Logger,
  attempt: AttemptRow,
  callback: StoredCallback,
): Promise<StoredCallback> {
  const now = () => new Date(ctx.clock.now());
  try {
    await ctx.store.markAttempt(attempt.id, callback.id, 'bridged', { now: now() });
    const completed = await ctx.store.finishAttempt({
      attemptId: attempt.id,
      callbackId: callback.id,
      outcome: 'answered',
      nextStatus: 'completed',
      countsAsAttempt: true,
      reason: 'bridged',
      now: now(),
    });
    ctx.milestone('callback_completed', { callbackId: completed.id });
    return completed;
  } catch (e) {
    log.error('could not record the completed callback', { error: String(e) });
    return callback;
  }
}

/**
 * An agent-first attempt is over and dispatch gets its callback back as it now stands. A
 * conversation needs nothing more (it was completed at the bridge), nor does an attempt never
 * claimed; any other outcome is concluded by the retry rule, and one on the agent's side also
 * keeps the callback from that agent for a while.
 */
export async function endAttempt(
  ctx: CallContext,
  log: Logger,
  input: {
    callback: StoredCallback;
    attempt: AttemptRow | undefined;
    queue: QueueConfig;
    agentId: string;
    outcome: string;
    cause?: number;
    customerDialled: boolean;
  },
): Promise<StoredCallback> {
  const { attempt, outcome } = input;
  let callback = input.callback;
  if (outcome !== 'answered' && attempt) {
    if (isAgentSideOutcome(outcome)) ctx.queues.declined(callback.id, input.agentId);
    callback = await concludeAttempt(ctx, log, {
      callback,
      attempt,
      queue: input.queue,
      outcome,
      cause: input.cause,
      customerDialled: input.customerDialled,
    });
  }
  ctx.queues.callbackAttemptEnded(callback);
  return callback;
}
