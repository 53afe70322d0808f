import { randomUUID } from 'node:crypto';
import { AriChannel, AriEvent } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { AgentState, decideOffer, interpretOfferDigit, isWithheld, OfferState, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { DirectCallRecord } from '../store/callback-store';
import { CallContext, ChannelSession } from './call-context';
import { ChannelPlaybacks, Playback } from './playback';
import { confirmationMedia, isCallableNumber } from './callback-booking';
import { bookOwedCallback } from './owed-callback-booking';
import { PROMPTS, promptLanguageFor } from './prompts';
import { ownChannelId } from './channel-ids';
import { DirectEndReason, DirectUnavailableReason, unavailableReasonOf } from './direct-call-outcomes';
import { DirectCallState, DirectCallStates } from './direct-call-states';
import { Leg, LegPair } from './leg';
import { bridgeDirectCall } from './direct-call-bridge';
import { musicWhileSlow } from './music-while-slow';

/**
 * A call to an agent's personal number: the agent's phone rings while the caller hears ringing;
 * on answer both are bridged. When the agent cannot take it, the caller hears the system message
 * and the call ends, or (when direct overflow is configured) is offered a callback owed by that
 * same agent, with the same press-1 / confirm-after-commit rules as the queues.
 *
 * The agent's phone is a Leg (originated: it enters Stasis answered); once the agent answers, the
 * caller and the agent are a LegPair: when one hangs up, the other is hung up. The call moves on
 * only by the steps of direct-call-states.ts.
 */
export class DirectCallSession implements ChannelSession {
  readonly kind = 'direct-call';
  private readonly states = new DirectCallStates();
  private readonly log: Logger;
  private readonly playbacks: ChannelPlaybacks;
  private readonly agentLeg: Leg;
  /** The caller as a leg, and the pair, once the agent answered. */
  private callerLeg: Leg | undefined;
  private pair: LegPair | undefined;
  private readonly bridgeId = `direct-bridge-${randomUUID()}`;
  /** The agent was made busy for this call and not yet released. */
  private agentHeld = false;
  /** The mixing bridge may exist (its creation was sent): the end destroys it. */
  private bridgeCreated = false;
  private answeredAt = 0;
  /** Set when the plugin ends the call itself (then StasisEnd is not the caller hanging up). */
  private endedBy: DirectEndReason | undefined;
  private offerTimer: TimerHandle | undefined;
  private offerPlayback: Playback | undefined;
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
    this.agentLeg = new Leg(ctx, ownChannelId('direct-agent', ctx.config.ari.app));
    this.agentLeg.on('answered', () => void this.onAgentAnswered());
    this.agentLeg.on('gone', (_leg, cause) => void this.onAgentGone(cause));
    this.playbacks = new ChannelPlaybacks(ctx, channel.id);
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

  get state(): DirectCallState {
    return this.states.state;
  }

  async start(): Promise<void> {
    const { ctx, agent } = this;
    ctx.bind(this.channel.id, this);
    await this.saveRecord();
    // The caller may hang up while the row is written (a slow database): then nothing is rung.
    if (!this.states.is('ringing_agent')) return;
    const now = ctx.clock.now();
    // Known unavailable: do not ring a phone that cannot take the call.
    if (!agent.loggedIn) return this.agentUnavailable('logged_out');
    if (agent.paused) return this.agentUnavailable('do_not_disturb');
    if (agent.deviceState === 'UNAVAILABLE' || agent.deviceState === 'INVALID') return this.agentUnavailable('unregistered');
    if (agent.onPluginCall || ['INUSE', 'BUSY', 'RINGINUSE', 'ONHOLD'].includes(agent.deviceState) || now < agent.wrapUpUntil)
      return this.agentUnavailable('busy');
    ctx.agents.busy(agent.id);
    this.agentHeld = true;
    ctx.bind(this.agentLeg.channelId, this);
    await ctx.control.ring(this.channel.id).catch(() => undefined);
    if (!this.states.is('ringing_agent')) return; // hung up meanwhile: the end released the agent
    const name = (this.channel.caller.name || this.callerNumber || '').replace(/["<>]/g, '');
    try {
      await this.agentLeg.originate({
        endpoint: agent.endpoint,
        appArgs: ['direct-agent', this.channel.id],
        callerId: isWithheld(this.callerNumber) ? undefined : `"${name}" <${this.callerNumber}>`,
        timeoutSec: ctx.config.direct.ringTimeoutSec,
      });
      this.log.info('ringing agent for a direct call', { agentId: agent.id });
      // The caller hung up while the originate was answered: the end found no leg to hang up yet.
      if (this.states.is('ended')) await this.agentLeg.hangup();
    } catch (e) {
      this.log.warn('agent phone could not be rung', { agentId: agent.id, error: String(e) });
      ctx.unbind(this.agentLeg.channelId);
      this.releaseAgent({ talked: false });
      await this.agentUnavailable('unregistered');
    }
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    if (this.agentLeg.onEvent(event)) return;
    this.callerLeg?.onEvent(event);
    if (!('channel' in event) || event.channel.id !== this.channel.id) return;
    switch (event.type) {
      case 'ChannelDtmfReceived':
        void this.onCallerDigit(event.digit);
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
        void this.onCallerGone();
        return;
      default:
        return;
    }
  }

  // ---- agent leg ----------------------------------------------------------------------------

  private async onAgentAnswered(): Promise<void> {
    if (!this.states.step('agent_answered')) {
      // The call moved on while the phone rang (the caller hung up): the agent is not connected.
      await this.agentLeg.hangup();
      return;
    }
    // Answered the moment the agent picked up, whoever hangs up first afterwards.
    this.answeredAt = this.ctx.clock.now();
    this.record.answeredAt = new Date(this.answeredAt);
    this.record.outcome = 'answered';
    this.bridgeCreated = true;
    const call = { callerId: this.channel.id, agentLeg: this.agentLeg, bridgeId: this.bridgeId, name: `direct ${this.agent.id}` };
    const error = await bridgeDirectCall(this.ctx, call, () => this.states.is('connecting'));
    if (!this.states.is('connecting')) return; // the caller hung up: the end took the agent and the bridge
    if (error !== undefined) {
      // Not connected (the agent left first, or Asterisk refused): the agent is let go, and the
      // caller is offered a callback or told, as when the agent does not answer; never a silent hang-up.
      const left = this.agentLeg.isGone;
      this.log.warn('direct call not connected; the agent is let go', { agentLeft: left, error: String(error) });
      this.ctx.unbind(this.agentLeg.channelId);
      await Promise.all([this.agentLeg.hangup(), this.ctx.control.destroyBridge(this.bridgeId).catch(() => undefined)]);
      this.releaseAgent({ talked: false });
      this.record.answeredAt = undefined;
      await this.agentUnavailable(left ? 'no_answer' : 'failed');
      return;
    }
    this.states.step('bridge_made');
    // From here the two go together: when either hangs up, the other is hung up (no message).
    this.callerLeg = new Leg(this.ctx, this.channel.id);
    this.callerLeg.adopt('answered');
    this.pair = new LegPair(this.callerLeg, this.agentLeg, () => 'hang_up');
    if (this.agentLeg.isGone) return this.end('answered', 'agent_hung_up'); // gone before the pair could hear of it
    await this.saveRecord();
    this.ctx.milestone('caller_connected', { channelId: this.channel.id, agentId: this.agent.id, direct: true });
    this.log.info('direct call answered', { agentId: this.agent.id });
  }

  private async onAgentGone(cause: number | undefined): Promise<void> {
    this.ctx.unbind(this.agentLeg.channelId);
    if (this.states.is('ringing_agent')) {
      this.releaseAgent({ talked: false });
      this.record.cause = cause ?? null;
      await this.agentUnavailable(unavailableReasonOf(cause));
      return;
    }
    // Answered and left before the bridge: onAgentAnswered sees it once its requests are back.
    if (this.states.is('connecting')) this.record.cause = cause ?? null;
    if (this.states.is('bridged')) await this.end('answered', 'agent_hung_up');
  }

  /** The agent's plugin call is over: released once, whichever way the call went. */
  private releaseAgent(opts: { talked: boolean; handleSec?: number }): void {
    if (!this.agentHeld) return;
    this.agentHeld = false;
    this.ctx.agents.release(this.agent.id, opts);
  }

  // ---- the agent cannot take it: message, or a callback owed by the agent ------------------

  private get overflowConfigured(): boolean {
    return this.ctx.agents.directOverflowFor(this.agent.id);
  }

  private async agentUnavailable(reason: DirectUnavailableReason): Promise<void> {
    if (!this.states.is('ringing_agent', 'connecting')) return;
    this.record.outcome = reason;
    this.log.info('agent unavailable for a direct call', { agentId: this.agent.id, reason });
    this.ctx.milestone('direct_unavailable', { channelId: this.channel.id, agentId: this.agent.id, reason });
    try {
      await this.ctx.control.answer(this.channel.id);
    } catch (e) {
      if (isGone(e)) return this.onCallerGone();
    }
    if (this.overflowConfigured && isCallableNumber(this.callerNumber) && !isWithheld(this.callerNumber)) {
      if (this.states.step('offer')) this.scheduleOffer();
      return;
    }
    if (!this.states.step('message')) return; // the caller hung up during the answer
    await this.playAndWait([PROMPTS.agentUnavailable]);
    await this.hangUpCaller('ended_after_message');
  }

  private scheduleOffer(): void {
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    if (!this.states.is('offering') || this.offerPlayback) return;
    const direct = this.ctx.config.direct;
    if (this.offer.offersMade >= direct.maxOffers) {
      // Offered enough: the system message, then the end.
      if (!this.states.step('offers_done')) return;
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

  /**
   * One offer. Whatever way it ends (finished, stopped by a key, refused by Asterisk) the next is
   * scheduled, unless press 1 took it over; a refused play must not end the offers: the next one
   * comes at the interval (fuzzer seed 18 #151).
   */
  private async playOffer(): Promise<void> {
    const offer = this.playbacks.create([PROMPTS.directOffer], this.language);
    this.offerPlayback = offer;
    this.offer.offersMade += 1;
    this.offer.lastOfferAt = this.ctx.clock.now();
    void offer.ended.then((how) => {
      if (this.offerPlayback !== offer) return;
      this.offerPlayback = undefined;
      if (how === 'failed' && this.states.is('offering')) this.log.warn('direct offer could not be played');
      this.scheduleOffer();
    });
    if (await offer.start()) this.ctx.milestone('offer_played', { channelId: this.channel.id, offer: this.offer.offersMade, direct: true });
  }

  private async onCallerDigit(digit: string): Promise<void> {
    if (!this.states.is('offering')) return;
    const playing = this.offerPlayback;
    if (interpretOfferDigit(digit) !== 'accept') {
      // Another key cuts the offer short; the next comes at the interval (see playOffer).
      if (playing) await playing.stop();
      return;
    }
    if (!this.states.step('accepted')) return;
    this.offer.accepted = true;
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    this.offerPlayback = undefined;
    // As in a queue: the stop goes out first and the booking runs meanwhile; the next prompt is
    // played only once the offer has really ended (a stop's 204 is not its end).
    const promptStopped = playing ? playing.stop() : Promise.resolve();
    // No holding bridge here: a slow booking plays music to the waiting caller.
    const music = musicWhileSlow(this.ctx, this.channel.id);
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
    await Promise.all([promptStopped, music.stop()]);
    if (result.kind === 'number_refused') return this.refuseNumber(result.reason);
    if (result.kind === 'failed' || result.kind === 'refused') {
      if (!this.states.step('back_to_offering')) return;
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
      this.ctx.queues.addOwedCallback(result.callback);
      this.ctx.milestone('callback_stored', { channelId: this.channel.id, callbackId: callback.id, ownerAgentId: this.agent.id });
    }
    if (!this.states.step('booked')) return; // hung up meanwhile: nothing is played to a gone caller
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
    if (!this.states.step('number_refused')) return; // hung up meanwhile
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
    if (this.states.is('ringing_agent')) this.record.outcome = 'caller_abandoned';
    await this.end(this.record.outcome ?? 'caller_abandoned', this.endedBy ?? 'caller_hung_up');
  }

  /**
   * The one end of every call. The state is `ended` before the first await, so nothing that
   * resumes afterwards (an answer, a booking, an offer) acts on the call. The agent's leg goes
   * with the caller whatever state it is in: ringing (it is hung up and no longer routed, found
   * by the fuzzer), or bridged (the pair's rule has hung up the survivor, or does now).
   */
  private async end(outcome: string, reason: DirectEndReason): Promise<void> {
    const wasBridged = this.states.is('bridged');
    if (!this.states.step('end')) return;
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    this.offerPlayback = undefined;
    this.playbacks.settleAll();
    this.ctx.unbind(this.channel.id);
    this.ctx.unbind(this.agentLeg.channelId);
    // The caller, or the plugin already, hung up; otherwise the plugin ends the call now.
    if (reason !== 'caller_hung_up' && this.endedBy === undefined)
      await (this.callerLeg ? this.callerLeg.hangup() : this.ctx.control.hangup(this.channel.id).catch(() => undefined));
    await this.pair?.survivorHandled();
    await this.agentLeg.hangup();
    this.releaseAgent(wasBridged ? { talked: true, handleSec: (this.ctx.clock.now() - this.answeredAt) / 1000 } : { talked: false });
    if (this.bridgeCreated) await this.ctx.control.destroyBridge(this.bridgeId).catch(() => undefined);
    this.record.outcome = outcome;
    // A more precise reason set earlier (e.g. offer_not_taken) stays.
    this.record.reason ??= reason;
    this.record.endedAt = new Date(this.ctx.clock.now());
    await this.saveRecord();
    this.ctx.milestone('caller_left', { channelId: this.channel.id, reason, outcome, direct: true });
    this.log.info('direct call ended', { outcome, reason });
  }

  private async playAndWait(media: string[]): Promise<void> {
    const playback = await this.playbacks.play(media, this.language);
    await playback.ended;
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
