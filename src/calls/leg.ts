import { AriEvent } from '../ari/ari-events';
import { CallControl, CreateChannelRequest, OriginateRequest } from '../ari/call-control';
import { Clock, TimerHandle } from '../domain';

/**
 * One channel the plugin creates (an agent's or a customer's leg), in the order Asterisk takes it
 * through: created → in Stasis → dialling → answered → bridged → gone. Modelled on drachtio-srf's
 * dialogs and wazo-calld's state classes: the leg owns Asterisk's rules about its channel, its
 * owner session routes the channel's events to it (`onEvent`) and decides what each step means.
 *
 * The rule it exists for: a channel made by `POST /channels/create` is not in Stasis when the
 * create answers. Its StasisStart comes 0.5-15 ms later, and a dial sent in that window answers
 * 409 "Channel not in Stasis application" (trace k, docs/asterisk-facts.md). `dial()` waits for
 * the StasisStart, with a bound.
 */
export type LegState = 'new' | 'created' | 'in_stasis' | 'originating' | 'dialling' | 'answered' | 'bridged' | 'gone';

/**
 * Every move a leg may make. `new → in_stasis` is a StasisStart that came before the create's
 * answer (trace f7). An originated leg (`originating`) rings before it is in Stasis and enters it
 * answered: only its StasisStart makes it `answered` (its `ChannelStateChange Up` comes first, and
 * nothing may be played to it before the StasisStart; trace c).
 */
export const LEG_TRANSITIONS: Readonly<Record<LegState, readonly LegState[]>> = {
  new: ['created', 'in_stasis', 'originating', 'answered', 'gone'],
  created: ['in_stasis', 'gone'],
  originating: ['answered', 'gone'],
  in_stasis: ['dialling', 'answered', 'gone'],
  dialling: ['answered', 'gone'],
  answered: ['bridged', 'gone'],
  bridged: ['answered', 'gone'],
  gone: [],
};

/** The channel an event is about (a Dial event's `peer` is the dialled channel). */
export function eventChannelId(event: AriEvent): string | undefined {
  if (event.type === 'Dial') return event.peer.id;
  return 'channel' in event ? event.channel.id : undefined;
}

/** What an event about its channel does to a leg in `state` (pure; undefined: nothing). */
export function legStateOn(state: LegState, event: AriEvent): { to: LegState; cause?: number } | undefined {
  const to = ((): LegState | undefined => {
    switch (event.type) {
      case 'StasisStart':
        // An originated leg enters Stasis answered; a created one in Down, before any SIP.
        return event.channel.state === 'Up' ? 'answered' : 'in_stasis';
      case 'ChannelStateChange':
        return event.channel.state === 'Up' && (state === 'in_stasis' || state === 'dialling') ? 'answered' : undefined;
      case 'Dial':
        return event.dialstatus === 'ANSWER' && state === 'dialling' ? 'answered' : undefined;
      case 'ChannelEnteredBridge':
        return 'bridged';
      case 'ChannelLeftBridge':
        return state === 'bridged' ? 'answered' : undefined;
      case 'ChannelHangupRequest':
        // A soft request is our own DELETE or a dial timeout: ChannelDestroyed follows with the
        // real cause (trace d2). A far end's hangup carries its cause (trace c, d4).
        return event.cause !== undefined && !event.soft ? 'gone' : undefined;
      case 'ChannelDestroyed':
        return 'gone';
      default:
        // StasisEnd: every ARI-made leg ends with ChannelDestroyed after it, which has the cause.
        return undefined;
    }
  })();
  if (to === undefined || to === state || !LEG_TRANSITIONS[state].includes(to)) return undefined;
  const cause = event.type === 'ChannelHangupRequest' || event.type === 'ChannelDestroyed' ? event.cause : undefined;
  return { to, cause };
}

/** A dial that could not be sent because the leg was not in Stasis in time (or went first). */
export class LegNotInStasis extends Error {
  constructor(
    readonly channelId: string,
    readonly reason: 'no_stasis_start' | 'gone' | 'not_created',
  ) {
    super(
      reason === 'no_stasis_start'
        ? `leg ${channelId}: no StasisStart in time after its create; not dialled`
        : reason === 'gone'
          ? `leg ${channelId}: gone before its StasisStart; not dialled`
          : `leg ${channelId}: dial before create`,
    );
    this.name = 'LegNotInStasis';
  }
}

/** How long `dial()` waits for the StasisStart of a created leg (measured gaps: 0.5-21.5 ms). */
export const STASIS_WAIT_MS = 5000;

type LegListener = (leg: Leg, cause: number | undefined) => void;

export class Leg {
  private current: LegState = 'new';
  private everAnswered = false;
  private hangupSent = false;
  /** A create or originate sent and not yet answered: the channel may exist any moment. */
  private requested = false;
  /** Hung up while its create or originate was under way: hung up as soon as it exists. */
  private hangupWanted = false;
  private goneCause: number | undefined;
  private readonly listeners = new Map<LegState, LegListener[]>();

  constructor(
    private readonly deps: { control: CallControl; clock: Clock },
    readonly channelId: string,
    private readonly stasisWaitMs = STASIS_WAIT_MS,
  ) {}

  get state(): LegState {
    return this.current;
  }

  /** The channel exists on Asterisk (or did): from here on it is hung up at the end. */
  get exists(): boolean {
    return this.current !== 'new';
  }

  get isGone(): boolean {
    return this.current === 'gone';
  }

  /** The leg was answered at some point (it may be gone since). */
  get wasAnswered(): boolean {
    return this.everAnswered;
  }

  /** The hangup cause, once gone. */
  get cause(): number | undefined {
    return this.goneCause;
  }

  /** Calls `fn` each time the leg reaches `state`. */
  on(state: LegState, fn: LegListener): void {
    this.listeners.set(state, [...(this.listeners.get(state) ?? []), fn]);
  }

  /** An event from the owner session; true when it was about this leg's channel. */
  onEvent(event: AriEvent): boolean {
    if (eventChannelId(event) !== this.channelId) return false;
    const next = legStateOn(this.current, event);
    if (next) this.moveTo(next.to, next.cause);
    return true;
  }

  /** POST /channels/create: the channel exists, not yet in Stasis (see the class comment). */
  async create(req: Omit<CreateChannelRequest, 'channelId'>): Promise<void> {
    await this.whileRequested(() => this.deps.control.createChannel({ ...req, channelId: this.channelId }));
    if (this.current === 'new') this.moveTo('created');
    await this.hangUpIfWanted();
  }

  /** POST /channels (originate): the channel rings; it enters Stasis when answered. */
  async originate(req: Omit<OriginateRequest, 'channelId'>): Promise<void> {
    await this.whileRequested(() => this.deps.control.originate({ ...req, channelId: this.channelId }));
    if (this.current === 'new') this.moveTo('originating');
    await this.hangUpIfWanted();
  }

  /**
   * POST /channels/{id}/dial, once the leg is in Stasis: waits for its StasisStart (at most
   * `stasisWaitMs`), else rejects with LegNotInStasis and sends nothing.
   */
  async dial(timeoutSec: number): Promise<void> {
    if (this.current === 'new') throw new LegNotInStasis(this.channelId, 'not_created');
    // Hung up (the attempt ended while the create was under way): never dialled.
    if (this.hangupSent) throw new LegNotInStasis(this.channelId, 'gone');
    if (this.current === 'created') await this.stasisStart();
    if (this.hangupSent) throw new LegNotInStasis(this.channelId, 'gone');
    if (this.current !== 'in_stasis') throw new LegNotInStasis(this.channelId, this.current === 'gone' ? 'gone' : 'no_stasis_start');
    await this.deps.control.dial(this.channelId, timeoutSec);
    if (this.current === 'in_stasis') this.moveTo('dialling');
  }

  /** A leg a previous process made (taken up after a restart): where it got to; no listener runs. */
  adopt(state: 'dialling' | 'answered'): void {
    if (this.current !== 'new') return;
    this.current = state;
    this.everAnswered = state === 'answered';
  }

  /**
   * Hangs the channel up if it exists and is not gone (once; a 404 means it already went). One
   * whose create or originate has not been answered yet is hung up as soon as that answer comes,
   * and never dialled: the fuzzer saw a customer dialled after the agent had hung up and the
   * attempt had ended, because the create was slow, and left in silence once they answered.
   */
  async hangup(): Promise<void> {
    if (this.current === 'new' && this.requested) {
      this.hangupWanted = true;
      return;
    }
    if (!this.exists || this.isGone || this.hangupSent) return;
    this.hangupSent = true;
    await this.deps.control.hangup(this.channelId).catch(() => undefined);
  }

  private async whileRequested(request: () => Promise<void>): Promise<void> {
    this.requested = true;
    try {
      await request();
    } finally {
      this.requested = false;
    }
  }

  private async hangUpIfWanted(): Promise<void> {
    if (!this.hangupWanted) return;
    this.hangupWanted = false;
    await this.hangup();
  }

  private stasisStart(): Promise<void> {
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (): void => {
        if (timer === undefined) return;
        this.deps.clock.clearTimer(timer);
        timer = undefined;
        resolve();
      };
      timer = this.deps.clock.setTimer(done, this.stasisWaitMs);
      this.on('in_stasis', done);
      this.on('gone', done);
    });
  }

  /** `answered` is told once: leaving a bridge makes the leg answered again, not newly answered. */
  private moveTo(to: LegState, cause?: number): void {
    this.current = to;
    if (to === 'answered' && this.everAnswered) return;
    if (to === 'answered') this.everAnswered = true;
    if (to === 'gone') this.goneCause = cause;
    for (const fn of this.listeners.get(to) ?? []) fn(this, cause);
  }
}

/**
 * What the other leg of a pair gets when one goes: hung up at once, or hung up after `first`
 * (telling it why, or a step the session must finish before the hangup, such as a write).
 */
export type SurvivorHandling = 'hang_up' | { first: (survivor: Leg) => Promise<void> };

/**
 * Two legs torn down by one rule (drachtio-srf's `uas.on('destroy', () => uac.destroy())`): when
 * one goes, the other is handled as the session's `rule` says (decided at that moment, from the
 * session's state), then hung up. `survivorHandled` settles when that is done, so the session
 * records its outcome and frees the agent only after the agent heard why.
 */
export class LegPair {
  private first: Leg | undefined;
  private handled: Promise<void> | undefined;

  constructor(
    readonly a: Leg,
    readonly b: Leg,
    private readonly rule: (gone: Leg, cause: number | undefined) => SurvivorHandling,
  ) {
    a.on('gone', (leg, cause) => this.oneWent(leg, cause));
    b.on('gone', (leg, cause) => this.oneWent(leg, cause));
  }

  /** The leg that went first, if one did. */
  get firstGone(): Leg | undefined {
    return this.first;
  }

  /** The session ends for its own reason: whatever the rule is doing finishes, and both legs are hung up. */
  async hangUpBoth(): Promise<void> {
    if (this.handled) await this.handled;
    await this.a.hangup();
    await this.b.hangup();
  }

  /** Settles once the survivor of the first leg to go has been handled (at once if none went). */
  survivorHandled(): Promise<void> {
    return this.handled ?? Promise.resolve();
  }

  private oneWent(gone: Leg, cause: number | undefined): void {
    if (this.first) return; // the survivor going is the rule's own doing
    this.first = gone;
    const survivor = gone === this.a ? this.b : this.a;
    const handling = this.rule(gone, cause);
    this.handled = (async () => {
      if (handling !== 'hang_up' && !survivor.isGone) await handling.first(survivor).catch(() => undefined);
      await survivor.hangup();
    })();
  }
}
