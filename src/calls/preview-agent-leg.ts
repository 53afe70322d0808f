import { AriEvent } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { digitSounds, displayNameForAgent } from '../domain';
import { Logger } from '../logging/logger';
import { StoredCallback } from '../store/callback-store';
import { CallContext } from './call-context';
import { ChannelPlaybacks, Playback } from './playback';
import { Leg } from './leg';
import { watchRingingLeg } from './callback-attempt';
import { PROMPTS, queueAnnouncement } from './prompts';

/**
 * The agent's leg of a preview call and what the agent hears on it, in the agent's language: the
 * whisper that says who is to be called before the agent decides, ringing while the customer is
 * dialled, and the outcome when the customer could not be reached.
 */
export class PreviewAgentLeg {
  /** How far the agent's channel got (originated, answered in Stasis, bridged, gone). */
  readonly leg: Leg;
  private whisperPlayback: Playback | undefined;

  constructor(
    private readonly ctx: CallContext,
    readonly channelId: string,
    private readonly language: string,
    private readonly playbacks: ChannelPlaybacks,
    private readonly log: Logger,
  ) {
    this.leg = new Leg(ctx, channelId);
  }

  get gone(): boolean {
    return this.leg.isGone;
  }

  /**
   * Rings the agent's phone, showing the customer's number (and the configured prefix).
   * `onLostEnd` gets the leg's end if Asterisk no longer has it and its events never came.
   */
  async originate(endpoint: string, callback: StoredCallback, onLostEnd: (event: AriEvent) => void): Promise<void> {
    const number = callback.customerNumber;
    const shown = displayNameForAgent(this.ctx.config.callback.agentCallerIdPrefix, number).replace(/["<>]/g, '');
    await this.leg.originate({
      endpoint,
      appArgs: ['agent', callback.id],
      callerId: `"${shown}" <${number}>`,
      timeoutSec: this.ctx.config.callback.agentRingTimeoutSec,
      variables: { CALLBACK_ID: callback.id },
    });
    watchRingingLeg(this.ctx, this.leg, this.ctx.config.callback.agentRingTimeoutSec, this.log, onLostEnd);
  }

  /**
   * Who is to be called: the queue, the customer's number, how long ago they asked, and the keys.
   * Agents press 1 as soon as they know who it is, often during the number, and the bridge waits
   * behind a whisper still playing (Asterisk holds addChannel until the channel's playback ends).
   * So the number is said as `sound:digits/N` items, which a stop ends at once, never as one
   * `digits:` item, which ignores a stop (docs/asterisk-facts.md). The minutes stay `number:`:
   * short, and a stop in them ends the whisper at the next item (Playback repeats it there).
   */
  async whisper(callback: StoredCallback, queue: QueueConfig): Promise<void> {
    const minutes = Math.max(0, Math.round((this.ctx.clock.now() - callback.requestedAt.getTime()) / 60000));
    this.whisperPlayback = this.playbacks.create(whisperMedia(callback.customerNumber, queue, minutes), this.language, this.channelId);
    if (!(await this.whisperPlayback.start())) this.log.warn('whisper could not be played');
  }

  /** Stops the whisper, if it still plays; resolves when it has really ended (or its bound passed). */
  async stopWhisper(): Promise<void> {
    const how = await this.whisperPlayback?.stop();
    if (how === 'bound') this.log.warn('whisper did not end within its bound after a stop');
  }

  ring(): Promise<void> {
    return this.ctx.control.ring(this.channelId).catch(() => undefined);
  }

  ringStop(): Promise<void> {
    return this.ctx.control.ringStop(this.channelId).catch(() => undefined);
  }

  /** The agent hears why the attempt ended (busy, no answer, failed), to its end. */
  async tell(prompt: string): Promise<void> {
    await this.ringStop();
    const told = this.playbacks.create([prompt], this.language, this.channelId);
    if (await told.start()) await told.ended;
  }

  /** The end of the attempt: the leg is hung up unless the agent already did. */
  async hangup(): Promise<void> {
    await this.leg.hangup();
  }
}

/** The whisper's media list (see PreviewAgentLeg.whisper for why the number is `sound:digits/N`). */
export function whisperMedia(customerNumber: string, queue: QueueConfig, minutesAgo: number): string[] {
  return [
    PROMPTS.whisperIntro,
    ...queueAnnouncement(queue.id, queue.announcement),
    PROMPTS.whisperCustomer,
    ...digitSounds(customerNumber),
    PROMPTS.whisperRequested,
    `number:${minutesAgo}`,
    PROMPTS.whisperMinutesAgo,
    PROMPTS.whisperOptions,
  ];
}
