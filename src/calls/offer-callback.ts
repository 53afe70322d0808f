import { randomUUID } from 'node:crypto';
import { QueueConfig } from '../config/config';
import { crashPoint } from '../config/crash-points';
import { ActionInForce, decideOffer, interpretOfferDigit, isWithheld, OfferDecision, OfferPolicy, OfferState } from '../domain';
import { bookCallback, confirmationMedia, isCallableNumber } from './callback-booking';
import { EnterNumber } from './enter-number';
import { Playback } from './playback';
import { PROMPTS } from './prompts';
import { CallerVerb, QueueCaller } from './queue-caller';

function offerPolicyOf(queue: QueueConfig): OfferPolicy {
  return {
    initialDelayMs: queue.offer.initialDelaySec * 1000,
    intervalMs: queue.offer.intervalSec * 1000,
    thresholdPosition: queue.offer.thresholdPosition,
  };
}

function freshOffer(now: number): OfferState {
  return { enteredAt: now, offersMade: 0, lastOfferAt: null, accepted: false, ended: false };
}

/**
 * OfferCallback: the callback offer on the queue's schedule, and the caller's answer to it.
 * Press 1 books a callback at the caller's place; press 2 (or 1 with a withheld caller id) has
 * the caller type another number first (EnterNumber). Only a booking the database has committed
 * is confirmed to the caller.
 */
export class OfferCallback implements CallerVerb {
  private offer: OfferState;
  private policy: OfferPolicy;
  private stopLogged = false;
  /** The offer playing now. */
  private playback: Playback | undefined;
  private readonly enterNumber: EnterNumber;

  constructor(
    private readonly caller: QueueCaller,
    arrivedAt: number,
  ) {
    this.offer = freshOffer(arrivedAt);
    this.policy = offerPolicyOf(caller.queue);
    this.enterNumber = new EnterNumber(caller, (number) => this.accept(false, number));
  }

  /** When the caller came into this queue (a move starts the count again). */
  get enteredAt(): number {
    return this.offer.enteredAt;
  }

  get playing(): boolean {
    return this.playback !== undefined;
  }

  isMine(playbackId: string): boolean {
    return playbackId === this.playback?.id;
  }

  /** The caller id is a number we could call back. */
  get callerIdCallable(): boolean {
    return !isWithheld(this.caller.callerNumber) && isCallableNumber(this.caller.callerNumber);
  }

  /** Offers need a number: the caller id, or one the caller types (when the queue allows it). */
  get canOffer(): boolean {
    return this.callerIdCallable || this.caller.queue.otherNumber;
  }

  /** The caller moved to another queue: its offer schedule, as if the caller had just arrived. */
  reset(queue: QueueConfig, now: number): void {
    this.policy = offerPolicyOf(queue);
    this.offer = freshOffer(now);
    this.stopLogged = false;
  }

  decide(now: number, position: number, overflowing: boolean): OfferDecision {
    const decision = decideOffer(this.policy, this.offer, { now, position, overflowing });
    if (decision.kind === 'stop' && !this.stopLogged) {
      this.stopLogged = true;
      this.caller.log.info('callback offers stopped', { reason: decision.reason, position });
    }
    return decision;
  }

  /** Plays the offer once. */
  async run(inForce: ActionInForce | undefined): Promise<void> {
    const { ctx, channel, queue, log } = this.caller;
    const playback = this.caller.playbacks.create(
      queue.otherNumber ? [PROMPTS.offer, PROMPTS.offerOtherNumber] : [PROMPTS.offer],
      this.caller.language,
    );
    this.playback = playback;
    this.offer.offersMade += 1;
    this.offer.lastOfferAt = ctx.clock.now();
    if (this.offer.offersMade === 1) this.caller.record('callback_offered', { reasons: inForce?.reasons ?? [] });
    if (await playback.start()) {
      ctx.milestone('offer_played', {
        channelId: channel.id,
        offer: this.offer.offersMade,
        position: ctx.queues.position(this.caller.item),
      });
      log.info('callback offered', { offer: this.offer.offersMade });
      return;
    }
    if (this.playback !== playback) return; // stopped or killed meanwhile
    this.playback = undefined;
    if (this.caller.state !== 'ended') log.warn('offer playback failed');
    this.caller.wait.next();
  }

  /** Forgets the offer (it finished) without stopping it. */
  forget(): void {
    this.playback = undefined;
  }

  /** Stops the offer, if one plays, and resolves when it has really ended (already finished is fine). */
  async stop(): Promise<void> {
    const playback = this.playback;
    this.playback = undefined;
    await playback?.stop();
  }

  /** No more offers, no prompt, no number entry: the caller is connected, or the call is over. */
  async kill(): Promise<void> {
    this.offer.ended = true;
    await Promise.all([this.stop(), this.enterNumber.kill()]);
  }

  async onDigit(digit: string): Promise<void> {
    const { caller } = this;
    if (caller.state === 'entering_number') return this.enterNumber.onDigit(digit);
    if (caller.state !== 'waiting') return;
    // A digit during the prompt interrupts it, whatever the digit.
    const interrupted = this.playback !== undefined;
    const offered = this.offer.offersMade > 0 && this.canOffer;
    if (offered && interpretOfferDigit(digit) === 'accept') {
      // A withheld caller id makes entering a number mandatory.
      if (this.callerIdCallable) await this.accept(interrupted, caller.callerNumber);
      else await this.enterNumber.run();
      return;
    }
    if (offered && digit === '2' && caller.queue.otherNumber) {
      await this.enterNumber.run();
      return;
    }
    if (interrupted) await caller.wait.stopPrompts();
    caller.log.debug('digit ignored', { digit });
    if (interrupted) caller.wait.next();
  }

  /**
   * Press 1. The caller waits from the digit to the confirmation, so that path is kept to one
   * database round trip (the booking statement) running alongside one ARI request (stopping the
   * offer): nothing else is awaited before the confirmation's play, which is sent only after COMMIT.
   */
  private async accept(promptPlaying: boolean, rawNumber: string): Promise<void> {
    const { caller } = this;
    const { ctx, queue, log } = caller;
    if (!caller.step('accepted')) return;
    this.offer.accepted = true;
    crashPoint('offer.after_press1');
    caller.wait.pause();
    // Sent first, awaited last: the booking runs while Asterisk stops the prompt. Every prompt
    // below is played only once the offer has really ended (Playback.stop), since a play on a
    // channel that is still playing would queue behind it.
    const t0 = ctx.clock.now();
    let promptStopMs = 0;
    const promptStopped = (promptPlaying ? caller.wait.stopPrompts() : Promise.resolve()).then(() => {
      promptStopMs = ctx.clock.now() - t0;
    });
    const check = ctx.policy.checkCallbackNumber(queue, rawNumber, caller.callerNumber);
    if (!check.ok) {
      await promptStopped;
      await this.refuseNumber(check.reason);
      return;
    }
    const customerNumber = check.e164;
    const id = randomUUID();
    log.info('callback requested; storing', { callbackId: id });
    crashPoint('offer.before_commit');
    const result = await bookCallback(
      ctx.store,
      {
        id,
        queueId: queue.id,
        routeId: caller.routeId ?? null,
        customerNumber,
        customerName: caller.channel.caller.name || null,
        language: caller.language,
        priority: caller.item.priority,
        arrivedAt: new Date(caller.item.arrivedAt),
        // The callback takes the caller's exact place: same arrival, same shared seq.
        ...(caller.seqIsShared ? { seq: caller.item.seq } : {}),
        maxAttempts: queue.maxAttempts,
        sourceChannelId: caller.channel.id,
        maxOpenElsewhere: check.maxOpenElsewhere,
        requesterKey: check.requesterKey,
        rateLimit: check.rateLimit,
      },
      log,
    );
    const storeMs = ctx.clock.now() - t0;
    await promptStopped;
    if (result.kind === 'refused') {
      await this.refuseNumber(result.reason);
      return;
    }
    if (result.kind === 'failed') {
      // Never a false confirmation: the caller is told and keeps waiting at the same place.
      if (!caller.step('back_to_waiting')) return; // hung up meanwhile: nothing was promised
      this.offer.accepted = false;
      await caller.playAndWait([PROMPTS.storeFailed], 'store-failed');
      caller.wait.next();
      return;
    }
    if (result.kind === 'duplicate') {
      log.info('callback already booked for this number', { existing: result.existing.id });
      caller.leaveForEarlierCallback(result.existing.id);
      ctx.queues.holdForCall(result.existing.id, caller.channel.id);
      if (caller.step('booked')) {
        await caller.playAndWait([PROMPTS.alreadyBooked], 'already-booked');
        await caller.hangupCaller('ended_after_confirmation');
      }
      return;
    }
    const stored = result.callback;
    crashPoint('offer.after_commit');
    const position = caller.leaveForCallback(stored);
    ctx.milestone('callback_stored', { channelId: caller.channel.id, callbackId: stored.id, position });
    // Where the caller's wait went: the booking statement, and Asterisk's answer to the stop of
    // the offer (the confirmation waits for both).
    log.info('callback stored', { callbackId: stored.id, storeMs: Math.round(storeMs), promptStopMs: Math.round(promptStopMs) });
    if (!caller.step('booked')) return; // the caller hung up while we stored: the request stands
    ctx.milestone('confirmation_started', { channelId: caller.channel.id, callbackId: stored.id });
    const confirmation = caller.playAndWait(confirmationMedia(customerNumber), 'confirm');
    // The shared holding bridge's music is not stopped for one caller: the hang-up follows the
    // confirmation's end (docs/asterisk-facts.md, "One holding bridge shared").
    crashPoint('offer.during_confirmation');
    await confirmation;
    crashPoint('offer.before_hangup');
    await caller.hangupCaller('ended_after_confirmation');
  }

  /**
   * Toll-fraud guard: a refused request is never stored; the caller is told why and keeps
   * waiting. Too many requests from this caller (or, withheld, for this typed number) is not the
   * number's fault: that caller hears the rate limit's prompt, not "we cannot call that number".
   */
  private async refuseNumber(reason: string): Promise<void> {
    const { caller } = this;
    caller.log.warn('callback number refused', { reason });
    caller.ctx.milestone('callback_refused', { channelId: caller.channel.id, reason });
    if (!caller.step('back_to_waiting')) return; // hung up meanwhile
    this.offer.accepted = false;
    await caller.playAndWait([reason === 'rate_limited' ? PROMPTS.rateLimited : PROMPTS.numberRefused], 'refused');
    caller.wait.next();
  }
}
