import { isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { AnnouncementDecision, AnnouncementPolicy, decideAnnouncement, spokenWait } from '../domain';
import { announcementMedia } from './prompts';
import { QueueCaller } from './queue-caller';

function announcePolicyOf(queue: QueueConfig): AnnouncementPolicy {
  return { onEntry: queue.announce.onEntry, everyMs: queue.announce.everySec === null ? null : queue.announce.everySec * 1000 };
}

/**
 * Announce: the caller's position and estimated wait ("You are number 3 in line. Your estimated
 * waiting time is about 4 minutes."), on the queue's schedule. The caller's wait (CallerWait)
 * decides when; this verb says it.
 */
export class Announce {
  private policy: AnnouncementPolicy;
  private lastAnnouncedAt: number | null = null;
  /** The announcement playing now. */
  private playbackId: string | undefined;

  constructor(private readonly caller: QueueCaller) {
    this.policy = announcePolicyOf(caller.queue);
  }

  get playing(): boolean {
    return this.playbackId !== undefined;
  }

  isMine(playbackId: string): boolean {
    return playbackId === this.playbackId;
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
    const id = this.caller.playbacks.nextId();
    this.playbackId = id;
    this.lastAnnouncedAt = ctx.clock.now();
    const waitSec = ctx.estimatedWaitSec(queue.id, position);
    const said = spokenWait(waitSec);
    try {
      await ctx.control.play(channel.id, announcementMedia(position, said), id, this.caller.language);
      ctx.milestone('position_announced', { channelId: channel.id, position, estimatedWaitSec: waitSec, said });
      log.info('position announced', { position, estimatedWaitSec: waitSec });
    } catch (e) {
      this.playbackId = undefined;
      if (!isGone(e)) log.warn('announcement failed', { error: String(e) });
      this.caller.wait.next();
    }
  }

  /** Forgets the announcement (it finished) without stopping it. */
  forget(): void {
    this.playbackId = undefined;
  }

  /** Stops the announcement, if one plays (already finished is fine). */
  stop(): Promise<void> {
    const id = this.playbackId;
    this.playbackId = undefined;
    return id === undefined ? Promise.resolve() : this.caller.ctx.control.stopPlayback(id).catch(() => undefined);
  }
}
