import { randomUUID } from 'node:crypto';
import { AriChannel, AriEvent } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { createNumberEntry, NumberEntryState, NumberEntryStep, numberEntryConfig, stepNumberEntry } from '../domain/policies';
import { numberPolicyOf } from '../config/config';
import { decideOffer, digitsForSpeech, interpretOfferDigit, isWithheld, OfferPolicy, OfferState, TimerHandle, WorkItem } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { PROMPTS } from './prompts';
import { ownChannelId } from './channel-ids';
import { bookCallback, confirmationMedia, isCallableNumber } from './callback-booking';
import { crashPoint } from '../engine/crash-points';

/** Silence while typing a number before it counts as '#'. */
const ENTRY_TIMEOUT_MS = 10_000;

type State = 'entering' | 'waiting' | 'entering_number' | 'storing' | 'confirming' | 'connecting' | 'bridged' | 'ended';

/**
 * A live caller in one of our queues, from StasisStart to the end of the call: holding bridge
 * with music, the callback offer loop, the durable callback request on "1", or the connection to
 * an agent when the caller's turn comes. Owns the caller's channel and, while connecting, the
 * agent's channel.
 */
export class QueueCallerSession implements ChannelSession {
  readonly kind = 'queue-caller';
  private state: State = 'entering';
  private readonly log: Logger;
  private readonly item: WorkItem;
  private readonly holdingBridgeId: string;
  private readonly offer: OfferState;
  private readonly policy: OfferPolicy;
  private offerTimer: TimerHandle | undefined;
  private offerPlaybackId: string | undefined;
  private readonly playbacks: PlaybackTracker;
  private entry: NumberEntryState | undefined;
  private entryPlaybackId: string | undefined;
  private entryTimer: TimerHandle | undefined;
  private agentLeg: { channelId: string; agentId: string; answered: boolean } | undefined;
  private mixingBridgeId: string | undefined;
  private bridgedAt = 0;
  private convertedToCallback = false;
  private readonly callerNumber: string;

  constructor(
    private readonly ctx: CallContext,
    private readonly channel: AriChannel,
    private readonly queue: QueueConfig,
    private readonly routeId: string | undefined,
    seq: number,
  ) {
    const now = ctx.clock.now();
    this.callerNumber = channel.caller.number;
    this.item = { id: channel.id, queueId: queue.id, kind: 'caller', priority: queue.priority, arrivedAt: now, seq };
    this.holdingBridgeId = `hold-${channel.id}`;
    this.offer = { enteredAt: now, offersMade: 0, lastOfferAt: null, accepted: false, ended: false };
    this.policy = {
      initialDelayMs: queue.offer.initialDelaySec * 1000,
      intervalMs: queue.offer.intervalSec * 1000,
      thresholdPosition: queue.offer.thresholdPosition,
    };
    this.playbacks = new PlaybackTracker(channel.id);
    this.log = callLogger(ctx.logger, { callId: channel.id, kind: this.kind, queueId: queue.id, callerNumber: channel.caller.number });
  }

  get itemId(): string {
    return this.item.id;
  }

  async start(): Promise<void> {
    const { control } = this.ctx;
    this.ctx.bind(this.channel.id, this);
    try {
      await control.answer(this.channel.id);
      await control.createBridge(this.holdingBridgeId, 'holding', `queue ${this.queue.id}`);
      await control.addToBridge(this.holdingBridgeId, [this.channel.id]);
      await control.startBridgeMoh(this.holdingBridgeId);
    } catch (e) {
      this.log.warn('could not put the caller on hold', { error: String(e) });
      await this.end(isGone(e) ? 'caller_gone' : 'setup_failed');
      return;
    }
    if (this.state !== 'entering') return; // hung up meanwhile
    this.state = 'waiting';
    this.ctx.enqueue(this.item);
    this.ctx.milestone('caller_entered', { channelId: this.channel.id, queueId: this.queue.id, position: this.ctx.position(this.item) });
    this.log.info('caller queued', { position: this.ctx.position(this.item), routeId: this.routeId });
    this.scheduleOffer();
    this.ctx.dispatchSoon();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const mine = 'channel' in event && event.channel.id === this.channel.id;
    switch (event.type) {
      case 'ChannelDtmfReceived':
        if (mine) void this.onDtmf(event.digit);
        else if (this.agentLeg && event.channel.id === this.agentLeg.channelId) this.log.debug('agent digit ignored', { digit: event.digit });
        return;
      case 'PlaybackFinished':
        if (event.playback.id === this.offerPlaybackId) {
          this.offerPlaybackId = undefined;
          if (this.state === 'waiting') this.scheduleOffer();
        }
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
        if (mine) {
          void this.end('caller_hung_up');
          return;
        }
        if (this.agentLeg && event.channel.id === this.agentLeg.channelId) void this.onAgentLegGone(undefined);
        return;
      case 'ChannelDestroyed':
        if (this.agentLeg && event.channel.id === this.agentLeg.channelId) void this.onAgentLegGone(event.cause);
        return;
      case 'StasisStart':
        if (this.agentLeg && event.channel.id === this.agentLeg.channelId) void this.onAgentAnswered();
        return;
      default:
        return;
    }
  }

  // ---- the offer loop -------------------------------------------------------------------

  /** The caller id is a number we could call back. */
  private get callerIdCallable(): boolean {
    return !isWithheld(this.callerNumber) && isCallableNumber(this.callerNumber);
  }

  /** Offers need a number: the caller id, or one the caller types (when the queue allows it). */
  private get canOfferCallback(): boolean {
    return this.callerIdCallable || this.queue.otherNumber;
  }

  private scheduleOffer(): void {
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    if (this.state !== 'waiting' || !this.canOfferCallback || this.offerPlaybackId) return;
    const position = this.ctx.position(this.item) ?? 1;
    const now = this.ctx.clock.now();
    const decision = decideOffer(this.policy, this.offer, { now, position, overflowing: this.ctx.isOverflowing(this.item, this.routeId) });
    switch (decision.kind) {
      case 'offer_now':
        void this.playOffer();
        return;
      case 'wait':
        this.offerTimer = this.ctx.clock.setTimer(() => this.scheduleOffer(), decision.untilMs - now);
        return;
      case 'idle':
        // Not overflowing now: look again shortly (queues change with every arrival).
        this.offerTimer = this.ctx.clock.setTimer(() => this.scheduleOffer(), Math.min(this.policy.intervalMs, 5000));
        return;
      case 'stop':
        this.log.info('callback offers stopped', { reason: decision.reason, position });
        return;
    }
  }

  private async playOffer(): Promise<void> {
    const id = this.playbacks.nextId('offer');
    this.offerPlaybackId = id;
    this.offer.offersMade += 1;
    this.offer.lastOfferAt = this.ctx.clock.now();
    try {
      await this.ctx.control.play(this.channel.id, this.queue.otherNumber ? [PROMPTS.offer, PROMPTS.offerOtherNumber] : [PROMPTS.offer], id);
      this.ctx.milestone('offer_played', { channelId: this.channel.id, offer: this.offer.offersMade, position: this.ctx.position(this.item) });
      this.log.info('callback offered', { offer: this.offer.offersMade });
    } catch (e) {
      this.offerPlaybackId = undefined;
      if (!isGone(e)) this.log.warn('offer playback failed', { error: String(e) });
      this.scheduleOffer();
    }
  }

  private async stopOfferPrompt(): Promise<void> {
    const id = this.offerPlaybackId;
    if (!id) return;
    this.offerPlaybackId = undefined;
    await this.ctx.control.stopPlayback(id).catch(() => undefined); // already finished is fine
  }

  private async onDtmf(digit: string): Promise<void> {
    if (this.state === 'entering_number') return this.onEntryDigit(digit);
    if (this.state !== 'waiting') return;
    // A digit during the prompt interrupts it, whatever the digit.
    const interrupted = this.offerPlaybackId !== undefined;
    const offered = this.offer.offersMade > 0 && this.canOfferCallback;
    if (offered && interpretOfferDigit(digit) === 'accept') {
      // A withheld caller id makes entering a number mandatory.
      if (this.callerIdCallable) await this.acceptCallback(interrupted, this.callerNumber);
      else await this.startNumberEntry();
      return;
    }
    if (offered && digit === '2' && this.queue.otherNumber) {
      await this.startNumberEntry();
      return;
    }
    if (interrupted) await this.stopOfferPrompt();
    this.log.debug('digit ignored', { digit });
    if (interrupted) this.scheduleOffer();
  }

  // ---- "press 2": another number, typed, read back and confirmed ----------------------------

  private async startNumberEntry(): Promise<void> {
    this.state = 'entering_number';
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    await this.stopOfferPrompt();
    await this.ctx.control.stopBridgeMoh(this.holdingBridgeId).catch(() => undefined);
    this.log.info('caller enters another number');
    await this.applyEntryStep(createNumberEntry(numberEntryConfig(numberPolicyOf(this.queue))));
  }

  private async onEntryDigit(digit: string): Promise<void> {
    if (!this.entry) return;
    const playing = this.entryPlaybackId;
    this.entryPlaybackId = undefined;
    // Typing interrupts the prompt (a digits: read-back cannot be stopped; that is fine).
    if (playing) void this.ctx.control.stopPlayback(playing).catch(() => undefined);
    await this.applyEntryStep(stepNumberEntry(this.entry, { kind: 'digit', digit }));
  }

  private async applyEntryStep(step: NumberEntryStep): Promise<void> {
    if (this.state !== 'entering_number') return;
    this.entry = step.state;
    if (this.entryTimer) this.ctx.clock.clearTimer(this.entryTimer);
    this.entryTimer = undefined;
    if (step.rejection) this.log.info('number entry rejected', { rejection: step.rejection });
    if (step.actions.includes('accepted') && step.number) {
      this.entry = undefined;
      await this.ctx.control.startBridgeMoh(this.holdingBridgeId).catch(() => undefined);
      this.state = 'waiting';
      await this.acceptCallback(false, step.number);
      return;
    }
    if (step.actions.includes('give_up')) {
      // Never a crash, never a garbage number: the caller is told and keeps the place.
      this.entry = undefined;
      await this.playAndWait([PROMPTS.entryGivenUp], 'entry-given-up');
      if (this.state !== 'entering_number') return;
      this.state = 'waiting';
      await this.ctx.control.startBridgeMoh(this.holdingBridgeId).catch(() => undefined);
      this.scheduleOffer();
      return;
    }
    const media: string[] = [];
    for (const a of step.actions) {
      if (a === 'prompt_invalid') media.push(PROMPTS.invalidNumber);
      else if (a === 'prompt_refused') media.push(PROMPTS.numberRefused);
      else if (a === 'prompt_enter') media.push(PROMPTS.enterNumber);
      else if (a === 'read_back' && step.number) media.push(PROMPTS.youEntered, `digits:${digitsForSpeech(step.number)}`, PROMPTS.confirmNumber);
    }
    if (media.length > 0) {
      const id = this.playbacks.nextId('entry');
      this.entryPlaybackId = id;
      await this.ctx.control.play(this.channel.id, media, id).catch(() => undefined);
    }
    // No key for a while counts like '#' (or an invalid try when nothing was typed).
    this.entryTimer = this.ctx.clock.setTimer(() => {
      if (this.entry) void this.applyEntryStep(stepNumberEntry(this.entry, { kind: 'timeout' }));
    }, ENTRY_TIMEOUT_MS);
  }

  // ---- "press 1": the durable callback request ----------------------------------------

  /**
   * Press 1. The caller waits from the digit to the confirmation, so that path is kept to one
   * database round trip (the booking statement) running alongside one ARI request (stopping the
   * offer): nothing else is awaited before the confirmation's play, which is sent only after COMMIT.
   */
  private async acceptCallback(promptPlaying: boolean, rawNumber: string): Promise<void> {
    this.state = 'storing';
    this.offer.accepted = true;
    crashPoint('offer.after_press1');
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    // Sent first, awaited last: the booking runs while Asterisk stops the prompt. Every prompt
    // below is played only once the stop is answered, since a play on a channel that is still
    // playing would queue behind the offer.
    const promptStopped = promptPlaying ? this.stopOfferPrompt() : Promise.resolve();
    const check = this.ctx.checkCallbackNumber(this.queue, rawNumber, this.callerNumber);
    if (!check.ok) {
      await promptStopped;
      await this.refuseNumber(check.reason);
      return;
    }
    const customerNumber = check.e164;
    const id = randomUUID();
    this.log.info('callback requested; storing', { callbackId: id });
    crashPoint('offer.before_commit');
    const result = await bookCallback(
      this.ctx.store,
      {
        id,
        queueId: this.queue.id,
        routeId: this.routeId ?? null,
        customerNumber,
        customerName: this.channel.caller.name || null,
        language: this.channel.language ?? 'en',
        priority: this.item.priority,
        arrivedAt: new Date(this.item.arrivedAt),
        maxAttempts: this.queue.maxAttempts,
        sourceChannelId: this.channel.id,
        maxOpenElsewhere: check.maxOpenElsewhere,
      },
      this.log,
    );
    await promptStopped;
    if (result.kind === 'refused') {
      await this.refuseNumber(result.reason);
      return;
    }
    this.ctx.recordCallbackRequest(this.queue, this.callerNumber);
    if (result.kind === 'failed') {
      // Never a false confirmation: the caller is told and keeps waiting at the same place.
      if (this.state !== 'storing') return; // hung up meanwhile: nothing was promised
      this.state = 'waiting';
      this.offer.accepted = false;
      await this.playAndWait([PROMPTS.storeFailed], 'store-failed');
      this.scheduleOffer();
      return;
    }
    if (result.kind === 'duplicate') {
      this.log.info('callback already booked for this number', { existing: result.existing.id });
      this.ctx.dequeue(this.item.id);
      this.convertedToCallback = true; // the earlier request keeps its place; this item goes
      if (this.state === 'storing') {
        this.state = 'confirming';
        const told = this.playAndWait([PROMPTS.alreadyBooked], 'already-booked');
        const mohStopped = this.ctx.control.stopBridgeMoh(this.holdingBridgeId).catch(() => undefined);
        await told;
        await mohStopped;
        await this.hangupCaller();
      }
      return;
    }
    const stored = result.callback;
    crashPoint('offer.after_commit');
    this.convertedToCallback = true;
    this.ctx.convertToCallback(this.item, stored);
    this.ctx.milestone('callback_stored', { channelId: this.channel.id, callbackId: stored.id, position: this.ctx.position({ ...this.item, id: stored.id, kind: 'callback' }) });
    this.log.info('callback stored', { callbackId: stored.id });
    if (this.state !== 'storing') return; // the caller hung up while we stored: the request stands
    this.state = 'confirming';
    this.ctx.milestone('confirmation_started', { channelId: this.channel.id, callbackId: stored.id });
    const confirmation = this.playAndWait(confirmationMedia(customerNumber), 'confirm');
    // Prompts play over the holding music (the offers do); it is stopped only so that none is
    // heard between the confirmation's end and the hang-up, so its stop goes out with the play.
    const mohStopped = this.ctx.control.stopBridgeMoh(this.holdingBridgeId).catch(() => undefined);
    crashPoint('offer.during_confirmation');
    await confirmation;
    await mohStopped;
    crashPoint('offer.before_hangup');
    await this.hangupCaller();
  }

  /** Toll-fraud guard: a refused number is never stored; the caller is told and keeps waiting. */
  private async refuseNumber(reason: string): Promise<void> {
    this.log.warn('callback number refused', { reason });
    this.ctx.milestone('callback_refused', { channelId: this.channel.id, reason });
    if (this.state !== 'storing') return; // hung up meanwhile
    this.state = 'waiting';
    this.offer.accepted = false;
    await this.playAndWait([PROMPTS.numberRefused], 'refused');
    this.scheduleOffer();
  }

  private async playAndWait(media: string[], label: string): Promise<void> {
    const id = this.playbacks.nextId(label);
    const finished = this.playbacks.finished(id);
    try {
      await this.ctx.control.play(this.channel.id, media, id);
    } catch (e) {
      if (!isGone(e)) this.log.warn('playback failed', { label, error: String(e) });
      return;
    }
    await finished;
  }

  private async hangupCaller(): Promise<void> {
    if (this.state === 'ended') return;
    await this.ctx.control.hangup(this.channel.id, 'normal').catch(() => undefined);
    // StasisEnd follows and ends the session; end() is idempotent.
  }

  // ---- connecting a live caller to an agent ---------------------------------------------

  /** Called by dispatch: this caller is at the head and `agentId` is free. */
  async connectToAgent(agentId: string): Promise<void> {
    const agent = this.ctx.agent(agentId);
    if (this.state !== 'waiting' || !agent) {
      this.ctx.releaseFromService(this.item.id);
      if (agent) this.ctx.releaseAgent(agentId, { talked: false });
      return;
    }
    this.state = 'connecting';
    const agentChannelId = ownChannelId('agent', this.ctx.config.ari.app);
    this.agentLeg = { channelId: agentChannelId, agentId, answered: false };
    this.ctx.bind(agentChannelId, this);
    const name = (this.channel.caller.name || this.callerNumber || 'Caller').replace(/["<>]/g, '');
    this.log.info('ringing agent for live caller', { agentId, agentChannelId });
    try {
      await this.ctx.control.originate({
        channelId: agentChannelId,
        endpoint: agent.endpoint,
        appArgs: ['agent-live', this.channel.id],
        callerId: this.canOfferCallback ? `"${name}" <${this.callerNumber}>` : undefined,
        timeoutSec: this.ctx.config.callback.agentRingTimeoutSec,
      });
    } catch (e) {
      this.log.warn('agent could not be rung', { agentId, error: String(e) });
      await this.onAgentLegGone(undefined);
    }
  }

  private async onAgentAnswered(): Promise<void> {
    const leg = this.agentLeg;
    if (!leg || leg.answered) return;
    leg.answered = true;
    if (this.state !== 'connecting') {
      // The caller left (or took a callback) while the agent's phone rang.
      await this.ctx.control.hangup(leg.channelId).catch(() => undefined);
      return;
    }
    this.state = 'bridged';
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offer.ended = true;
    await this.stopOfferPrompt();
    this.ctx.dequeue(this.item.id);
    this.mixingBridgeId = `call-${this.channel.id}`;
    try {
      await this.ctx.control.destroyBridge(this.holdingBridgeId);
      await this.ctx.control.createBridge(this.mixingBridgeId, 'mixing', `queue ${this.queue.id} call`);
      await this.ctx.control.addToBridge(this.mixingBridgeId, [this.channel.id, leg.channelId]);
      this.bridgedAt = this.ctx.clock.now();
      this.ctx.milestone('caller_connected', { channelId: this.channel.id, agentId: leg.agentId });
      this.log.info('caller connected to agent', { agentId: leg.agentId, waitedSec: Math.round((this.bridgedAt - this.item.arrivedAt) / 1000) });
    } catch (e) {
      this.log.warn('could not bridge caller and agent', { error: String(e) });
      await this.end('bridge_failed');
    }
  }

  private async onAgentLegGone(cause: number | undefined): Promise<void> {
    const leg = this.agentLeg;
    if (!leg) return;
    this.agentLeg = undefined;
    this.ctx.unbind(leg.channelId);
    if (this.state === 'connecting') {
      // Rang out, busy or unreachable: the caller keeps the place and another agent is tried.
      this.log.info('agent did not take the live call', { agentId: leg.agentId, cause });
      this.ctx.declined(this.item.id, leg.agentId);
      this.ctx.releaseAgent(leg.agentId, { talked: false });
      this.ctx.releaseFromService(this.item.id);
      this.state = 'waiting';
      this.scheduleOffer();
      this.ctx.dispatchSoon();
      return;
    }
    if (this.state === 'bridged') {
      this.ctx.releaseAgent(leg.agentId, { talked: true, handleSec: (this.ctx.clock.now() - this.bridgedAt) / 1000 });
      await this.end('agent_hung_up');
      return;
    }
    this.ctx.releaseAgent(leg.agentId, { talked: false });
  }

  // ---- the end ----------------------------------------------------------------------------

  async end(reason: string): Promise<void> {
    if (this.state === 'ended') return;
    const previous = this.state;
    this.state = 'ended';
    this.offer.ended = true;
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    if (this.entryTimer) this.ctx.clock.clearTimer(this.entryTimer);
    this.offerTimer = undefined;
    this.playbacks.settleAll();
    if (!this.convertedToCallback) this.ctx.dequeue(this.item.id);
    this.ctx.releaseFromService(this.item.id);
    this.ctx.unbind(this.channel.id);
    this.log.info('caller session ended', { reason, state: previous });
    if (reason === 'caller_hung_up') this.ctx.milestone('caller_hung_up', { channelId: this.channel.id, convertedToCallback: this.convertedToCallback });
    const { control } = this.ctx;
    if (reason !== 'caller_hung_up' && reason !== 'caller_gone') await control.hangup(this.channel.id).catch(() => undefined);
    const leg = this.agentLeg;
    if (leg) {
      this.agentLeg = undefined;
      this.ctx.unbind(leg.channelId);
      await control.hangup(leg.channelId).catch(() => undefined);
      const talked = previous === 'bridged';
      this.ctx.releaseAgent(leg.agentId, { talked, handleSec: talked ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined });
    }
    await control.destroyBridge(this.holdingBridgeId).catch(() => undefined);
    if (this.mixingBridgeId) await control.destroyBridge(this.mixingBridgeId).catch(() => undefined);
    this.ctx.dispatchSoon();
  }
}
