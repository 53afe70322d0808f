import { randomUUID } from 'node:crypto';
import { AriEvent, HANGUP_CAUSE } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { digitsForSpeech, displayNameForAgent, interpretPreviewDigit, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { claimCallback, concludeAttempt, customerLegOutcome, isAgentSideOutcome, LeaseKeeper } from './callback-attempt';
import { agentLanguage, PROMPTS, promptLanguageFor, queueAnnouncement } from './prompts';
import { ownChannelId } from './channel-ids';
import { crashPoint } from '../config/crash-points';
import { decideGuard, GuardDecision } from '../domain/policies';

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
 * and both are bridged. Owns the agent and customer channels of the attempt.
 *
 * Durability: the claim (lease) and attempt row are committed before the agent is rung, and the
 * customer channel id is written before the customer is dialled, so a restart can tell what
 * happened and never dials the same attempt twice.
 */
export class PreviewCallSession implements ChannelSession {
  readonly kind = 'preview-call';
  private state: State = 'claiming';
  private readonly log: Logger;
  private readonly agentChannelId: string;
  private readonly customerChannelId: string;
  private readonly bridgeId = `cb-bridge-${randomUUID()}`;
  private readonly playbacks: PlaybackTracker;
  private attempt: AttemptRow | undefined;
  private callback: StoredCallback;
  private whisperPlaybackId: string | undefined;
  private decisionTimer: TimerHandle | undefined;
  private lease: LeaseKeeper | undefined;
  private customerDialled = false;
  private customerAnswered = false;
  private bridgedAt = 0;
  private agentGone = false;
  private guardTimer: TimerHandle | undefined;
  private guardPlaybackId: string | undefined;
  private guardAnsweredAt = 0;
  private completion: Promise<void> | undefined;
  private customerGone = false;

  constructor(
    private readonly ctx: CallContext,
    callback: StoredCallback,
    private readonly queue: QueueConfig,
    private readonly agentId: string,
    /** An attempt a previous process left with the customer dialled (see resume()). */
    private readonly resumed?: ResumedAttempt,
  ) {
    this.callback = callback;
    this.agentChannelId = resumed?.agentChannelId ?? ownChannelId('cb-agent', ctx.config.ari.app);
    this.customerChannelId = resumed?.customerChannelId ?? ownChannelId('cb-customer', ctx.config.ari.app);
    this.playbacks = new PlaybackTracker(this.agentChannelId);
    this.log = callLogger(ctx.logger, { callId: this.agentChannelId, kind: this.kind, queueId: callback.queueId, callbackId: callback.id });
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
    const claimed = await claimCallback(ctx, this.callback, this.agentId, this.agentChannelId, this.log);
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
    ctx.bind(this.agentChannelId, this);
    ctx.bind(this.customerChannelId, this);
    const number = this.callback.customerNumber;
    const shown = displayNameForAgent(ctx.config.callback.agentCallerIdPrefix, number).replace(/["<>]/g, '');
    try {
      await ctx.control.originate({
        channelId: this.agentChannelId,
        endpoint: agent.endpoint,
        appArgs: ['agent', this.callback.id],
        callerId: `"${shown}" <${number}>`,
        timeoutSec: ctx.config.callback.agentRingTimeoutSec,
        variables: { CALLBACK_ID: this.callback.id },
      });
      crashPoint('preview.after_agent_originate');
      ctx.milestone('agent_leg_originated', { callbackId: this.callback.id, agentId: this.agentId, channelId: this.agentChannelId });
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
    this.customerDialled = true;
    this.ctx.bind(this.agentChannelId, this);
    this.ctx.bind(this.customerChannelId, this);
    this.log.info('callback attempt resumed after a restart', { agentId: this.agentId, customerAnswered });
    if (customerAnswered) await this.onCustomerAnswered();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const channelId = 'channel' in event ? event.channel.id : event.type === 'Dial' ? event.peer.id : undefined;
    const isAgent = channelId === this.agentChannelId;
    const isCustomer = channelId === this.customerChannelId;
    switch (event.type) {
      case 'StasisStart':
        if (isAgent) void this.onAgentAnswered();
        return; // the customer leg enters Stasis at create, in Down: nothing to do yet
      case 'ChannelStateChange':
        if (isCustomer && event.channel.state === 'Up') void this.onCustomerAnswered();
        return;
      case 'ChannelDtmfReceived':
        if (isAgent) void this.onAgentDigit(event.digit);
        else if (isCustomer && this.state === 'guarding' && this.guardDecision(event.digit).kind === 'connect') void this.onGuardPassed();
        return;
      case 'PlaybackFinished':
        if (event.playback.id === this.whisperPlaybackId) this.whisperPlaybackId = undefined;
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
        // dial timeout shows only a soft hangup before it: trace d2). Wait for it.
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
    await this.ctx.store
      .markAttempt(this.attempt.id, this.callback.id, 'agent_answered', { agentId: this.agentId, now: new Date(this.ctx.clock.now()) })
      .catch((e: unknown) => this.log.warn('history write failed', { error: String(e) }));
    const minutes = Math.max(0, Math.round((this.ctx.clock.now() - this.callback.requestedAt.getTime()) / 60000));
    const id = this.playbacks.nextId('whisper');
    this.whisperPlaybackId = id;
    try {
      await this.ctx.control.play(
        this.agentChannelId,
        [
          PROMPTS.whisperIntro,
          ...queueAnnouncement(this.queue.id, this.queue.announcement),
          PROMPTS.whisperCustomer,
          `digits:${digitsForSpeech(this.callback.customerNumber)}`,
          PROMPTS.whisperRequested,
          `number:${minutes}`,
          PROMPTS.whisperMinutesAgo,
          PROMPTS.whisperOptions,
        ],
        id,
        agentLanguage(this.ctx.config, this.agentId),
      );
    } catch (e) {
      if (!isGone(e)) this.log.warn('whisper failed', { error: String(e) });
    }
    // No decision in time counts as a skip: the callback must not stall on an absent agent.
    this.decisionTimer = this.ctx.clock.setTimer(() => void this.decline('agent_no_decision'), this.ctx.config.callback.previewDecisionSec * 1000);
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
    const whisper = this.whisperPlaybackId;
    this.whisperPlaybackId = undefined;
    const whisperStopped = whisper ? this.ctx.control.stopPlayback(whisper).catch(() => undefined) : Promise.resolve();
    const ringing = this.ctx.control.ring(this.agentChannelId).catch(() => undefined);
    try {
      // One statement for both steps. Written before dialling: after a crash this attempt is
      // known to have called the customer, and is never dialled again.
      await this.ctx.store.markAttemptSteps(this.attempt.id, this.callback.id, ['agent_accepted', 'customer_dialled'], { agentId: this.agentId, customerChannelId: this.customerChannelId, now: now() });
    } catch (e) {
      this.log.error('could not record the dial; not dialling', { error: String(e) });
      await Promise.all([whisperStopped, ringing]);
      await this.tellAgentAndFinish('failed', PROMPTS.customerFailed, undefined, false);
      return true;
    }
    await Promise.all([whisperStopped, ringing]);
    crashPoint('preview.after_customer_recorded');
    const outbound = this.queue.outboundCallerId;
    const endpoint = this.ctx.config.callback.dialTemplate.replace('{number}', digitsForSpeech(this.callback.customerNumber));
    try {
      await this.ctx.control.createChannel({
        channelId: this.customerChannelId,
        endpoint,
        appArgs: ['customer', this.callback.id],
        originator: this.agentChannelId,
        // On a created leg only CONNECTEDLINE sets what the customer's phone shows (trace f7).
        variables: { 'CONNECTEDLINE(num)': outbound.number, 'CONNECTEDLINE(name)': outbound.name, CALLBACK_ID: this.callback.id },
      });
      this.customerDialled = true;
      await this.ctx.control.dial(this.customerChannelId, this.ctx.config.callback.customerRingTimeoutSec);
      crashPoint('preview.after_customer_dial');
      this.ctx.milestone('customer_leg_dialled', { callbackId: this.callback.id, channelId: this.customerChannelId });
    } catch (e) {
      this.log.warn('customer leg could not be dialled', { endpoint, error: String(e) });
      await this.tellAgentAndFinish('failed', PROMPTS.customerFailed, undefined, this.customerDialled);
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
    if (this.agentGone) return;
    this.agentGone = true;
    switch (this.state) {
      case 'ringing_agent':
        // Originate timeout gives ChannelDestroyed(19) and no StasisStart (trace d1); busy 17.
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
    if (this.state !== 'dialling_customer' || this.customerAnswered || !this.attempt) return;
    this.customerAnswered = true;
    this.ctx.milestone('customer_leg_answered', { callbackId: this.callback.id, channelId: this.customerChannelId });
    crashPoint('preview.after_customer_answer');
    const now = () => new Date(this.ctx.clock.now());
    await this.ctx.store.markAttempt(this.attempt.id, this.callback.id, 'customer_answered', { now: now() }).catch((e: unknown) => this.log.warn('history write failed', { error: String(e) }));
    if (this.queue.guard.enabled) {
      // "Press 1 to be connected": an answering machine never presses 1.
      this.state = 'guarding';
      const id = this.playbacks.nextId('guard');
      this.guardPlaybackId = id;
      // The customer hears the language the caller booked in (stored with the callback).
      await this.ctx.control.play(this.customerChannelId, [PROMPTS.guard], id, promptLanguageFor(this.callback.language, this.queue)).catch(() => undefined);
      this.guardAnsweredAt = this.ctx.clock.now();
      this.armGuardTimer(this.queue.guard.timeoutSec * 1000);
      return;
    }
    await this.bridgeAgentAndCustomer();
  }

  private armGuardTimer(ms: number): void {
    this.guardTimer = this.ctx.clock.setTimer(() => {
      const d = this.guardDecision(undefined);
      // A timer may fire a hair early against the clock: wait out the rest, then decide.
      if (d.kind === 'wait') this.armGuardTimer(Math.max(1, d.untilMs - this.ctx.clock.now()));
      else if (d.kind === 'treat_as_no_answer') void this.onGuardTimeout();
    }, ms);
  }

  /** The answering-machine guard's rule (src/domain/policies/answering-machine-guard.ts). */
  private guardDecision(digit: string | undefined): GuardDecision {
    return decideGuard({ answeredAtMs: this.guardAnsweredAt, nowMs: this.ctx.clock.now(), timeoutMs: this.queue.guard.timeoutSec * 1000, digit });
  }

  private async onGuardPassed(): Promise<void> {
    if (this.state !== 'guarding') return;
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    this.guardTimer = undefined;
    this.state = 'dialling_customer';
    if (this.guardPlaybackId) await this.ctx.control.stopPlayback(this.guardPlaybackId).catch(() => undefined);
    await this.bridgeAgentAndCustomer();
  }

  private async onGuardTimeout(): Promise<void> {
    if (this.state !== 'guarding') return;
    this.guardTimer = undefined;
    this.log.info('customer did not press 1 after answering: treated as no answer (answering machine guard)');
    await this.ctx.store.recordEvent(this.callback.id, 'customer_no_answer', { detail: { reason: 'guard_timeout' } }).catch(() => undefined);
    await this.tellAgentAndFinish('no_answer', PROMPTS.customerNoAnswer, undefined, true);
  }

  private async bridgeAgentAndCustomer(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    try {
      await this.ctx.control.ringStop(this.agentChannelId).catch(() => undefined);
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `callback ${this.callback.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.agentChannelId, this.customerChannelId]);
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
    this.completion = this.recordCompleted();
    await this.completion;
  }

  private async recordCompleted(): Promise<void> {
    if (!this.attempt) return;
    const now = () => new Date(this.ctx.clock.now());
    try {
      await this.ctx.store.markAttempt(this.attempt.id, this.callback.id, 'bridged', { now: now() });
      this.callback = await this.ctx.store.finishAttempt({
        attemptId: this.attempt.id,
        callbackId: this.callback.id,
        outcome: 'answered',
        nextStatus: 'completed',
        countsAsAttempt: true,
        reason: 'bridged',
        now: now(),
      });
      this.ctx.milestone('callback_completed', { callbackId: this.callback.id });
    } catch (e) {
      this.log.error('could not record the completed callback', { error: String(e) });
    }
  }

  private async onCustomerGone(cause: number | undefined): Promise<void> {
    if (this.customerGone) return;
    this.customerGone = true;
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    this.guardTimer = undefined;
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
    if (!this.agentGone) {
      await this.ctx.control.ringStop(this.agentChannelId).catch(() => undefined);
      const id = this.playbacks.nextId('outcome');
      const finished = this.playbacks.finished(id);
      const played = await this.ctx.control.play(this.agentChannelId, [prompt], id, agentLanguage(this.ctx.config, this.agentId)).then(
        () => true,
        () => false,
      );
      if (played) await finished;
    }
    await this.finish(outcome, cause, dialled);
  }

  // ---- the end of the attempt ----------------------------------------------------------------

  private async finish(outcome: string, cause?: number, dialledOverride?: boolean): Promise<void> {
    if (this.state === 'ended') return;
    const wasBridged = this.state === 'bridged';
    this.state = 'ended';
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    // The completed status is written before anything else is torn down.
    if (this.completion) await this.completion;
    this.clearDecisionTimer();
    this.lease?.stop();
    this.playbacks.settleAll();
    const { control } = this.ctx;
    if (!this.agentGone) await control.hangup(this.agentChannelId).catch(() => undefined);
    if (this.customerDialled && !this.customerGone) await control.hangup(this.customerChannelId).catch(() => undefined);
    await control.destroyBridge(this.bridgeId).catch(() => undefined);
    // Late events (StasisEnd, ChannelDestroyed) for our legs are expected; unbind after a grace.
    this.ctx.clock.setTimer(() => {
      this.ctx.unbind(this.agentChannelId);
      this.ctx.unbind(this.customerChannelId);
    }, 5000);
    const talkedSec = wasBridged ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined;
    this.ctx.releaseAgent(this.agentId, { talked: wasBridged || this.customerDialled, handleSec: talkedSec });
    if (outcome === 'answered') {
      this.log.info('callback call ended', { talkedSec });
      this.ctx.callbackAttemptEnded(this.callback);
      return;
    }
    if (!this.attempt) {
      this.ctx.callbackAttemptEnded(this.callback);
      return;
    }
    if (isAgentSideOutcome(outcome)) this.ctx.declined(this.callback.id, this.agentId);
    this.callback = await concludeAttempt(this.ctx, this.log, { callback: this.callback, attempt: this.attempt, queue: this.queue, outcome, cause, customerDialled: dialledOverride ?? this.customerDialled });
    this.ctx.callbackAttemptEnded(this.callback);
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
