import { isGone } from '../ari/call-control';
import { CallContext } from './call-context';
import { RefusedRequestRetry } from './refused-request-retry';

/** A wait longer than this is heard as music (the fuzzer's dead-air bound is 2.5 s). */
export const SLOW_WAIT_MS = 800;

/** A start of the music Asterisk refused is asked for again after this, while the wait lasts. */
export const MUSIC_RETRY_MS = 400;

/**
 * Music on a caller's channel while the plugin waits for something that is usually quick (a
 * booking statement): started only if the wait lasts `afterMs`, so the quick case costs no
 * request, and a slow database never leaves an answered caller in silence (issue 18). A start
 * Asterisk refuses (a 500) is asked for again every MUSIC_RETRY_MS while the wait lasts (the
 * fuzzer: two refusals, then 2.5 s of silence); a channel gone ends the tries. `stop` resolves
 * once the music is off, so the prompt that follows is not played over it.
 */
export function musicWhileSlow(
  ctx: Pick<CallContext, 'control' | 'clock'>,
  channelId: string,
  afterMs = SLOW_WAIT_MS,
): { stop(): Promise<void> } {
  let playing = false;
  const music = new RefusedRequestRetry(ctx.clock, {
    everyMs: MUSIC_RETRY_MS,
    tries: Infinity,
    attempt: () =>
      ctx.control.startMoh(channelId).then(() => {
        playing = true;
      }),
    final: isGone,
  }).startIn(afterMs);
  return {
    async stop(): Promise<void> {
      music.cancel();
      await music.settled();
      if (playing) await ctx.control.stopMoh(channelId).catch(() => undefined);
    },
  };
}
