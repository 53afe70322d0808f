import { randomUUID } from 'node:crypto';
import { AriEvent, HANGUP_CAUSE } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { crashPoint } from '../config/crash-points';
import { interpretPreviewDigit, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { claimCallback, completeAttempt, customerLegOutcome, endAttempt, LeaseKeeper, noteAttemptStep } from './callback-attempt';
import { ownChannelId } from './channel-ids';
import { PreviewAgentLeg } from './preview-agent-leg';
import { dialFailureOutcome } from './dial-gate';
import { PreviewCustomerLeg } from './preview-customer-leg';
import { agentLanguage, PROMPTS, promptLanguageFor } from './prompts';

/** The legs and attempt row of an attempt a previous process started (PreviewCallSession.resume). */
export interface ResumedAttempt {
  attempt: AttemptRow;
  agentChannelId: string;
  customerChannelId: string;
}

type State = 'claiming' | 'ringing_agent' | 'previewing' | 'dialling_customer' | 'guarding' | 'bridged' | 'telling_agent' | 'ended';

/**
 * One attempt to call a customer back, agent first ("preview call"): the agent's phone rings
 * showing the customer; on answer a whisper says who is to be called; on 1 the customer is dialled
 * and both are bridged. Owns the attempt's two legs (PreviewAgentLeg, PreviewCustomerLeg) and
 * decides what each of their steps means for the attempt.
 *
 * Durability: the claim (lease) and attempt row are committed before the agent is rung, and the
 * customer channel id is written before the customer is dialled, so a restart can tell what
 * happened and never dials the same attempt twice.
 */
export class PreviewCallSession implements ChannelSession {
  readonly kind = 'preview-call';
  private state: State = 'claiming';
  private readonly log: Logger;
  private readonly bridgeId = `cb-bridge-${randomUUID()}`;
  private readonly playbacks: PlaybackTracker;
  private readonly agentLeg: PreviewAgentLeg;
  private readonly customerLeg: PreviewCustomerLeg;
  private attempt: AttemptRow | undefined;
  private callback: StoredCallback;
  private decisionTimer: TimerHandle | undefined;
  private lease: LeaseKeeper | undefined;
  private bridgedAt = 0;
  private completion: Promise<void> | undefined;

  constructor(
    private readonly ctx: CallContext,
    callback: StoredCallback,
    private readonly queue: QueueConfig,
    private readonly agentId: string,
    /** An attempt a previous process left with the customer dialled (see resume()). */
    private readonly resumed?: ResumedAttempt,
  ) {
    this.callback = callback;
    const agentChannelId = resumed?.agentChannelId ?? ownChannelId('cb-agent', ctx.config.ari.app);
    const customerChannelId = resumed?.customerChannelId ?? ownChannelId('cb-customer', ctx.config.ari.app);
    this.playbacks = new PlaybackTracker(agentChannelId);
    this.log = callLogger(ctx.logger, { callId: agentChannelId, kind: this.kind, queueId: callback.queueId, callbackId: callback.id });
    this.agentLeg = new PreviewAgentLeg(ctx, agentChannelId, agentLanguage(ctx.config, agentId), this.playbacks, this.log);
    this.customerLeg = new PreviewCustomerLeg(ctx, customerChannelId, queue, this.playbacks);
  }

  get callbackId(): string {
    return this.callback.id;
  }

  get agent(): string {
    return this.agentId;
  }

  /** The agent has answered and not yet accepted or skipped. */
  get isPreviewing(): boolean {
    return this.state === 'previewing';
  }

  /** What the agent panel shows about the customer. */
  get customer(): StoredCallback {
    return this.callback;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const agent = ctx.agent(this.agentId);
    if (!agent) return this.abandon('agent_unknown');
    const claimed = await claimCallback(ctx, this.callback, this.agentId, this.agentLeg.channelId, this.log);
    if (!claimed) {
      this.log.info('callback already claimed elsewhere or no longer pending');
      return this.abandon('not_claimable');
    }
    this.callback = claimed.callback;
    this.attempt = claimed.attempt;
    crashPoint('preview.after_claim');
    this.lease = new LeaseKeeper(ctx, this.callback.id, this.log);
    this.lease.start();
    this.state = 'ringing_agent';
    ctx.bind(this.agentLeg.channelId, this);
    ctx.bind(this.customerLeg.channelId, this);
    try {
      await this.agentLeg.originate(agent.endpoint, this.callback);
      crashPoint('preview.after_agent_originate');
      ctx.milestone('agent_leg_originated', { callbackId: this.callback.id, agentId: this.agentId, channelId: this.agentLeg.channelId });
      this.log.info('agent leg originated', { agentId: this.agentId });
    } catch (e) {
      this.log.warn('agent leg could not be originated', { agentId: this.agentId, error: String(e) });
      await this.finish('agent_unreachable');
    }
  }

  /**
   * Takes up an attempt a previous process left on Asterisk after the agent's 1: the agent's leg
   * answered, the customer's dialled (and perhaps answered while no process was listening). The
   * lease is this process's already (CallbackStore.resumeAttempt) and the old prompts stopped.
   * A customer still ringing is waited for as usual; one who answered hears the guard's "press 1"
   * (or is bridged at once without the guard), so an answered customer is never hung up on and
   * dialled again for the same callback.
   */
  async resume(customerAnswered: boolean): Promise<void> {
    if (!this.resumed || this.state !== 'claiming') return;
    this.attempt = this.resumed.attempt;
    this.lease = new LeaseKeeper(this.ctx, this.callback.id, this.log);
    this.lease.start();
    this.state = 'dialling_customer';
    this.customerLeg.dialled = true;
    this.ctx.bind(this.agentLeg.channelId, this);
    this.ctx.bind(this.customerLeg.channelId, this);
    this.log.info('callback attempt resumed after a restart', { agentId: this.agentId, customerAnswered });
    if (customerAnswered) await this.onCustomerAnswered();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const channelId = 'channel' in event ? event.channel.id : event.type === 'Dial' ? event.peer.id : undefined;
    const isAgent = channelId === this.agentLeg.channelId;
    const isCustomer = channelId === this.customerLeg.channelId;
    switch (event.type) {
      case 'StasisStart':
        if (isAgent) void this.onAgentAnswered();
        return; // the customer leg enters Stasis at create, in Down: nothing to do yet
      case 'ChannelStateChange':
        if (isCustomer && event.channel.state === 'Up') void this.onCustomerAnswered();
        return;
      case 'ChannelDtmfReceived':
        if (isAgent) void this.onAgentDigit(event.digit);
        else if (isCustomer && this.state === 'guarding' && this.customerLeg.guardPassedBy(event.digit)) void this.onGuardPassed();
        return;
      case 'PlaybackFinished':
        this.agentLeg.onPlaybackFinished(event.playback.id);
        return;
      case 'ChannelHangupRequest':
        if (isCustomer && event.cause !== undefined && !event.soft) void this.onCustomerGone(event.cause);
        else if (isAgent) void this.onAgentGone(event.cause);
        return;
      case 'ChannelDestroyed':
        if (isAgent) void this.onAgentGone(event.cause);
        else if (isCustomer) void this.onCustomerGone(event.cause);
        return;
      case 'StasisEnd':
        // ARI-created legs always end with ChannelDestroyed, which carries the real cause (a
        // dial timeout shows only a soft hangup before it). Wait for it.
        return;
      default:
        return;
    }
  }

  // ---- agent side -------------------------------------------------------------------------

  private async onAgentAnswered(): Promise<void> {
    if (this.state !== 'ringing_agent' || !this.attempt) return;
    this.state = 'previewing';
    crashPoint('preview.after_agent_answer');
    this.ctx.milestone('agent_leg_answered', { callbackId: this.callback.id, agentId: this.agentId });
    await noteAttemptStep(this.ctx, this.log, this.attempt, this.callback.id, 'agent_answered', { agentId: this.agentId });
    await this.agentLeg.whisper(this.callback, this.queue);
    // No decision in time counts as a skip: the callback must not stall on an absent agent.
    this.decisionTimer = this.ctx.clock.setTimer(
      () => void this.decline('agent_no_decision'),
      this.ctx.config.callback.previewDecisionSec * 1000,
    );
  }

  private async onAgentDigit(digit: string): Promise<void> {
    if (this.state !== 'previewing') return;
    const action = interpretPreviewDigit(digit);
    if (action === 'accept') await this.accept();
    else if (action === 'skip') await this.decline('agent_declined');
  }

  /** The agent accepted (phone key 1 or the web panel). */
  async accept(): Promise<boolean> {
    if (this.state !== 'previewing' || !this.attempt) return false;
    this.state = 'dialling_customer';
    this.clearDecisionTimer();
    const now = () => new Date(this.ctx.clock.now());
    this.ctx.milestone('agent_accepted', { callbackId: this.callback.id, agentId: this.agentId });
    this.log.info('agent accepted; dialling customer');
    crashPoint('preview.after_accept');
    // The agent hears ringing from the 1 on, and the whisper stops, while the dial is recorded:
    // both requests go out now and run alongside the write. The customer leg is created and
    // dialled only after the write has committed (and after both are answered, so a late ring
    // can never arrive after the bridge's ring stop).
    const whisperStopped = this.agentLeg.stopWhisper();
    const ringing = this.agentLeg.ring();
    try {
      // One statement for both steps. Written before dialling: after a crash this attempt is
      // known to have called the customer, and is never dialled again.
      await this.ctx.store.markAttemptSteps(this.attempt.id, this.callback.id, ['agent_accepted', 'customer_dialled'], {
        agentId: this.agentId,
        customerChannelId: this.customerLeg.channelId,
        now: now(),
      });
    } catch (e) {
      this.log.error('could not record the dial; not dialling', { error: String(e) });
      await Promise.all([whisperStopped, ringing]);
      await this.tellAgentAndFinish('failed', PROMPTS.customerFailed, undefined, false);
      return true;
    }
    await Promise.all([whisperStopped, ringing]);
    crashPoint('preview.after_customer_recorded');
    try {
      await this.customerLeg.dial(this.callback.customerNumber, this.callback.id, this.agentLeg.channelId);
      crashPoint('preview.after_customer_dial');
      this.ctx.milestone('customer_leg_dialled', { callbackId: this.callback.id, channelId: this.customerLeg.channelId });
    } catch (e) {
      this.log.warn('customer leg could not be dialled', { endpoint: this.customerLeg.endpoint, error: String(e) });
      await this.tellAgentAndFinish(dialFailureOutcome(e), PROMPTS.customerFailed, undefined, this.customerLeg.dialled);
    }
    return true;
  }

  /** The agent skipped (2, the panel, or no decision): the callback stays at the head for another agent. */
  async decline(outcome: 'agent_declined' | 'agent_no_decision' = 'agent_declined'): Promise<boolean> {
    if (this.state !== 'previewing') return false;
    this.clearDecisionTimer();
    this.ctx.milestone('agent_declined', { callbackId: this.callback.id, agentId: this.agentId });
    this.log.info('agent skipped the callback', { outcome });
    await this.finish(outcome);
    return true;
  }

  private async onAgentGone(cause: number | undefined): Promise<void> {
    if (this.agentLeg.gone) return;
    this.agentLeg.gone = true;
    switch (this.state) {
      case 'ringing_agent':
        // A ring timeout ends the originated leg with no StasisStart; busy has its own cause.
        await this.finish(cause === HANGUP_CAUSE.USER_BUSY ? 'agent_busy' : 'agent_no_answer', cause);
        return;
      case 'previewing':
        await this.finish('agent_hung_up_in_preview', cause);
        return;
      case 'dialling_customer':
        // The agent gave up while the customer's phone rang: stop ringing the customer.
        await this.finish('agent_abandoned', cause);
        return;
      case 'bridged':
        await this.finish('answered', cause);
        return;
      default:
        return;
    }
  }

  // ---- customer side ----------------------------------------------------------------------

  private async onCustomerAnswered(): Promise<void> {
    if (this.state !== 'dialling_customer' || this.customerLeg.answered || !this.attempt) return;
    this.customerLeg.answered = true;
    this.ctx.milestone('customer_leg_answered', { callbackId: this.callback.id, channelId: this.customerLeg.channelId });
    crashPoint('preview.after_customer_answer');
    await noteAttemptStep(this.ctx, this.log, this.attempt, this.callback.id, 'customer_answered', {});
    if (this.queue.guard.enabled) {
      // "Press 1 to be connected": an answering machine never presses 1.
      this.state = 'guarding';
      // The customer hears the language the caller booked in (stored with the callback).
      await this.customerLeg.guard(promptLanguageFor(this.callback.language, this.queue), () => void this.onGuardTimeout());
      return;
    }
    await this.bridgeAgentAndCustomer();
  }

  private async onGuardPassed(): Promise<void> {
    if (this.state !== 'guarding') return;
    this.customerLeg.clearGuardTimer();
    this.state = 'dialling_customer';
    await this.customerLeg.stopGuardPrompt();
    await this.bridgeAgentAndCustomer();
  }

  private async onGuardTimeout(): Promise<void> {
    if (this.state !== 'guarding') return;
    this.log.info('customer did not press 1 after answering: treated as no answer (answering machine guard)');
    await this.ctx.store
      .recordEvent(this.callback.id, 'customer_no_answer', { detail: { reason: 'guard_timeout' } })
      .catch(() => undefined);
    await this.tellAgentAndFinish('no_answer', PROMPTS.customerNoAnswer, undefined, true);
  }

  private async bridgeAgentAndCustomer(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    try {
      await this.agentLeg.ringStop();
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `callback ${this.callback.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.agentLeg.channelId, this.customerLeg.channelId]);
    } catch (e) {
      this.log.warn('could not bridge agent and customer', { error: String(e) });
      await this.finish('bridge_failed');
      return;
    }
    this.state = 'bridged';
    this.bridgedAt = this.ctx.clock.now();
    this.ctx.milestone('bridged', { callbackId: this.callback.id, bridgeId: this.bridgeId });
    crashPoint('preview.after_bridge');
    this.log.info('agent and customer bridged');
    // The callback has happened: completing it now means a crash during the talk never re-dials.
    this.completion = completeAttempt(this.ctx, this.log, this.attempt, this.callback).then((completed) => {
      this.callback = completed;
    });
    await this.completion;
  }

  private async onCustomerGone(cause: number | undefined): Promise<void> {
    if (this.customerLeg.gone) return;
    this.customerLeg.gone = true;
    this.customerLeg.clearGuardTimer();
    if (this.state === 'guarding') {
      // Answered and hung up without pressing 1: not a conversation, try again later.
      await this.tellAgentAndFinish('no_answer', PROMPTS.customerNoAnswer, cause, true);
      return;
    }
    if (this.state === 'dialling_customer') {
      const { outcome, prompt } = customerLegOutcome(cause);
      this.log.info('customer leg failed', { outcome, cause });
      await this.tellAgentAndFinish(outcome, prompt, cause, true);
      return;
    }
    if (this.state === 'bridged') await this.finish('answered', cause);
  }

  private async tellAgentAndFinish(outcome: string, prompt: string, cause: number | undefined, dialled: boolean): Promise<void> {
    if (this.state === 'ended' || this.state === 'telling_agent') return;
    this.state = 'telling_agent';
    this.ctx.milestone('callback_attempt_failed', { callbackId: this.callback.id, outcome, cause });
    if (!this.agentLeg.gone) await this.agentLeg.tell(prompt);
    await this.finish(outcome, cause, dialled);
  }

  // ---- the end of the attempt ----------------------------------------------------------------

  private async finish(outcome: string, cause?: number, dialledOverride?: boolean): Promise<void> {
    if (this.state === 'ended') return;
    const wasBridged = this.state === 'bridged';
    this.state = 'ended';
    this.customerLeg.clearGuardTimer();
    // The completed status is written before anything else is torn down.
    if (this.completion) await this.completion;
    this.clearDecisionTimer();
    this.lease?.stop();
    this.playbacks.settleAll();
    await this.agentLeg.hangup();
    await this.customerLeg.hangup();
    await this.ctx.control.destroyBridge(this.bridgeId).catch(() => undefined);
    // Late events (StasisEnd, ChannelDestroyed) for our legs are expected; unbind after a grace.
    this.ctx.clock.setTimer(() => {
      this.ctx.unbind(this.agentLeg.channelId);
      this.ctx.unbind(this.customerLeg.channelId);
    }, 5000);
    const talkedSec = wasBridged ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined;
    this.ctx.releaseAgent(this.agentId, { talked: wasBridged || this.customerLeg.dialled, handleSec: talkedSec });
    if (outcome === 'answered') this.log.info('callback call ended', { talkedSec });
    const customerDialled = dialledOverride ?? this.customerLeg.dialled;
    this.callback = await endAttempt(this.ctx, this.log, {
      callback: this.callback,
      attempt: this.attempt,
      queue: this.queue,
      agentId: this.agentId,
      outcome,
      cause,
      customerDialled,
    });
  }

  /** Nothing was claimed or rung: hand the callback back to dispatch as it was. */
  private abandon(reason: string): void {
    this.state = 'ended';
    this.log.info('preview call not started', { reason });
    this.ctx.releaseAgent(this.agentId, { talked: false });
    this.ctx.callbackAttemptEnded(reason === 'not_claimable' ? { ...this.callback, status: 'cancelled' } : this.callback);
  }

  private clearDecisionTimer(): void {
    if (this.decisionTimer) this.ctx.clock.clearTimer(this.decisionTimer);
    this.decisionTimer = undefined;
  }
}
