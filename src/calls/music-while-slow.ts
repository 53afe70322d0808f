import { CallContext } from './call-context';

/** A wait longer than this is heard as music (the fuzzer's dead-air bound is 2.5 s). */
export const SLOW_WAIT_MS = 800;

/**
 * Music on a caller's channel while the plugin waits for something that is usually quick (a
 * booking statement): started only if the wait lasts `afterMs`, so the quick case costs no
 * request, and a slow database never leaves an answered caller in silence (issue 18). `stop`
 * resolves once the music is off, so the prompt that follows is not played over it.
 */
export function musicWhileSlow(
  ctx: Pick<CallContext, 'control' | 'clock'>,
  channelId: string,
  afterMs = SLOW_WAIT_MS,
): { stop(): Promise<void> } {
  let started: Promise<void> | undefined;
  const timer = ctx.clock.setTimer(() => {
    started = ctx.control.startMoh(channelId).catch(() => undefined);
  }, afterMs);
  return {
    async stop(): Promise<void> {
      ctx.clock.clearTimer(timer);
      if (!started) return;
      await started;
      await ctx.control.stopMoh(channelId).catch(() => undefined);
    },
  };
}
