import { QueueConfig } from '../config/config';
import { AnnouncementDecision, AnnouncementPolicy, decideAnnouncement, spokenWait } from '../domain';
import { Playback } from './playback';
import { announcementMedia } from './prompts';
import { CallerVerb, QueueCaller } from './queue-caller';

function announcePolicyOf(queue: QueueConfig): AnnouncementPolicy {
  return { onEntry: queue.announce.onEntry, everyMs: queue.announce.everySec === null ? null : queue.announce.everySec * 1000 };
}

/**
 * Announce: the caller's position and estimated wait ("You are number 3 in line. Your estimated
 * waiting time is about 4 minutes."), on the queue's schedule. The caller's wait (CallerWait)
 * decides when; this verb says it.
 */
export class Announce implements CallerVerb {
  private policy: AnnouncementPolicy;
  private lastAnnouncedAt: number | null = null;
  /** The announcement playing now. */
  private playback: Playback | undefined;

  constructor(private readonly caller: QueueCaller) {
    this.policy = announcePolicyOf(caller.queue);
  }

  get playing(): boolean {
    return this.playback !== undefined;
  }

  isMine(playbackId: string): boolean {
    return playbackId === this.playback?.id;
  }

  /** The caller moved to another queue: its schedule, as if the caller had just arrived. */
  reset(queue: QueueConfig): void {
    this.policy = announcePolicyOf(queue);
    this.lastAnnouncedAt = null;
  }

  decide(enteredAt: number, now: number): AnnouncementDecision {
    return decideAnnouncement(this.policy, { enteredAt, lastAt: this.lastAnnouncedAt, now });
  }

  async run(position: number): Promise<void> {
    const { ctx, channel, queue, log } = this.caller;
    this.lastAnnouncedAt = ctx.clock.now();
    const waitSec = ctx.policy.estimatedWaitSec(queue.id, position);
    const said = spokenWait(waitSec);
    const playback = this.caller.playbacks.create(announcementMedia(position, said), this.caller.language);
    this.playback = playback;
    if (await playback.start()) {
      ctx.milestone('position_announced', { channelId: channel.id, position, estimatedWaitSec: waitSec, said });
      log.info('position announced', { position, estimatedWaitSec: waitSec });
      return;
    }
    if (this.playback !== playback) return; // stopped or killed meanwhile
    this.playback = undefined;
    if (this.caller.state !== 'ended') log.warn('announcement failed');
    this.caller.wait.next();
  }

  /** Forgets the announcement (it finished) without stopping it. */
  forget(): void {
    this.playback = undefined;
  }

  /**
   * Stops the announcement, if one plays, and resolves when it has really ended: its `number:`
   * items are said to the end whatever a stop's 204 says (playback.ts), and nothing may be played
   * or bridged behind them.
   */
  async stop(): Promise<void> {
    const playback = this.playback;
    this.playback = undefined;
    await playback?.stop();
  }

  kill(): Promise<void> {
    return this.stop();
  }
}
