import { randomUUID } from 'node:crypto';
import { AriChannel, AriEvent } from '../ari/ari-events';
import { alreadyExists, isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { createNumberEntry, NumberEntryState, NumberEntryStep, numberEntryConfig, stepNumberEntry } from '../domain/policies';
import { numberPolicyOf } from '../config/config';
import { ActionInForce, AnnouncementPolicy, decideAnnouncement, decideOffer, digitsForSpeech, interpretOfferDigit, isWithheld, OfferPolicy, OfferState, spokenWait, TimerHandle, WorkItem } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { CallContext, ChannelSession, PlaybackTracker } from './call-context';
import { announcementMedia, PROMPTS, promptLanguageFor } from './prompts';
import { OverflowCaller, OverflowEndReason, overflowVerb, OverflowVerb } from './overflow-actions';
import { holdingBridgeIdOf, ownChannelId } from './channel-ids';
import { bookCallback, confirmationMedia, isCallableNumber } from './callback-booking';
import { crashPoint } from '../config/crash-points';
import { QueueExitReason } from '../store/queue-entry-store';

/**
 * Why a queue caller's call ended, logged and reported: the caller hung up (or was gone at
 * start), the agent hung up after talking, the plugin ended it after the callback confirmation,
 * or it could not be set up or bridged.
 */
export type CallerEndReason = 'caller_hung_up' | 'caller_gone' | 'agent_hung_up' | 'ended_after_confirmation' | 'setup_failed' | 'bridge_failed' | OverflowEndReason;

/** How long a caller's queueing waits for the database to store the place before going ahead. */
const PLACE_WAIT_MS = 1500;

function offerPolicyOf(queue: QueueConfig): OfferPolicy {
  return { initialDelayMs: queue.offer.initialDelaySec * 1000, intervalMs: queue.offer.intervalSec * 1000, thresholdPosition: queue.offer.thresholdPosition };
}

function announcePolicyOf(queue: QueueConfig): AnnouncementPolicy {
  return { onEntry: queue.announce.onEntry, everyMs: queue.announce.everySec === null ? null : queue.announce.everySec * 1000 };
}

/** While waiting, the overflow ladder is looked at again at least this often (waits grow, queues change). */
const OVERFLOW_RECHECK_MS = 5000;
/** An overflow step that could not apply is not tried again for this long. */
const STEP_RETRY_MS = 60_000;

/** The promise's value if it settles within `ms`, else undefined (the promise goes on). */
async function within<T>(p: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Silence while typing a number before it counts as '#'. */
const ENTRY_TIMEOUT_MS = 10_000;

type State = 'entering' | 'waiting' | 'entering_number' | 'storing' | 'confirming' | 'connecting' | 'bridged' | 'overflowing' | 'transferred' | 'ended';

/**
 * A live caller in one of our queues, from StasisStart to the end of the call: holding bridge
 * with music, the callback offer loop, the durable callback request on "1", or the connection to
 * an agent when the caller's turn comes. Owns the caller's channel and, while connecting, the
 * agent's channel.
 */
/** What a new process knows of a queue caller its predecessor left in Stasis. */
export interface QueueCallerAdoption {
  /** The caller's place: its stored arrival, or the channel's creation time. */
  arrivedAt: number;
  /** The channel is in its holding bridge (holdingBridgeIdOf) already, by `GET /bridges`. */
  inHoldingBridge: boolean;
}

export class QueueCallerSession implements ChannelSession {
  readonly kind = 'queue-caller';
  private state: State = 'entering';
  private readonly log: Logger;
  private item: WorkItem;
  /** The caller's stored place (queue_entries), once the database has it. */
  private entryId: string | undefined;
  private entryClosed = false;
  /** Set when the plugin ends the call itself (then StasisEnd is not the caller hanging up). */
  private endedBy: CallerEndReason | undefined;
  /** Why the caller left, when that happened before the database stored the place. */
  private closeWhenPlaced: { reason: QueueExitReason; callbackId?: string } | undefined;
  /** The item's seq came from the database (shared by every instance), not from this process. */
  private seqIsShared = false;
  private readonly holdingBridgeId: string;
  private offer: OfferState;
  private policy: OfferPolicy;
  private announcePolicy: AnnouncementPolicy;
  private announcePlaybackId: string | undefined;
  private lastAnnouncedAt: number | null = null;
  /** The overflow action running now (another queue, an outside number, voicemail, a message). */
  private verb: OverflowVerb | undefined;
  /** Overflow steps that could not apply (e.g. an outside number that did not answer): not again before. */
  private readonly stepsBlocked = new Map<number, number>();
  /** The queues this caller was moved out of by overflow actions. */
  private readonly movedFrom: string[] = [];
  /** An outside number the caller was connected to (overflow action `external`). */
  private transferLeg: string | undefined;
  /** When the caller first queued (kept for reports when an overflow action moves it on). */
  private firstArrivedAt: number | undefined;
  private offerStopLogged = false;
  /** Which queue visit a stored place belongs to (a move starts a new one). */
  private placeGeneration = 0;
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
  /** What every prompt of this call plays in, and what a callback booked here is stored with. */
  private readonly language: string;

  constructor(
    private readonly ctx: CallContext,
    private readonly channel: AriChannel,
    private queue: QueueConfig,
    private readonly routeId: string | undefined,
    seq: number,
    /**
     * A caller a previous process left in Stasis (after a crash or a takeover). Its channel is
     * already answered; nothing may wait behind the old process's prompt (see start()).
     */
    private readonly adoption?: QueueCallerAdoption,
  ) {
    const now = ctx.clock.now();
    this.callerNumber = channel.caller.number;
    this.language = promptLanguageFor(channel.language, queue);
    this.item = { id: channel.id, queueId: queue.id, kind: 'caller', priority: queue.priority, arrivedAt: adoption?.arrivedAt ?? now, seq };
    this.holdingBridgeId = holdingBridgeIdOf(channel.id);
    this.offer = { enteredAt: now, offersMade: 0, lastOfferAt: null, accepted: false, ended: false };
    this.policy = offerPolicyOf(queue);
    this.announcePolicy = announcePolicyOf(queue);
    this.playbacks = new PlaybackTracker(channel.id);
    this.log = callLogger(ctx.logger, { callId: channel.id, kind: this.kind, queueId: queue.id, callerNumber: channel.caller.number });
  }

  get itemId(): string {
    return this.item.id;
  }

  async start(): Promise<void> {
    const { control } = this.ctx;
    this.ctx.bind(this.channel.id, this);
    // The place is stored while the caller is put on hold (no wait on the caller's side); an
    // adopted caller gets its stored place back.
    const placing = this.ctx.placeCaller({ channel: this.channel, queueId: this.queue.id, priority: this.item.priority, arrivedAt: this.item.arrivedAt, routeId: this.routeId });
    try {
      // An adopted caller is already answered: a real Asterisk holds `answer` until the
      // channel's running playback (the old process's offer) ends, so it is never re-sent.
      // The holding bridge and its music are made while the channel is answered: neither needs
      // the caller, and a burst of arrivals then waits two round trips before the offer, not four.
      if (this.adoption?.inHoldingBridge) {
        // Still in its holding bridge: adding it again would make Asterisk take it out and put it
        // back (trace h: ChannelLeftBridge, ChannelEnteredBridge), a break in the music, after
        // waiting behind any prompt still playing. Only the music is started again: the previous
        // process may have stopped it (the caller was typing a number).
        await control.startBridgeMoh(this.holdingBridgeId);
        this.log.info('adopted caller kept in its holding bridge');
      } else {
        const answered = this.adoption && this.channel.state === 'Up' ? Promise.resolve() : control.answer(this.channel.id);
        const bridgeReady = control
          .createBridge(this.holdingBridgeId, 'holding', `queue ${this.queue.id}`)
          .catch((e: unknown) => {
            if (!alreadyExists(e)) throw e; // the previous process's holding bridge: reused
          })
          .then(() => control.startBridgeMoh(this.holdingBridgeId));
        // Both settle before either's failure is acted on (no request left running unobserved).
        const [a, b] = await Promise.allSettled([answered, bridgeReady]);
        if (a.status === 'rejected') throw a.reason;
        if (b.status === 'rejected') throw b.reason;
        await control.addToBridge(this.holdingBridgeId, [this.channel.id]);
      }
    } catch (e) {
      if (isGone(e)) {
        await this.end('caller_gone');
        return;
      }
      // A request that timed out or was refused is no reason to drop a caller who is on the
      // line: the caller is queued anyway (an agent's bridge takes the call as it is).
      this.log.error('could not put the caller on hold; queued anyway', { error: String(e), adopted: this.adoption !== undefined });
    }
    const place = await within(placing, PLACE_WAIT_MS);
    if (place) {
      this.item = { ...this.item, arrivedAt: place.arrivedAt, seq: place.seq };
      this.seqIsShared = true;
      this.placed(place.entryId, 0);
    } else {
      // The database is slow or down: the caller waits at the arrival known here, and the place
      // is recorded when the database answers.
      this.log.warn('caller queued before its place was stored');
      void placing.then((late) => {
        if (late) this.placed(late.entryId, 0);
      });
    }
    if (this.state !== 'entering') return; // hung up meanwhile
    this.state = 'waiting';
    this.ctx.enqueue(this.item);
    this.ctx.milestone('caller_entered', { channelId: this.channel.id, queueId: this.queue.id, position: this.ctx.position(this.item) });
    this.log.info(this.adoption ? 'caller adopted at its place' : 'caller queued', { position: this.ctx.position(this.item), routeId: this.routeId });
    this.scheduleOffer();
    this.ctx.dispatchSoon();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const mine = 'channel' in event && event.channel.id === this.channel.id;
    const other = 'channel' in event ? event.channel.id : undefined;
    // The outside number of an `external` overflow action: its verb while it rings, then the call.
    if (other !== undefined && !mine && other.startsWith('external-')) {
      if (this.transferLeg === other) {
        if (event.type === 'ChannelDestroyed' || event.type === 'StasisEnd') void this.end('transferred');
        return;
      }
      this.verb?.onEvent?.(event);
      return;
    }
    switch (event.type) {
      case 'ChannelDtmfReceived':
        if (mine) void this.onDtmf(event.digit);
        else if (this.agentLeg && event.channel.id === this.agentLeg.channelId) this.log.debug('agent digit ignored', { digit: event.digit });
        return;
      case 'PlaybackFinished':
        if (event.playback.id === this.offerPlaybackId || event.playback.id === this.announcePlaybackId) {
          this.offerPlaybackId = undefined;
          this.announcePlaybackId = undefined;
          if (this.state === 'waiting') this.scheduleOffer();
        }
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
        if (mine) {
          // Who ended it: the plugin (after a confirmation or a message), or else the caller.
          void this.end(this.endedBy ?? 'caller_hung_up');
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

  /**
   * What a waiting caller hears next, decided again whenever something changes (a prompt ended,
   * a timer fired, the caller moved): the overflow action in force (another queue, an outside
   * number, voicemail, a message) runs at once; else a due position announcement; else the
   * callback offer on its schedule. One prompt at a time: an announcement never plays over the
   * offer, nor the offer over an announcement.
   */
  private scheduleOffer(): void {
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    this.offerTimer = undefined;
    if (this.state !== 'waiting' || this.offerPlaybackId || this.announcePlaybackId) return;
    const now = this.ctx.clock.now();
    const inForce = this.actionInForce(now);
    if (inForce && inForce.action.kind !== 'callback') {
      void this.runOverflowAction(inForce);
      return;
    }
    const position = this.ctx.position(this.item) ?? 1;
    let next = now + OVERFLOW_RECHECK_MS;
    const announce = decideAnnouncement(this.announcePolicy, { enteredAt: this.offer.enteredAt, lastAt: this.lastAnnouncedAt, now });
    if (announce.kind === 'now') {
      void this.announce(position);
      return;
    }
    if (announce.kind === 'wait') next = Math.min(next, announce.untilMs);
    if (this.canOfferCallback) {
      const decision = decideOffer(this.policy, this.offer, { now, position, overflowing: inForce?.action.kind === 'callback' });
      if (decision.kind === 'offer_now') {
        void this.playOffer(inForce);
        return;
      }
      if (decision.kind === 'wait') next = Math.min(next, decision.untilMs);
      if (decision.kind === 'stop' && !this.offerStopLogged) {
        this.offerStopLogged = true;
        this.log.info('callback offers stopped', { reason: decision.reason, position });
      }
    }
    this.offerTimer = this.ctx.clock.setTimer(() => this.scheduleOffer(), Math.max(1, next - now));
  }

  /** The overflow step in force now, minus steps that could not apply a moment ago. */
  private actionInForce(now: number): ActionInForce | undefined {
    const inForce = this.ctx.overflowAction(this.item, this.routeId, (now - this.offer.enteredAt) / 1000);
    if (inForce && (this.stepsBlocked.get(inForce.index) ?? 0) > now) return inForce.action.kind === 'callback' ? inForce : undefined;
    return inForce;
  }

  private async playOffer(inForce: ActionInForce | undefined): Promise<void> {
    const id = this.playbacks.nextId('offer');
    this.offerPlaybackId = id;
    this.offer.offersMade += 1;
    this.offer.lastOfferAt = this.ctx.clock.now();
    if (this.offer.offersMade === 1 && this.entryId) this.ctx.recordEntryAction(this.entryId, 'callback_offered', { reasons: inForce?.reasons ?? [] });
    try {
      await this.ctx.control.play(this.channel.id, this.queue.otherNumber ? [PROMPTS.offer, PROMPTS.offerOtherNumber] : [PROMPTS.offer], id, this.language);
      this.ctx.milestone('offer_played', { channelId: this.channel.id, offer: this.offer.offersMade, position: this.ctx.position(this.item) });
      this.log.info('callback offered', { offer: this.offer.offersMade });
    } catch (e) {
      this.offerPlaybackId = undefined;
      if (!isGone(e)) this.log.warn('offer playback failed', { error: String(e) });
      this.scheduleOffer();
    }
  }

  /** "You are number 3 in line. Your estimated waiting time is about 4 minutes." */
  private async announce(position: number): Promise<void> {
    const id = this.playbacks.nextId('announce');
    this.announcePlaybackId = id;
    this.lastAnnouncedAt = this.ctx.clock.now();
    const waitSec = this.ctx.estimatedWaitSec(this.queue.id, position);
    const said = spokenWait(waitSec);
    try {
      await this.ctx.control.play(this.channel.id, announcementMedia(position, said), id, this.language);
      this.ctx.milestone('position_announced', { channelId: this.channel.id, position, estimatedWaitSec: waitSec, said });
      this.log.info('position announced', { position, estimatedWaitSec: waitSec });
    } catch (e) {
      this.announcePlaybackId = undefined;
      if (!isGone(e)) this.log.warn('announcement failed', { error: String(e) });
      this.scheduleOffer();
    }
  }

  private async stopOfferPrompt(): Promise<void> {
    const ids = [this.offerPlaybackId, this.announcePlaybackId].filter((x): x is string => x !== undefined);
    this.offerPlaybackId = undefined;
    this.announcePlaybackId = undefined;
    await Promise.all(ids.map((id) => this.ctx.control.stopPlayback(id).catch(() => undefined))); // already finished is fine
  }

  // ---- overflow actions other than the callback -------------------------------------------------

  private async runOverflowAction(inForce: ActionInForce): Promise<void> {
    if (inForce.action.kind === 'callback' || this.state !== 'waiting') return;
    this.state = 'overflowing';
    const verb = overflowVerb(this.overflowCaller(), inForce.action);
    this.verb = verb;
    this.log.info('overflow action in force', { action: inForce.action.kind, reasons: inForce.reasons });
    const result = await verb.run();
    if (this.verb === verb) this.verb = undefined;
    if (result === 'not_applicable') {
      this.stepsBlocked.set(inForce.index, this.ctx.clock.now() + STEP_RETRY_MS);
      if (this.state === 'overflowing') {
        this.state = 'waiting';
        this.scheduleOffer();
      }
    }
  }

  /** What an overflow action may do with this caller (src/calls/overflow-actions.ts). */
  private overflowCaller(): OverflowCaller {
    return {
      ctx: this.ctx,
      channelId: this.channel.id,
      callerNumber: this.callerNumber,
      queue: this.queue,
      language: this.language,
      log: this.log,
      movedFrom: this.movedFrom,
      playAndWait: (media, label) => this.playAndWait(media, label),
      leaveQueue: (reason) => {
        this.ctx.dequeue(this.item.id);
        this.closeEntry(reason);
      },
      endCall: async (why, how) => {
        this.endedBy ??= why;
        if (how === 'hangup') await this.ctx.control.hangup(this.channel.id, 'normal').catch(() => undefined);
        // StasisEnd follows (hang-up, or the dialplan taking the channel back) and ends the session.
      },
      moveTo: (queue) => this.moveTo(queue),
      bindLeg: (id) => this.ctx.bind(id, this),
      unbindLeg: (id) => this.ctx.unbind(id),
      connectTo: (id) => this.connectTransfer(id),
      record: (action, detail) => {
        if (this.entryId) this.ctx.recordEntryAction(this.entryId, action, detail);
      },
    };
  }

  /** Overflow action `queue:<id>`: the caller waits on in another queue, placed by its rules. */
  private moveTo(queue: QueueConfig): void {
    const now = this.ctx.clock.now();
    const first = { queueId: this.movedFrom[0] ?? this.queue.id, arrivedAt: this.firstArrivedAt ?? this.item.arrivedAt };
    this.firstArrivedAt = first.arrivedAt;
    this.movedFrom.push(this.queue.id);
    const oldEntry = this.entryClosed ? undefined : this.entryId;
    if (oldEntry === undefined) this.closeEntry('moved'); // not stored yet: closed when it is
    const from = this.item;
    this.queue = queue;
    this.policy = offerPolicyOf(queue);
    this.announcePolicy = announcePolicyOf(queue);
    this.offer = { enteredAt: now, offersMade: 0, lastOfferAt: null, accepted: false, ended: false };
    this.lastAnnouncedAt = null;
    this.offerStopLogged = false;
    this.stepsBlocked.clear();
    this.item = { ...this.item, queueId: queue.id, priority: queue.priority, arrivedAt: now, seq: this.item.seq };
    this.seqIsShared = false;
    this.entryId = undefined;
    this.entryClosed = false;
    this.closeWhenPlaced = undefined;
    this.ctx.moveCaller(from, this.item);
    this.state = 'waiting';
    this.ctx.milestone('caller_moved', { channelId: this.channel.id, to: queue.id, from: this.movedFrom[this.movedFrom.length - 1] });
    const generation = ++this.placeGeneration;
    void this.ctx.relocateCaller(oldEntry, { channel: this.channel, queueId: queue.id, priority: queue.priority, arrivedAt: now, routeId: this.routeId, first }).then((p) => {
      if (p) this.placed(p.entryId, generation);
    });
    this.scheduleOffer();
  }

  /** Overflow action `external`: the caller and the answered outside number in one mixing bridge. */
  private async connectTransfer(legId: string): Promise<boolean> {
    if (this.state !== 'overflowing') {
      await this.ctx.control.hangup(legId).catch(() => undefined);
      return false;
    }
    await this.stopOfferPrompt();
    this.mixingBridgeId = `call-${this.channel.id}`;
    try {
      await this.ctx.control.destroyBridge(this.holdingBridgeId);
      await this.ctx.control.createBridge(this.mixingBridgeId, 'mixing', `queue ${this.queue.id} transfer`);
      await this.ctx.control.addToBridge(this.mixingBridgeId, [this.channel.id, legId]);
    } catch (e) {
      this.log.warn('could not connect the caller to the outside number', { error: String(e) });
      await this.ctx.control.hangup(legId).catch(() => undefined);
      return false;
    }
    this.transferLeg = legId;
    this.state = 'transferred';
    this.ctx.milestone('caller_transferred', { channelId: this.channel.id, legId });
    this.log.info('caller connected to an outside number');
    return true;
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
      await this.ctx.control.play(this.channel.id, media, id, this.language).catch(() => undefined);
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
    const t0 = this.ctx.clock.now();
    let promptStopMs = 0;
    const promptStopped = (promptPlaying ? this.stopOfferPrompt() : Promise.resolve()).then(() => {
      promptStopMs = this.ctx.clock.now() - t0;
    });
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
        language: this.language,
        priority: this.item.priority,
        arrivedAt: new Date(this.item.arrivedAt),
        // The callback takes the caller's exact place: same arrival, same shared seq.
        ...(this.seqIsShared ? { seq: this.item.seq } : {}),
        maxAttempts: this.queue.maxAttempts,
        sourceChannelId: this.channel.id,
        maxOpenElsewhere: check.maxOpenElsewhere,
      },
      this.log,
    );
    const storeMs = this.ctx.clock.now() - t0;
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
      this.closeEntry('callback_booked', result.existing.id);
      if (this.state === 'storing') {
        this.state = 'confirming';
        const told = this.playAndWait([PROMPTS.alreadyBooked], 'already-booked');
        const mohStopped = this.ctx.control.stopBridgeMoh(this.holdingBridgeId).catch(() => undefined);
        await told;
        await mohStopped;
        await this.hangupCaller('ended_after_confirmation');
      }
      return;
    }
    const stored = result.callback;
    crashPoint('offer.after_commit');
    this.convertedToCallback = true;
    this.ctx.convertToCallback(this.item, stored);
    this.closeEntry('callback_booked', stored.id);
    this.ctx.milestone('callback_stored', { channelId: this.channel.id, callbackId: stored.id, position: this.ctx.position({ ...this.item, id: stored.id, kind: 'callback' }) });
    // Where the caller's wait went: the booking statement, and Asterisk's answer to the stop of
    // the offer (the confirmation waits for both).
    this.log.info('callback stored', { callbackId: stored.id, storeMs: Math.round(storeMs), promptStopMs: Math.round(promptStopMs) });
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
    await this.hangupCaller('ended_after_confirmation');
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
      await this.ctx.control.play(this.channel.id, media, id, this.language);
    } catch (e) {
      if (!isGone(e)) this.log.warn('playback failed', { label, error: String(e) });
      return;
    }
    await finished;
  }

  /** The plugin ends the call; the reason is set first so the StasisEnd that follows keeps it. */
  private async hangupCaller(why: CallerEndReason): Promise<void> {
    if (this.state === 'ended') return;
    this.endedBy ??= why;
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
    this.closeEntry('connected');
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

  /** The database has the caller's place; a leaving that came first closes it now. */
  private placed(entryId: string, generation: number): void {
    if (generation !== this.placeGeneration) {
      // The place in a queue the caller has left meanwhile: closed, never adopted as current.
      this.ctx.closeCallerEntry(entryId, 'moved');
      return;
    }
    this.entryId = entryId;
    const pending = this.closeWhenPlaced;
    if (pending) this.closeEntry(pending.reason, pending.callbackId);
  }

  /** The caller's place is given up (first reason wins: booked, connected, hung up...). */
  private closeEntry(reason: QueueExitReason, callbackId?: string): void {
    if (this.entryClosed) return;
    if (this.entryId === undefined) {
      this.closeWhenPlaced ??= { reason, callbackId };
      return;
    }
    this.entryClosed = true;
    this.ctx.closeCallerEntry(this.entryId, reason, callbackId);
  }

  async end(reason: CallerEndReason): Promise<void> {
    if (this.state === 'ended') return;
    const previous = this.state;
    this.state = 'ended';
    this.offer.ended = true;
    if (this.offerTimer) this.ctx.clock.clearTimer(this.offerTimer);
    if (this.entryTimer) this.ctx.clock.clearTimer(this.entryTimer);
    this.offerTimer = undefined;
    this.playbacks.settleAll();
    if (!this.convertedToCallback) this.ctx.dequeue(this.item.id);
    this.closeEntry(reason === 'caller_hung_up' || reason === 'caller_gone' ? 'caller_hung_up' : 'ended_by_plugin');
    this.ctx.releaseFromService(this.item.id);
    this.ctx.unbind(this.channel.id);
    this.log.info('caller session ended', { reason, state: previous });
    this.ctx.milestone('caller_left', { channelId: this.channel.id, reason, convertedToCallback: this.convertedToCallback });
    const { control } = this.ctx;
    // Hung up already by the caller, or by the plugin; else the plugin ends the call now.
    if (reason !== 'caller_hung_up' && reason !== 'caller_gone' && this.endedBy === undefined) await control.hangup(this.channel.id).catch(() => undefined);
    if (this.transferLeg) {
      const t = this.transferLeg;
      this.transferLeg = undefined;
      this.ctx.unbind(t);
      await control.hangup(t).catch(() => undefined);
    }
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
