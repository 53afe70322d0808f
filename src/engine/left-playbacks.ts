import { AriEvent, channelIdOf } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { Clock, systemClock } from '../domain';
import { Playback, playbackIdsOf, STOP_BOUND_MS } from '../calls/playback';

/**
 * The playbacks a previous process may have left running on channels this process adopts (after a
 * `kill -9`, a restart): every restart-safe id of the channel (`<channel>-pb<n>`) is stopped, and
 * the adoption goes on only once each has REALLY ended. A stop's 204 is not enough: during a
 * `digits:` or `number:` item Asterisk ignores it and the list plays on (docs/asterisk-facts.md),
 * and every request that waits for the channel's playback (answer, variable, addChannel) would
 * wait behind it, while a replay started now would queue behind it. The reconciler feeds every
 * event in (`observe`), so the stops are repeated at the old list's next item and its
 * PlaybackFinished is seen.
 */
export class LeftPlaybacks {
  private readonly stopping = new Map<string, Playback>();

  constructor(
    private readonly control: Pick<CallControl, 'play' | 'stopPlayback'>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Every ARI event, before it is routed. */
  observe(event: AriEvent): void {
    if (event.type === 'PlaybackStarted' || event.type === 'PlaybackContinuing' || event.type === 'PlaybackFinished') {
      this.stopping.get(event.playback.id)?.onEvent(event);
      return;
    }
    if (event.type === 'StasisEnd' || event.type === 'ChannelDestroyed') {
      const channelId = channelIdOf(event);
      for (const p of this.stopping.values()) if (p.channelId === channelId) p.channelGone();
    }
  }

  /** Stops whatever a previous process left playing on these channels; resolves when it has ended (or the bound passed). */
  async stop(channelIds: readonly string[], boundMs = STOP_BOUND_MS): Promise<void> {
    const port = { control: this.control, clock: this.clock };
    const left = channelIds.flatMap((ch) => playbackIdsOf(ch).map((id) => Playback.leftBehind(port, ch, id)));
    for (const p of left) this.stopping.set(p.id, p);
    await Promise.all(
      left.map((p) =>
        p.stop(boundMs).finally(() => {
          if (this.stopping.get(p.id) === p) this.stopping.delete(p.id);
        }),
      ),
    );
  }

  /** How many stops are awaited now (tests: nothing outlives its adoption). */
  get size(): number {
    return this.stopping.size;
  }
}
