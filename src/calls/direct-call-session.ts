import { randomUUID } from 'node:crypto';
import { AriChannel, AriEvent, HANGUP_CAUSE } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { AgentState, decideOffer, interpretOfferDigit, isWithheld, OfferState, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { DirectCallRecord } from '../store/callback-store';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { confirmationMedia, isCallableNumber } from './callback-booking';
import { bookOwedCallback } from './owed-callback-booking';
import { PROMPTS, promptLanguageFor } from './prompts';
import { ownChannelId } from './channel-ids';

type State = 'ringing_agent' | 'bridged' | 'offering' | 'storing' | 'closing' | 'ended';

/**
 * Who ended a direct call, stored as its reason: the caller, the agent (after talking), or the
 * plugin after a message or after confirming a callback.
 */
export type DirectEndReason = 'caller_hung_up' | 'agent_hung_up' | 'ended_after_message' | 'ended_after_confirmation' | 'bridge_failed';

/** Why the agent could not take a direct call, as stored for reporting. */
export type DirectUnavailableReason = 'no_answer' | 'busy' | 'unregistered' | 'logged_out' | 'do_not_disturb' | 'failed';

/**
 * A call to an agent's personal number: the agent's phone rings while the caller hears ringing;
 * on answer both are bridged. When the agent cannot take it, the caller hears the system message
 * and the call ends, or (when direct overflow is configured) is offered a callback owed by that
 * same agent, with the same press-1 / confirm-after-commit rules as the queues.
 */
export class DirectCallSession implements ChannelSession {
  readonly kind = 'direct-call';
  private state: State = 'ringing_agent';
  private readonly log: Logger;
  private readonly playbacks: PlaybackTracker;
  private readonly agentChannelId: string;
  private readonly bridgeId = `direct-bridge-${randomUUID()}`;
  private agentLegUp = false;
  private agentLegGone = false;
  private answeredAt = 0;
  /** Set when the plugin ends the call itself (then StasisEnd is not the caller hanging up). */
  private endedBy: DirectEndReason | undefined;
  private offerTimer: TimerHandle | undefined;
  private offerPlaybackId: string | undefined;
  private readonly offer: OfferState;
  private readonly record: DirectCallRecord;
  private recordWrites: Promise<void> = Promise.resolve();
  private readonly callerNumber: string;
  /** The caller's prompts' language (no queue here: the channel's, else English). */
  private readonly language: string;

  constructor(
    private readonly ctx: CallContext,
    private readonly channel: AriChannel,
    private readonly agent: AgentState,
    dialled: string,
  ) {
    this.callerNumber = channel.caller.number;
    this.language = promptLanguageFor(channel.language, undefined);
    this.agentChannelId = ownChannelId('direct-agent', ctx.config.ari.app);
    this.playbacks = new PlaybackTracker(channel.id);
    this.offer = { enteredAt: ctx.clock.now(), offersMade: 0, lastOfferAt: null, accepted: false, ended: false };
    this.log = callLogger(ctx.logger, { callId: channel.id, kind: this.kind, callerNumber: channel.caller.number });
    this.record = {
      channelId: channel.id,
      agentId: agent.id,
      dialled,
      callerNumber: channel.caller.number || null,
      callerName: channel.caller.name || null,
      startedAt: new Date(ctx.clock.now()),
    };
  }

  async start(): Promise<void> {
    const { ctx, agent } = this;
    ctx.bind(this.channel.id, this);
    await this.saveRecord();
    const now = ctx.clock.now();
    // Known unavailable: do not ring a phone that cannot take the call.
    if (!agent.loggedIn) return this.agentUnavailable('logged_out');
    if (agent.paused) return this.agentUnavailable('do_not_disturb');
    if (agent.deviceState === 'UNAVAILABLE' || agent.deviceState === 'INVALID') return this.agentUnavailable('unregistered');
    if (agent.onPluginCall || ['INUSE', 'BUSY', 'RINGINUSE', 'ONHOLD'].includes(agent.deviceState) || now < agent.wrapUpUntil)
      return this.agentUnavailable('busy');
    ctx.agentBusy(agent.id);
    ctx.bind(this.agentChannelId, this);
    await ctx.control.ring(this.channel.id).catch(() => undefined);
    const name = (this.channel.caller.name || this.callerNumber || '').replace(/["<>]/g, '');
    try {
      await ctx.control.originate({
        channelId: this.agentChannelId,
        endpoint: agent.endpoint,
        appArgs: ['direct-agent', this.channel.id],
        callerId: isWithheld(this.callerNumber) ? undefined : `"${name}" <${this.callerNumber}>`,
        timeoutSec: ctx.config.direct.ringTimeoutSec,
      });
      this.log.info('ringing agent for a direct call', { agentId: agent.id });
    } catch (e) {
      this.log.warn('agent phone could not be rung', { agentId: agent.id, error: String(e) });
      this.agentLegGone = true;
      ctx.unbind(this.agentChannelId);
      ctx.releaseAgent(agent.id, { talked: false });
      await this.agentUnavailable('unregistered');
    }
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const channelId = 'channel' in event ? event.channel.id : undefined;
    const isCaller = channelId === this.channel.id;
    const isAgent = channelId === this.agentChannelId;
    switch (event.type) {
      case 'StasisStart':
        if (isAgent) void this.onAgentAnswered();
        return;
      case 'ChannelDtmfReceived':
        if (isCaller) void this.onCallerDigit(event.digit);
        return;
      case 'PlaybackFinished':
        if (event.playback.id === this.offerPlaybackId) {
          this.offerPlaybackId = undefined;
          this.scheduleOffer();
        }
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
        if (isCaller) void this.onCallerGone();
        else if (isAgent && this.agentLegUp) void this.onAgentGone(event.type === 'ChannelHangupRequest' ? event.cause : undefined);
        return;
      case 'ChannelDestroyed':
        if (isAgent) void this.onAgentGone(event.cause);
        return;
      default:
        return;
    }
  }

  // ---- agent leg ----------------------------------------------------------------------------

  private async onAgentAnswered(): Promise<void> {
    if (this.agentLegUp) return;
    this.agentLegUp = true;
    if (this.state !== 'ringing_agent') {
      await this.ctx.control.hangup(this.agentChannelId).catch(() => undefined);
      return;
    }
    this.state = 'bridged';
    // Answered the moment the agent picked up, whoever hangs up first afterwards.
    this.answeredAt = this.ctx.clock.now();
    this.record.answeredAt = new Date(this.answeredAt);
    this.record.outcome = 'answered';
    try {
      await this.ctx.control.answer(this.channel.id);
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `direct ${this.agent.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.channel.id, this.agentChannelId]);
    } catch (e) {
      this.log.warn('could not connect the direct call', { error: String(e) });
      await this.end('failed', 'bridge_failed');
      return;
    }
    await this.saveRecord();
    this.ctx.milestone('caller_connected', { channelId: this.channel.id, agentId: this.agent.id, direct: true });
    this.log.info('direct call answered', { agentId: this.agent.id });
  }

  private async onAgentGone(cause: number | undefined): Promise<void> {
    if (this.agentLegGone) return;
    this.agentLegGone = true;
    this.ctx.unbind(this.agentChannelId);
    if (this.state === 'ringing_agent') {
      this.ctx.releaseAgent(this.agent.id, { talked: false });
      const reason: DirectUnavailableReason =
        cause === HANGUP_CAUSE.USER_BUSY
          ? 'busy'
          : cause === HANGUP_CAUSE.NO_ANSWER || cause === HANGUP_CAUSE.NO_USER_RESPONSE
            ? 'no_answer'
            : cause === HANGUP_CAUSE.SUBSCRIBER_ABSENT
              ? 'unregistered'
              : 'failed';
      this.record.cause = cause ?? null;
      await this.agentUnavailable(reason);
      return;
    }
    if (this.state === 'bridged') await this.end('answered', 'agent_hung_up');
  }

  // ---- the agent cannot take it: message, or a callback owed by the agent ------------------

  private get overflowConfigured(): boolean {
    return this.ctx.directOverflowFor(this.agent.id);
  }

  private async agentUnavailable(reason: DirectUnavailableReason): Promise<void> {
    if (this.state !== 'ringing_agent') return;
    this.record.outcome = reason;
    this.log.info('agent unavailable for a direct call', { agentId: this.agent.id, reason });
    this.ctx.milestone('direct_unavailable', { channelId: this.channel.id, agentId: this.agent.id, reason });
    try {
      await this.ctx.control.answer(this.channel.id);
    } catch (e) {
      if (isGone(e)) return this.onCallerGone();
    }
    if (this.overflowConfigured && isCallableNumber(this.callerNumber) && !isWithheld(this.callerNumber)) {
      this.state = 'offering';
      this.scheduleOffer();
      return;
    }
    this.state = 'closing';
    await this.playAndWait([PROMPTS.agentUnavailable]);
    await this.hangUpCaller('ended_after_message');
  }

  private scheduleOffer(): void {
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    if (this.state !== 'offering' || this.offerPlaybackId) return;
    const direct = this.ctx.config.direct;
    if (this.offer.offersMade >= direct.maxOffers) {
      // Offered enough: the system message, then the end.
      this.state = 'closing';
      this.record.reason = 'offer_not_taken';
      void this.playAndWait([PROMPTS.agentUnavailable]).then(() => this.hangUpCaller('ended_after_message'));
      return;
    }
    const now = this.ctx.clock.now();
    const d = decideOffer({ initialDelayMs: 0, intervalMs: direct.offerIntervalSec * 1000, thresholdPosition: 0 }, this.offer, {
      now,
      position: 1,
      overflowing: true,
    });
    if (d.kind === 'offer_now') void this.playOffer();
    else if (d.kind === 'wait') this.offerTimer = this.ctx.clock.setTimer(() => this.scheduleOffer(), d.untilMs - now);
  }

  private async playOffer(): Promise<void> {
    const id = this.playbacks.nextId();
    this.offerPlaybackId = id;
    this.offer.offersMade += 1;
    this.offer.lastOfferAt = this.ctx.clock.now();
    try {
      await this.ctx.control.play(this.channel.id, [PROMPTS.directOffer], id, this.language);
      this.ctx.milestone('offer_played', { channelId: this.channel.id, offer: this.offer.offersMade, direct: true });
    } catch (e) {
      this.offerPlaybackId = undefined;
      if (!isGone(e)) this.log.warn('direct offer failed', { error: String(e) });
    }
  }

  private async onCallerDigit(digit: string): Promise<void> {
    if (this.state !== 'offering') return;
    const playing = this.offerPlaybackId;
    if (interpretOfferDigit(digit) !== 'accept') {
      if (playing) {
        this.offerPlaybackId = undefined;
        await this.ctx.control.stopPlayback(playing).catch(() => undefined);
        this.scheduleOffer();
      }
      return;
    }
    this.state = 'storing';
    this.offer.accepted = true;
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerPlaybackId = undefined;
    // As in a queue: the stop goes out first and the booking runs meanwhile; the next prompt is
    // played only once the stop is answered.
    const promptStopped = playing ? this.ctx.control.stopPlayback(playing).catch(() => undefined) : Promise.resolve();
    const result = await bookOwedCallback(
      this.ctx,
      {
        agentId: this.agent.id,
        callerNumber: this.callerNumber,
        callerName: this.channel.caller.name || null,
        language: this.language,
        arrivedAt: new Date(this.offer.enteredAt),
        sourceChannelId: this.channel.id,
      },
      this.log,
    );
    await promptStopped;
    if (result.kind === 'number_refused') return this.refuseNumber(result.reason);
    if (result.kind === 'failed' || result.kind === 'refused') {
      if (this.state !== 'storing') return;
      this.state = 'offering';
      this.offer.accepted = false;
      await this.playAndWait([PROMPTS.storeFailed]);
      this.scheduleOffer();
      return;
    }
    const callback = result.kind === 'stored' ? result.callback : result.existing;
    this.record.outcome = 'callback_requested';
    this.record.callbackId = callback.id;
    // A report row, not a promise to the caller: written alongside the confirmation.
    void this.saveRecord();
    if (result.kind === 'stored') {
      this.ctx.addOwedCallback(result.callback);
      this.ctx.milestone('callback_stored', { channelId: this.channel.id, callbackId: callback.id, ownerAgentId: this.agent.id });
    }
    if (this.state !== 'storing') return;
    this.state = 'closing';
    if (result.kind === 'duplicate') {
      await this.playAndWait([PROMPTS.alreadyBooked]);
    } else {
      this.ctx.milestone('confirmation_started', { channelId: this.channel.id, callbackId: callback.id });
      await this.playAndWait(confirmationMedia(callback.customerNumber));
    }
    await this.hangUpCaller('ended_after_confirmation');
  }

  /**
   * The toll-fraud gate refused the caller id (premium, international, invalid): nothing is
   * stored or dialled; the caller hears that this number cannot be called back, then the message.
   */
  private async refuseNumber(reason: string): Promise<void> {
    this.log.warn('owed callback refused: the caller id fails the number policy', { reason });
    this.ctx.milestone('callback_refused', { channelId: this.channel.id, reason, direct: true });
    this.record.reason = 'number_refused';
    if (this.state !== 'storing') return; // hung up meanwhile
    this.state = 'closing';
    await this.playAndWait([PROMPTS.numberRefused, PROMPTS.agentUnavailable]);
    await this.hangUpCaller('ended_after_message');
  }

  // ---- the end ------------------------------------------------------------------------------

  /**
   * The plugin ends the call (after the system message, after the confirmation): the reason is
   * set before the hang-up, so the StasisEnd that follows is not taken for the caller hanging up.
   */
  private async hangUpCaller(why: DirectEndReason): Promise<void> {
    this.endedBy ??= why;
    await this.ctx.control.hangup(this.channel.id).catch(() => undefined);
  }

  private async onCallerGone(): Promise<void> {
    if (this.state === 'ringing_agent') {
      this.record.outcome = 'caller_abandoned';
      if (!this.agentLegGone) {
        this.agentLegGone = true;
        await this.ctx.control.hangup(this.agentChannelId).catch(() => undefined);
        this.ctx.releaseAgent(this.agent.id, { talked: false });
      }
    }
    await this.end(this.record.outcome ?? 'caller_abandoned', this.endedBy ?? 'caller_hung_up');
  }

  private async end(outcome: string, reason: DirectEndReason): Promise<void> {
    if (this.state === 'ended') return;
    const wasBridged = this.state === 'bridged';
    this.state = 'ended';
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.playbacks.settleAll();
    this.ctx.unbind(this.channel.id);
    const { control } = this.ctx;
    // The caller, or the plugin already, hung up; otherwise the plugin ends the call now.
    if (reason !== 'caller_hung_up' && this.endedBy === undefined) await control.hangup(this.channel.id).catch(() => undefined);
    if (wasBridged) {
      if (!this.agentLegGone) {
        this.agentLegGone = true;
        await control.hangup(this.agentChannelId).catch(() => undefined);
      }
      this.ctx.unbind(this.agentChannelId);
      this.ctx.releaseAgent(this.agent.id, { talked: true, handleSec: (this.ctx.clock.now() - this.answeredAt) / 1000 });
    }
    await control.destroyBridge(this.bridgeId).catch(() => undefined);
    this.record.outcome = outcome;
    // A more precise reason set earlier (e.g. offer_not_taken) stays.
    this.record.reason ??= reason;
    this.record.endedAt = new Date(this.ctx.clock.now());
    await this.saveRecord();
    this.ctx.milestone('caller_left', { channelId: this.channel.id, reason, outcome, direct: true });
    this.log.info('direct call ended', { outcome, reason });
  }

  private async playAndWait(media: string[]): Promise<void> {
    const id = this.playbacks.nextId();
    const finished = this.playbacks.finished(id);
    try {
      await this.ctx.control.play(this.channel.id, media, id, this.language);
    } catch {
      return;
    }
    await finished;
  }

  /**
   * Writes the record as it is now. Writes are chained, so one that was not awaited can never
   * land after, and overwrite, a later one (the end of the call).
   */
  private saveRecord(): Promise<void> {
    const row = { ...this.record };
    this.recordWrites = this.recordWrites.then(() =>
      this.ctx.store.recordDirectCall(row).catch((e: unknown) => {
        this.log.warn('direct call record not saved', { error: String(e) });
      }),
    );
    return this.recordWrites;
  }
}
