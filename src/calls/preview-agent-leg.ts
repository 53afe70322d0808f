import { isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { digitsForSpeech, displayNameForAgent } from '../domain';
import { Logger } from '../logging/logger';
import { StoredCallback } from '../store/callback-store';
import { CallContext, PlaybackTracker } from './call-context';
import { PROMPTS, queueAnnouncement } from './prompts';

/**
 * The agent's leg of a preview call and what the agent hears on it, in the agent's language: the
 * whisper that says who is to be called before the agent decides, ringing while the customer is
 * dialled, and the outcome when the customer could not be reached.
 */
export class PreviewAgentLeg {
  gone = false;
  private whisperPlaybackId: string | undefined;

  constructor(
    private readonly ctx: CallContext,
    readonly channelId: string,
    private readonly language: string,
    private readonly playbacks: PlaybackTracker,
    private readonly log: Logger,
  ) {}

  /** Rings the agent's phone, showing the customer's number (and the configured prefix). */
  async originate(endpoint: string, callback: StoredCallback): Promise<void> {
    const number = callback.customerNumber;
    const shown = displayNameForAgent(this.ctx.config.callback.agentCallerIdPrefix, number).replace(/["<>]/g, '');
    await this.ctx.control.originate({
      channelId: this.channelId,
      endpoint,
      appArgs: ['agent', callback.id],
      callerId: `"${shown}" <${number}>`,
      timeoutSec: this.ctx.config.callback.agentRingTimeoutSec,
      variables: { CALLBACK_ID: callback.id },
    });
  }

  /** Who is to be called: the queue, the customer's number, how long ago they asked, and the keys. */
  async whisper(callback: StoredCallback, queue: QueueConfig): Promise<void> {
    const minutes = Math.max(0, Math.round((this.ctx.clock.now() - callback.requestedAt.getTime()) / 60000));
    const id = this.playbacks.nextId();
    this.whisperPlaybackId = id;
    try {
      await this.ctx.control.play(
        this.channelId,
        [
          PROMPTS.whisperIntro,
          ...queueAnnouncement(queue.id, queue.announcement),
          PROMPTS.whisperCustomer,
          `digits:${digitsForSpeech(callback.customerNumber)}`,
          PROMPTS.whisperRequested,
          `number:${minutes}`,
          PROMPTS.whisperMinutesAgo,
          PROMPTS.whisperOptions,
        ],
        id,
        this.language,
      );
    } catch (e) {
      if (!isGone(e)) this.log.warn('whisper failed', { error: String(e) });
    }
  }

  onPlaybackFinished(playbackId: string): void {
    if (playbackId === this.whisperPlaybackId) this.whisperPlaybackId = undefined;
  }

  /** Stops the whisper, if it still plays. */
  stopWhisper(): Promise<void> {
    const whisper = this.whisperPlaybackId;
    this.whisperPlaybackId = undefined;
    return whisper ? this.ctx.control.stopPlayback(whisper).catch(() => undefined) : Promise.resolve();
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
    const id = this.playbacks.nextId();
    const finished = this.playbacks.finished(id);
    const played = await this.ctx.control.play(this.channelId, [prompt], id, this.language).then(
      () => true,
      () => false,
    );
    if (played) await finished;
  }

  /** The end of the attempt: the leg is hung up unless the agent already did. */
  async hangup(): Promise<void> {
    if (!this.gone) await this.ctx.control.hangup(this.channelId).catch(() => undefined);
  }
}
