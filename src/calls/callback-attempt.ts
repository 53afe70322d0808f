import { AriEvent, HANGUP_CAUSE } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { AttemptOutcome, decideRetry, TimerHandle } from '../domain';
import { writeDurably } from '../domain/durable-write';
import { Logger } from '../logging/logger';
import { AttemptStep } from '../store/attempt-store';
import { AttemptOwner, AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext } from './call-context';
import { Leg } from './leg';
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

/**
 * Renews the lease every third of its length until stopped. The owner stops it only once the
 * attempt's end is stored, so that a database outage at the end never lets the lease run out
 * while the end is being retried (another claim would dial the customer again). A renewal that
 * finds the claim no longer this attempt's (a later claim took it over) marks the lease lost.
 */
export class LeaseKeeper {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private lost = false;

  constructor(
    private readonly ctx: CallContext,
    private readonly callbackId: string,
    private readonly log: Logger,
    /** The attempt's number: a renewal holds only while no later claim has happened. */
    private readonly attemptNo?: number,
  ) {}

  /** False once a renewal found that the claim is no longer this attempt's. */
  get held(): boolean {
    return !this.lost;
  }

  start(): void {
    const leaseMs = this.ctx.config.callback.leaseSec * 1000;
    this.timer = this.ctx.clock.setTimer(
      () => {
        if (this.stopped) return;
        void this.ctx.store
          .renewLease(this.callbackId, this.ctx.config.instanceId, leaseMs, new Date(this.ctx.clock.now()), this.attemptNo)
          .then((renewed) => {
            if (renewed || this.stopped || this.lost) return;
            this.lost = true;
            this.log.warn('the claim of this attempt is no longer held (its lease ran out and it was claimed again)');
          })
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

/**
 * The end of an attempt, written until it is stored: the lease is renewed meanwhile, and the
 * write is given up only when the claim turns out to be someone else's. Undefined then (and when
 * the stored claim was not this attempt's): the caller asks the store what became of it.
 */
async function writeAttemptEnd(
  ctx: CallContext,
  log: Logger,
  lease: LeaseKeeper | undefined,
  what: string,
  write: () => Promise<{ callback: StoredCallback; owned: boolean }>,
): Promise<{ callback: StoredCallback; owned: boolean } | undefined> {
  const result = await writeDurably(write, {
    clock: ctx.clock,
    stillWanted: () => lease?.held ?? true,
    onFailure: (e, tries, nextMs) => {
      const level = tries === 1 ? 'error' : 'warn';
      log[level](`could not record ${what}; retrying while the lease is kept`, { error: String(e), tries, retryInMs: nextMs });
    },
  });
  if (result.kind === 'given_up') {
    log.warn(`${what} not recorded: the claim is no longer this attempt's`, { tries: result.tries });
    return undefined;
  }
  if (result.tries > 1) log.info(`${what} recorded after the database came back`, { tries: result.tries });
  if (!result.value.owned)
    log.warn(`${what} not recorded: the callback was claimed again meanwhile`, { status: result.value.callback.status });
  return result.value;
}

/** The owner of an attempt, as its end is guarded in the store (finishOwnedAttempt). */
function ownerOf(ctx: CallContext, attempt: AttemptRow): AttemptOwner {
  return { instanceId: ctx.config.instanceId, attemptNo: attempt.attemptNo };
}

/** Waits for `promise` at most `ms` (then undefined); it goes on in the background. */
export function waitAtMost<T>(ctx: CallContext, promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = ctx.clock.setTimer(() => resolve(undefined), ms);
    void promise.then((v) => {
      ctx.clock.clearTimer(timer);
      resolve(v);
    });
  });
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
 * only the agent side failed) or failed at the maximum. A database outage delays the write (it is
 * retried, the lease kept meanwhile), never loses it while this process lives; only a stale
 * owner (the claim was taken over) writes nothing. The callback returned is as the store has it
 * ('cancelled' when that is unknown: the caller asks the store again).
 */
export async function concludeAttempt(
  ctx: CallContext,
  log: Logger,
  input: {
    callback: StoredCallback;
    attempt: AttemptRow;
    queue: QueueConfig;
    outcome: string;
    cause?: number;
    customerDialled: boolean;
    lease: LeaseKeeper | undefined;
  },
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
  const written = await writeAttemptEnd(ctx, log, input.lease, 'the attempt outcome', () =>
    ctx.store.finishOwnedAttempt({
      attemptId: attempt.id,
      callbackId: callback.id,
      outcome,
      cause: cause ?? null,
      nextStatus,
      countsAsAttempt: customerDialled,
      notBefore: decision.kind === 'retry' && customerDialled ? new Date(decision.notBefore) : null,
      reason: decision.kind === 'give_up' ? `${decision.reason}: last ${outcome}` : null,
      now: new Date(now),
      owner: ownerOf(ctx, attempt),
    }),
  );
  input.lease?.stop();
  const updated: StoredCallback = written?.callback ?? { ...callback, status: 'cancelled' };
  log.info('callback attempt ended', { outcome, cause, nextStatus, attempts: updated.attempts, stored: updated.status });
  return updated;
}

export function isAgentSideOutcome(outcome: string): boolean {
  return AGENT_SIDE.has(outcome);
}

/**
 * The attempt bridged agent and customer: the callback is completed at once, so a crash during
 * the conversation never dials it again. Written until stored (the lease kept meanwhile: a lease
 * running out now would have the customer dialled again after their conversation). Resolves to
 * the stored callback, or to undefined when the claim was taken over before it could be written.
 */
export async function completeAttempt(
  ctx: CallContext,
  log: Logger,
  attempt: AttemptRow,
  callback: StoredCallback,
  lease: LeaseKeeper | undefined,
  agentId?: string,
): Promise<StoredCallback | undefined> {
  const now = new Date(ctx.clock.now());
  let bridgedNoted = false;
  const written = await writeAttemptEnd(ctx, log, lease, 'the completed callback', async () => {
    // The history step once only, however many tries the end takes.
    if (!bridgedNoted) await ctx.store.markAttempt(attempt.id, callback.id, 'bridged', { agentId, now });
    bridgedNoted = true;
    return ctx.store.finishOwnedAttempt({
      attemptId: attempt.id,
      callbackId: callback.id,
      outcome: 'answered',
      nextStatus: 'completed',
      countsAsAttempt: true,
      reason: 'bridged',
      now,
      owner: ownerOf(ctx, attempt),
    });
  });
  lease?.stop();
  if (written?.owned) ctx.milestone('callback_completed', { callbackId: written.callback.id });
  return written?.callback;
}

/**
 * An agent-first attempt is over and dispatch gets its callback back as it now stands. A
 * conversation needs nothing more than its completion (written since the bridge: waited for
 * here), nor does an attempt never claimed; any other outcome is concluded by the retry rule, and
 * one on the agent's side also keeps the callback from that agent for a while.
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
    lease: LeaseKeeper | undefined;
    /** The completion written since the bridge, if the attempt got that far. */
    completion?: Promise<StoredCallback | undefined>;
  },
): Promise<StoredCallback> {
  const { attempt, outcome } = input;
  let callback = input.callback;
  if (input.completion) {
    callback = (await input.completion) ?? { ...callback, status: 'cancelled' };
  } else if (attempt && outcome !== 'answered') {
    if (isAgentSideOutcome(outcome)) ctx.queues.declined(callback.id, input.agentId);
    callback = await concludeAttempt(ctx, log, {
      callback,
      attempt,
      queue: input.queue,
      outcome,
      cause: input.cause,
      customerDialled: input.customerDialled,
      lease: input.lease,
    });
  }
  input.lease?.stop();
  ctx.queues.callbackAttemptEnded(callback);
  return callback;
}

/** How long past Asterisk's own ring timeout a ringing leg may stay unheard of before it is looked for. */
const LOST_END_MARGIN_MS = 3000;

/**
 * A ringing leg (originated, or created and dialled) ends by Asterisk's ring timeout at the
 * latest. If nothing was heard of it by then, its events may have been lost in a WebSocket gap
 * (the reconciler closes out only channels whose events it saw: it cannot tell a channel that
 * went in the gap from one not created yet), so Asterisk is asked whether it still has the
 * channel. Gone, the session is told so (unanswered), so that the attempt ends instead of holding
 * its agent and its callback for good; answered (Up: an originated channel is in Stasis once
 * answered), the session is told that, so that the agent or customer is not left in silence.
 */
export function watchRingingLeg(ctx: CallContext, leg: Leg, ringTimeoutSec: number, log: Logger, deliver: (event: AriEvent) => void): void {
  const ringing = (): boolean => leg.state === 'originating' || leg.state === 'dialling';
  let timer: TimerHandle | undefined;
  const schedule = (): void => {
    timer = ctx.clock.setTimer(look, ringTimeoutSec * 1000 + LOST_END_MARGIN_MS);
  };
  const look = (): void => {
    timer = undefined;
    if (!ringing()) return;
    ctx.control.listChannels().then(
      (channels) => {
        if (!ringing()) return;
        const listed = channels.find((c) => c.id === leg.channelId);
        if (listed?.state === 'Up') {
          // Answered and its answer not heard: what was lost is delivered, so the call goes on.
          log.warn('a ringing leg is answered without any event about it (lost in a WebSocket gap?)', { channelId: leg.channelId });
          deliver(
            leg.state === 'originating'
              ? { type: 'StasisStart', channel: listed, args: [] }
              : { type: 'ChannelStateChange', channel: listed },
          );
          return;
        }
        if (listed) return schedule();
        log.warn('a ringing leg is gone without any event about it (lost in a WebSocket gap?); treated as unanswered', {
          channelId: leg.channelId,
        });
        const channel = {
          id: leg.channelId,
          name: leg.channelId,
          state: 'Down',
          caller: { name: '', number: '' },
          connected: { name: '', number: '' },
        } as const;
        deliver({ type: 'ChannelDestroyed', channel, cause: HANGUP_CAUSE.NO_ANSWER, cause_txt: 'No answer (end not heard)' });
      },
      () => schedule(),
    );
  };
  const stop = (): void => {
    if (timer) ctx.clock.clearTimer(timer);
    timer = undefined;
  };
  leg.on('answered', stop);
  leg.on('gone', stop);
  schedule();
}
