import { CallControl } from '../ari/call-control';

/** Who hears of every play a session requests, from the request on. */
export interface PlayWatcher {
  playRequested(playbackId: string, channelId: string): void;
  playRefused(playbackId: string): void;
}

/**
 * The sessions' CallControl, telling `watcher` of each play as it is requested. A WebSocket gap
 * can swallow both PlaybackStarted and PlaybackFinished of a prompt requested just before it; a
 * session waiting for that end would wait forever in silence (fuzzer, seed 18: a direct caller
 * held 2.5 s after "agent unavailable"). Known from the request, the reconciler settles it after
 * the gap like any other playback whose end was lost.
 */
export function watchPlays(control: CallControl, watcher: () => PlayWatcher): CallControl {
  return new Proxy(control, {
    get(target, prop) {
      if (prop === 'play') {
        const play: CallControl['play'] = (channelId, media, playbackId, lang) => {
          watcher().playRequested(playbackId, channelId);
          return target.play(channelId, media, playbackId, lang).catch((e: unknown) => {
            watcher().playRefused(playbackId);
            throw e;
          });
        };
        return play;
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
