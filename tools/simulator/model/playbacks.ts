/** Playback model: a list of media played one after the other on a channel or bridge. */
import type { SimChannel } from './channels';
import type { SimBridge } from './bridges';

export type PlaybackState = 'queued' | 'playing' | 'continuing' | 'done' | 'failed';

export interface PlaybackJson {
  id: string;
  media_uri: string;
  next_media_uri?: string;
  target_uri: string;
  language: string;
  state: PlaybackState;
}

export type PlaybackTarget = { kind: 'channel'; channel: SimChannel } | { kind: 'bridge'; bridge: SimBridge };

/** Media kinds Asterisk says with say.c: they have no playback control, so they cannot be stopped. */
export function isSayMedia(media: string): boolean {
  return /^(digits|number|characters):/.test(media);
}

export class SimPlayback {
  index = 0;
  state: PlaybackState = 'queued';
  startedAt: number | null = null;
  finishedAt: number | null = null;
  /** DELETE /playbacks/{id} answered 204 (it may still have run on, see traces c/f3). */
  stoppedByApp = false;
  /** Deleted while queued: it never starts and finishes (done) when its turn comes. */
  cancelled = false;
  timer: NodeJS.Timeout | null = null;
  segmentStartedAt = 0;
  segmentRemainingMs = 0;
  paused = false;

  constructor(
    readonly id: string,
    readonly media: string[],
    readonly target: PlaybackTarget,
    readonly language: string,
  ) {}

  get targetUri(): string {
    return this.target.kind === 'channel' ? `channel:${this.target.channel.id}` : `bridge:${this.target.bridge.id}`;
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  snapshot(): PlaybackJson {
    const out: PlaybackJson = {
      id: this.id,
      media_uri: this.media[this.index] ?? this.media[0],
      target_uri: this.targetUri,
      language: this.language,
      state: this.state,
    };
    const next = this.media[this.index + 1];
    if (next !== undefined && !this.finished && this.state !== 'continuing') out.next_media_uri = next;
    if (this.state === 'continuing' && next !== undefined) out.next_media_uri = next;
    const ordered: PlaybackJson = {
      id: out.id,
      media_uri: out.media_uri,
      ...(out.next_media_uri !== undefined ? { next_media_uri: out.next_media_uri } : {}),
      target_uri: out.target_uri,
      language: out.language,
      state: out.state,
    };
    return ordered;
  }
}
