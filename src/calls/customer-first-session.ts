import { randomUUID } from 'node:crypto';
import { AriEvent } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { displayNameForAgent, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { claimCallback, concludeAttempt, customerLegOutcome, LeaseKeeper } from './callback-attempt';
import { PROMPTS, promptLanguageFor } from './prompts';
import { ownChannelId } from './channel-ids';
import { gatedEndpoint, NUMBER_REFUSED } from './dial-gate';
import { decideGuard } from '../domain/policies';

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
  private readonly holdBridgeId = `cf-hold-${randomUUID()}`;
  private readonly bridgeId = `cf-bridge-${randomUUID()}`;
  private agentChannelId: string | undefined;
  private currentAgentId: string | undefined;
  private readonly playbacks: PlaybackTracker;
  private attempt: AttemptRow | undefined;
  private lease: LeaseKeeper | undefined;
  private guardTimer: TimerHandle | undefined;
  private waitTimer: TimerHandle | undefined;
  private waitStartedAt = 0;
  private answeredAt = 0;
  private bridgedAt = 0;
  private customerGone = false;

  constructor(
    private readonly ctx: CallContext,
    private callback: StoredCallback,
    private readonly queue: QueueConfig,
    private readonly reservedAgentId: string,
  ) {
    this.customerChannelId = ownChannelId('cf-customer', ctx.config.ari.app);
    this.playbacks = new PlaybackTracker(this.customerChannelId);
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
      ctx.releaseAgent(this.reservedAgentId, { talked: false });
      ctx.callbackAttemptEnded({ ...this.callback, status: 'cancelled' });
      this.state = 'ended';
      return;
    }
    this.callback = claimed.callback;
    this.attempt = claimed.attempt;
    this.lease = new LeaseKeeper(ctx, this.callback.id, this.log);
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
      await ctx.control.originate({
        channelId: this.customerChannelId,
        endpoint,
        appArgs: ['customer-first', this.callback.id],
        callerId: `"${cid.name.replace(/["<>]/g, '')}" <${cid.number}>`,
        timeoutSec: ctx.config.callback.customerRingTimeoutSec,
        variables: { CALLBACK_ID: this.callback.id },
      });
      ctx.milestone('customer_leg_dialled', { callbackId: this.callback.id, channelId: this.customerChannelId, mode: 'customer-first' });
    } catch (e) {
      this.log.warn('customer could not be dialled', { endpoint, error: String(e) });
      await this.finish('failed', undefined);
    }
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const channelId = 'channel' in event ? event.channel.id : undefined;
    const isCustomer = channelId === this.customerChannelId;
    const isAgent = channelId !== undefined && channelId === this.agentChannelId;
    switch (event.type) {
      case 'StasisStart':
        if (isCustomer) void this.onCustomerAnswered();
        else if (isAgent) void this.onAgentAnswered();
        return;
      case 'ChannelDtmfReceived':
        if (
          isCustomer &&
          this.state === 'guarding' &&
          decideGuard({
            answeredAtMs: this.answeredAt,
            nowMs: this.ctx.clock.now(),
            timeoutMs: this.queue.guard.timeoutSec * 1000,
            digit: event.digit,
          }).kind === 'connect'
        ) {
          void this.onCustomerConfirmed();
        }
        return;
      case 'ChannelHangupRequest':
        if (isCustomer && this.state !== 'dialling_customer') void this.onCustomerGone(event.cause);
        else if (isAgent && this.state === 'bridged') void this.finish('answered', event.cause);
        return;
      case 'ChannelDestroyed':
        if (isCustomer) void this.onCustomerGone(event.cause);
        else if (isAgent) void this.onAgentLegGone();
        return;
      default:
        return;
    }
  }

  private async onCustomerAnswered(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    this.state = 'guarding';
    this.answeredAt = this.ctx.clock.now();
    this.ctx.milestone('customer_leg_answered', { callbackId: this.callback.id, channelId: this.customerChannelId });
    await this.ctx.store
      .markAttempt(this.attempt.id, this.callback.id, 'customer_answered', { now: new Date(this.ctx.clock.now()) })
      .catch(() => undefined);
    // The customer hears the language the caller booked in (stored with the callback).
    await this.ctx.control
      .play(this.customerChannelId, [PROMPTS.guard], this.playbacks.nextId(), promptLanguageFor(this.callback.language, this.queue))
      .catch(() => undefined);
    // Without the guard configured the customer still confirms: there is no agent on the line yet.
    this.guardTimer = this.ctx.clock.setTimer(() => void this.finish('no_answer', undefined), this.queue.guard.timeoutSec * 1000);
  }

  private async onCustomerConfirmed(): Promise<void> {
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    this.guardTimer = undefined;
    this.state = 'waiting_for_agent';
    this.waitStartedAt = this.ctx.clock.now();
    try {
      await this.ctx.control.createBridge(this.holdBridgeId, 'holding', `callback ${this.callback.id} hold`);
      await this.ctx.control.addToBridge(this.holdBridgeId, [this.customerChannelId]);
      await this.ctx.control.startBridgeMoh(this.holdBridgeId);
    } catch (e) {
      this.log.warn('could not hold the customer', { error: String(e) });
    }
    this.waitTimer = this.ctx.clock.setTimer(() => void this.finish('no_agent', undefined), this.queue.customerFirstMaxWaitSec * 1000);
    await this.ringAgent(this.reservedAgentId);
  }

  private async ringAgent(agentId: string): Promise<void> {
    const agent = this.ctx.agent(agentId);
    if (!agent || this.state !== 'waiting_for_agent') return;
    this.currentAgentId = agentId;
    this.agentChannelId = ownChannelId('cf-agent', this.ctx.config.ari.app);
    this.ctx.bind(this.agentChannelId, this);
    this.state = 'ringing_agent';
    const shown = displayNameForAgent(this.ctx.config.callback.agentCallerIdPrefix, this.callback.customerNumber).replace(/["<>]/g, '');
    try {
      await this.ctx.control.originate({
        channelId: this.agentChannelId,
        endpoint: agent.endpoint,
        appArgs: ['cf-agent', this.callback.id],
        callerId: `"${shown}" <${this.callback.customerNumber}>`,
        timeoutSec: this.ctx.config.callback.agentRingTimeoutSec,
      });
      this.ctx.milestone('agent_leg_originated', {
        callbackId: this.callback.id,
        agentId,
        channelId: this.agentChannelId,
        mode: 'customer-first',
      });
    } catch (e) {
      this.log.warn('agent could not be rung', { agentId, error: String(e) });
      await this.onAgentLegGone();
    }
  }

  private async onAgentAnswered(): Promise<void> {
    if (this.state !== 'ringing_agent' || !this.attempt || !this.agentChannelId) return;
    this.state = 'bridged';
    if (this.waitTimer) this.ctx.clock.clearTimer(this.waitTimer);
    try {
      await this.ctx.control.destroyBridge(this.holdBridgeId).catch(() => undefined);
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `callback ${this.callback.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.customerChannelId, this.agentChannelId]);
    } catch (e) {
      this.log.warn('could not bridge customer and agent', { error: String(e) });
      await this.finish('failed', undefined);
      return;
    }
    this.bridgedAt = this.ctx.clock.now();
    this.ctx.milestone('bridged', { callbackId: this.callback.id, bridgeId: this.bridgeId, mode: 'customer-first' });
    const now = new Date(this.ctx.clock.now());
    try {
      await this.ctx.store.markAttempt(this.attempt.id, this.callback.id, 'bridged', { agentId: this.currentAgentId, now });
      this.callback = await this.ctx.store.finishAttempt({
        attemptId: this.attempt.id,
        callbackId: this.callback.id,
        outcome: 'answered',
        nextStatus: 'completed',
        countsAsAttempt: true,
        reason: 'bridged',
        now,
      });
      this.ctx.milestone('callback_completed', { callbackId: this.callback.id });
    } catch (e) {
      this.log.error('could not record the completed callback', { error: String(e) });
    }
  }

  /** The agent did not take it: the next free agent, while the customer waits on music. */
  private async onAgentLegGone(): Promise<void> {
    const agentId = this.currentAgentId;
    if (this.agentChannelId) this.ctx.unbind(this.agentChannelId);
    this.agentChannelId = undefined;
    if (this.state === 'bridged') {
      await this.finish('answered', undefined);
      return;
    }
    if (this.state !== 'ringing_agent' || !agentId) return;
    this.ctx.declined(this.callback.id, agentId);
    this.ctx.releaseAgent(agentId, { talked: false });
    this.currentAgentId = undefined;
    this.state = 'waiting_for_agent';
    this.lookForAgent();
  }

  private lookForAgent(): void {
    if (this.state !== 'waiting_for_agent') return;
    const next = this.ctx.takeFreeAgent(this.queue.id, this.callback.id);
    if (next) {
      void this.ringAgent(next);
      return;
    }
    this.ctx.clock.setTimer(() => this.lookForAgent(), 500);
  }

  private async onCustomerGone(cause: number | undefined): Promise<void> {
    if (this.customerGone) return;
    this.customerGone = true;
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
    this.lease?.stop();
    this.playbacks.settleAll();
    const { control } = this.ctx;
    if (!this.customerGone) await control.hangup(this.customerChannelId).catch(() => undefined);
    if (this.agentChannelId) await control.hangup(this.agentChannelId).catch(() => undefined);
    await control.destroyBridge(this.holdBridgeId).catch(() => undefined);
    await control.destroyBridge(this.bridgeId).catch(() => undefined);
    const agentChannel = this.agentChannelId;
    this.ctx.clock.setTimer(() => {
      this.ctx.unbind(this.customerChannelId);
      if (agentChannel) this.ctx.unbind(agentChannel);
    }, 5000);
    // The reserved agent was never rung when the customer did not get as far as pressing 1.
    const agentToRelease = this.currentAgentId ?? (this.waitStartedAt === 0 ? this.reservedAgentId : undefined);
    if (agentToRelease)
      this.ctx.releaseAgent(agentToRelease, {
        talked: wasBridged,
        handleSec: wasBridged ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined,
      });
    if (outcome !== 'answered' && this.attempt) {
      this.callback = await concludeAttempt(this.ctx, this.log, {
        callback: this.callback,
        attempt: this.attempt,
        queue: this.queue,
        outcome,
        cause,
        // Refused at the dial: nothing was dialled, nothing counts (dispatch then fails it).
        customerDialled: outcome !== NUMBER_REFUSED,
      });
      this.ctx.milestone('callback_attempt_failed', { callbackId: this.callback.id, outcome, cause });
    }
    this.ctx.callbackAttemptEnded(this.callback);
  }
}
