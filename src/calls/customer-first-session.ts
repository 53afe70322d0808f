import { randomUUID } from 'node:crypto';
import { AriEvent } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { displayNameForAgent, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext, ChannelSession } from './call-context';
import { ChannelPlaybacks } from './playback';
import {
  claimCallback,
  completeAttempt,
  concludeAttempt,
  customerLegOutcome,
  LeaseKeeper,
  waitAtMost,
  watchRingingLeg,
} from './callback-attempt';
import { PROMPTS, promptLanguageFor } from './prompts';
import { ownChannelId } from './channel-ids';
import { gatedEndpoint, NUMBER_REFUSED } from './dial-gate';
import { decideGuard } from '../domain/policies';
import { Leg, LegPair } from './leg';

/** How long the hang-up of the survivor waits for the completion to be stored (it is still written after). */
const COMPLETION_WAIT_MS = 2000;

type State = 'claiming' | 'dialling_customer' | 'guarding' | 'ringing_agent' | 'waiting_for_agent' | 'bridged' | 'ended';

/**
 * Customer-first callback (a queue's `mode: customer-first`): the customer is dialled first with
 * the queue's caller id, confirms with 1, waits on music, and is connected to the agent reserved
 * for them when dispatch chose this callback (or, if that agent does not answer, the next free
 * one). Dispatch only starts it when an agent is free, so it goes ahead of live callers.
 */
export class CustomerFirstSession implements ChannelSession {
  readonly kind = 'customer-first';
  private state: State = 'claiming';
  private readonly log: Logger;
  private readonly customerChannelId: string;
  /** The customer's leg (originated: it enters Stasis answered) and the agent's being rung, if any. */
  private readonly customer: Leg;
  private agentLeg: Leg | undefined;
  /** Once bridged: when one leg goes, the other is hung up. */
  private pair: LegPair | undefined;
  private readonly holdBridgeId = `cf-hold-${randomUUID()}`;
  private readonly bridgeId = `cf-bridge-${randomUUID()}`;
  /**
   * The agent this attempt holds reserved (dispatch's choice, then each agent rung): released once,
   * whichever way the attempt ends. The customer hanging up while the hold was being made left
   * dispatch's agent held for ever (fuzzer: an agent held for a plugin call).
   */
  private currentAgentId: string | undefined;
  private readonly playbacks: ChannelPlaybacks;
  private attempt: AttemptRow | undefined;
  private lease: LeaseKeeper | undefined;
  private guardTimer: TimerHandle | undefined;
  private waitTimer: TimerHandle | undefined;
  private answeredAt = 0;
  private bridgedAt = 0;
  /** customer_dialled is stored: from then on the attempt counts against max_attempts, whatever its end. */
  private dialRecorded = false;
  /** The completion being written since the bridge (retried through a database outage). */
  private completion: Promise<StoredCallback | undefined> | undefined;

  constructor(
    private readonly ctx: CallContext,
    private callback: StoredCallback,
    private readonly queue: QueueConfig,
    private readonly reservedAgentId: string,
  ) {
    this.currentAgentId = reservedAgentId;
    this.customerChannelId = ownChannelId('cf-customer', ctx.config.ari.app);
    this.playbacks = new ChannelPlaybacks(ctx, this.customerChannelId);
    this.customer = new Leg(ctx, this.customerChannelId);
    this.customer.on('answered', () => void this.onCustomerAnswered());
    this.customer.on('gone', (_leg, cause) => void this.onCustomerGone(cause));
    this.log = callLogger(ctx.logger, {
      callId: this.customerChannelId,
      kind: this.kind,
      queueId: callback.queueId,
      callbackId: callback.id,
    });
  }

  get callbackId(): string {
    return this.callback.id;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const claimed = await claimCallback(ctx, this.callback, this.reservedAgentId, this.customerChannelId, this.log);
    if (!claimed) {
      ctx.agents.release(this.reservedAgentId, { talked: false });
      this.currentAgentId = undefined;
      ctx.queues.callbackAttemptEnded({ ...this.callback, status: 'cancelled' });
      this.state = 'ended';
      return;
    }
    this.callback = claimed.callback;
    this.attempt = claimed.attempt;
    this.lease = new LeaseKeeper(ctx, this.callback.id, this.log, this.attempt.attemptNo);
    this.lease.start();
    this.state = 'dialling_customer';
    ctx.bind(this.customerChannelId, this);
    const now = new Date(ctx.clock.now());
    // Defence in depth: the number passes the queue's policy again where it becomes a dial string.
    const gate = gatedEndpoint(ctx, this.queue, this.callback.customerNumber);
    if (!gate.ok) {
      this.log.warn('number refused by the queue number policy at dial time; not dialled', { reason: gate.reason });
      await this.finish(NUMBER_REFUSED, undefined);
      return;
    }
    const endpoint = gate.endpoint;
    const cid = this.queue.outboundCallerId;
    try {
      // Written before dialling: after a crash this attempt is known to have called the customer.
      await ctx.store.markAttempt(this.attempt.id, this.callback.id, 'customer_dialled', {
        customerChannelId: this.customerChannelId,
        now,
      });
      this.dialRecorded = true;
      await this.customer.originate({
        endpoint,
        appArgs: ['customer-first', this.callback.id],
        callerId: `"${cid.name.replace(/["<>]/g, '')}" <${cid.number}>`,
        timeoutSec: ctx.config.callback.customerRingTimeoutSec,
        variables: { CALLBACK_ID: this.callback.id },
      });
      ctx.milestone('customer_leg_dialled', { callbackId: this.callback.id, channelId: this.customerChannelId, mode: 'customer-first' });
      watchRingingLeg(ctx, this.customer, ctx.config.callback.customerRingTimeoutSec, this.log, (e) => this.onEvent(e));
    } catch (e) {
      this.log.warn('customer could not be dialled', { endpoint, error: String(e) });
      await this.finish('failed', undefined);
    }
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    if (this.customer.onEvent(event)) {
      if (event.type === 'ChannelDtmfReceived' && this.state === 'guarding' && this.guardPassedBy(event.digit))
        void this.onCustomerConfirmed();
    } else this.agentLeg?.onEvent(event);
  }

  private guardPassedBy(digit: string): boolean {
    const timeoutMs = this.queue.guard.timeoutSec * 1000;
    return decideGuard({ answeredAtMs: this.answeredAt, nowMs: this.ctx.clock.now(), timeoutMs, digit }).kind === 'connect';
  }

  private async onCustomerAnswered(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    this.state = 'guarding';
    this.answeredAt = this.ctx.clock.now();
    this.ctx.milestone('customer_leg_answered', { callbackId: this.callback.id, channelId: this.customerChannelId });
    // The prompt first, the record beside it: a slow database (a lock, an outage) must not leave
    // a customer who just answered in silence (fuzzer: 2.5 s of dead air behind a lock wait).
    // The customer hears the language the caller booked in (stored with the callback).
    await Promise.all([
      this.ctx.control
        .play(this.customerChannelId, [PROMPTS.guard], this.playbacks.nextId(), promptLanguageFor(this.callback.language, this.queue))
        .catch(() => undefined),
      this.ctx.store
        .markAttempt(this.attempt.id, this.callback.id, 'customer_answered', { now: new Date(this.ctx.clock.now()) })
        .catch(() => undefined),
    ]);
    // Without the guard configured the customer still confirms: there is no agent on the line yet.
    this.guardTimer = this.ctx.clock.setTimer(() => void this.finish('no_answer', undefined), this.queue.guard.timeoutSec * 1000);
  }

  private async onCustomerConfirmed(): Promise<void> {
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    this.guardTimer = undefined;
    this.state = 'waiting_for_agent';
    // The customer may hang up during any of these: the end has torn down what it knew of, and
    // nothing more is sent for a call that is over (a bridge made after the end's destroy stayed).
    const holding = async (): Promise<boolean> => {
      await this.ctx.control.createBridge(this.holdBridgeId, 'holding', `callback ${this.callback.id} hold`);
      if (this.isOver()) return false;
      await this.ctx.control.addToBridge(this.holdBridgeId, [this.customerChannelId]);
      if (this.isOver()) return false;
      await this.ctx.control.startBridgeMoh(this.holdBridgeId);
      return !this.isOver();
    };
    const held = await holding().catch((e: unknown) => {
      this.log.warn('could not hold the customer', { error: String(e) });
      return !this.isOver();
    });
    if (!held) {
      await this.ctx.control.destroyBridge(this.holdBridgeId).catch(() => undefined);
      return;
    }
    this.waitTimer = this.ctx.clock.setTimer(() => void this.finish('no_agent', undefined), this.queue.customerFirstMaxWaitSec * 1000);
    await this.ringAgent(this.reservedAgentId);
  }

  /** The attempt ended (the customer went) while a request was under way. */
  private isOver(): boolean {
    return this.state === 'ended';
  }

  private async ringAgent(agentId: string): Promise<void> {
    const agent = this.ctx.agents.get(agentId);
    if (!agent || this.state !== 'waiting_for_agent') return;
    this.currentAgentId = agentId;
    const leg = (this.agentLeg = new Leg(this.ctx, ownChannelId('cf-agent', this.ctx.config.ari.app)));
    leg.on('answered', () => void this.onAgentAnswered());
    leg.on('gone', (_leg, cause) => void this.onAgentLegGone(leg, cause));
    this.ctx.bind(leg.channelId, this);
    this.state = 'ringing_agent';
    const shown = displayNameForAgent(this.ctx.config.callback.agentCallerIdPrefix, this.callback.customerNumber).replace(/["<>]/g, '');
    try {
      await leg.originate({
        endpoint: agent.endpoint,
        appArgs: ['cf-agent', this.callback.id],
        callerId: `"${shown}" <${this.callback.customerNumber}>`,
        timeoutSec: this.ctx.config.callback.agentRingTimeoutSec,
      });
      this.ctx.milestone('agent_leg_originated', {
        callbackId: this.callback.id,
        agentId,
        channelId: leg.channelId,
        mode: 'customer-first',
      });
      watchRingingLeg(this.ctx, leg, this.ctx.config.callback.agentRingTimeoutSec, this.log, (e) => this.onEvent(e));
    } catch (e) {
      this.log.warn('agent could not be rung', { agentId, error: String(e) });
      await this.onAgentLegGone(leg, undefined);
    }
  }

  private async onAgentAnswered(): Promise<void> {
    const agentLeg = this.agentLeg;
    if (this.state !== 'ringing_agent' || !this.attempt || !agentLeg) return;
    this.state = 'bridged';
    this.pair = new LegPair(this.customer, agentLeg, () => 'hang_up');
    if (this.waitTimer) this.ctx.clock.clearTimer(this.waitTimer);
    try {
      await this.ctx.control.destroyBridge(this.holdBridgeId).catch(() => undefined);
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `callback ${this.callback.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.customerChannelId, agentLeg.channelId]);
    } catch (e) {
      this.log.warn('could not bridge customer and agent', { error: String(e) });
      await this.finish('failed', undefined);
      return;
    }
    // A leg went while the bridge was made: finish() has concluded the attempt (no conversation).
    if (this.state !== 'bridged') return;
    this.bridgedAt = this.ctx.clock.now();
    this.ctx.milestone('bridged', { callbackId: this.callback.id, bridgeId: this.bridgeId, mode: 'customer-first' });
    // The callback has happened: completed now (retried through an outage, the lease kept), so
    // that neither a crash nor a lease running out during the talk dials the customer again.
    this.completion = completeAttempt(this.ctx, this.log, this.attempt, this.callback, this.lease, this.currentAgentId);
    const completed = await waitAtMost(this.ctx, this.completion, COMPLETION_WAIT_MS);
    if (completed) this.callback = completed;
  }

  /** The agent did not take it: the next free agent, while the customer waits on music. */
  private async onAgentLegGone(leg: Leg, cause: number | undefined): Promise<void> {
    if (leg !== this.agentLeg) return; // an earlier agent's leg
    const agentId = this.currentAgentId;
    this.ctx.unbind(leg.channelId);
    this.agentLeg = undefined;
    if (this.state === 'bridged') {
      await this.finish('answered', cause);
      return;
    }
    if (this.state !== 'ringing_agent' || !agentId) return;
    this.ctx.queues.declined(this.callback.id, agentId);
    this.ctx.agents.release(agentId, { talked: false });
    this.currentAgentId = undefined;
    this.state = 'waiting_for_agent';
    this.lookForAgent();
  }

  private lookForAgent(): void {
    if (this.state !== 'waiting_for_agent') return;
    const next = this.ctx.agents.takeFree(this.queue.id, this.callback.id);
    if (next) {
      void this.ringAgent(next);
      return;
    }
    this.ctx.clock.setTimer(() => this.lookForAgent(), 500);
  }

  private async onCustomerGone(cause: number | undefined): Promise<void> {
    if (this.state === 'dialling_customer') {
      await this.finish(customerLegOutcome(cause).outcome, cause);
      return;
    }
    await this.finish(this.state === 'bridged' ? 'answered' : 'customer_hung_up_waiting', cause);
  }

  private async finish(outcome: string, cause: number | undefined): Promise<void> {
    if (this.state === 'ended') return;
    const wasBridged = this.state === 'bridged';
    this.state = 'ended';
    for (const t of [this.guardTimer, this.waitTimer]) if (t) this.ctx.clock.clearTimer(t);
    // The lease is kept until the attempt's end is stored (concludeAttempt, completeAttempt).
    this.playbacks.settleAll();
    const { control } = this.ctx;
    await this.pair?.survivorHandled();
    await this.customer.hangup();
    await this.agentLeg?.hangup();
    await control.destroyBridge(this.holdBridgeId).catch(() => undefined);
    await control.destroyBridge(this.bridgeId).catch(() => undefined);
    const agentChannel = this.agentLeg?.channelId;
    this.ctx.clock.setTimer(() => {
      this.ctx.unbind(this.customerChannelId);
      if (agentChannel) this.ctx.unbind(agentChannel);
    }, 5000);
    const agentToRelease = this.currentAgentId;
    this.currentAgentId = undefined;
    if (agentToRelease)
      this.ctx.agents.release(agentToRelease, {
        talked: wasBridged,
        handleSec: wasBridged ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined,
      });
    if (this.completion) {
      this.callback = (await this.completion) ?? { ...this.callback, status: 'cancelled' };
    } else if (this.attempt) {
      // 'answered' without a completion: the agent went while the bridge was being made, no talk.
      this.callback = await concludeAttempt(this.ctx, this.log, {
        callback: this.callback,
        attempt: this.attempt,
        queue: this.queue,
        outcome,
        cause,
        // Refused at the dial, or the dial could not be recorded (so not made): nothing counts.
        customerDialled: outcome !== NUMBER_REFUSED && this.dialRecorded,
        lease: this.lease,
      });
      this.ctx.milestone('callback_attempt_failed', { callbackId: this.callback.id, outcome, cause });
    }
    this.lease?.stop();
    this.ctx.queues.callbackAttemptEnded(this.callback);
  }
}
