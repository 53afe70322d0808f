import { CallControl, isGone } from '../ari/call-control';
import { AriEvent } from '../ari/ari-events';
import { Clock, TimerHandle } from '../domain';

/**
 * Playback: one ARI playback (a media list played on one channel) as an object that knows
 * Asterisk's rules for it.
 *
 *   const pb = playbacks.create(['sound:callback/confirm', ...saidDigits('5551234'), 'sound:bye'], lang);
 *   await pb.start();          // false: Asterisk refused it (channel gone); `ended` has settled
 *   await pb.stop();           // resolves when the playback has REALLY ended (or the bound passed)
 *   const how = await pb.ended; // 'finished' | 'stopped' | 'channel_gone' | 'failed' | 'bound'
 *
 * Why an object: a real Asterisk answers `DELETE /playbacks/{id}` with 204 and then ignores it
 * while the playback is in a `digits:` item: the digits are said to the end and the rest of the
 * list plays on (docs/asterisk-facts.md, "A stop during digits"). Requests that wait for the
 * channel's playback (answer, variable, addChannel) wait for all of it. So a control step must
 * never follow a stop's 204; it follows `stop()`, which resolves only on PlaybackFinished, the
 * channel's end, or a bound. A stop sent during an item Asterisk ignores it in is sent again
 * when the next item starts, so the list ends at the first item that honours it.
 *
 * Ids are `<owner>-pb<slot>` over PLAYBACK_SLOTS slots, never a prompt's name: ARI cannot list
 * playbacks, and a process restarted after a crash must know every id its predecessor could have
 * used to stop them (engine/unowned-channel-actions.ts, engine/reconciler.ts).
 *
 * Events reach a Playback through the ChannelPlaybacks of its owner session (`onEvent`), and the
 * session tells it when the channel is gone (`channelGone`).
 */

/** Slots per channel; a session's prompts never overlap by more than a queued one. */
export const PLAYBACK_SLOTS = 8;

/** Every playback id a session on this channel may have started (for stopping after a restart). */
export function playbackIdsOf(channelId: string): string[] {
  return Array.from({ length: PLAYBACK_SLOTS }, (_, n) => `${channelId}-pb${n}`);
}

/**
 * Whether Asterisk honours a stop while this media item plays. Measured on Asterisk 22.10.1
 * (docs/asterisk-facts.md): `sound:` items (`sound:digits/2` included) stop at once; `digits:`
 * and `number:` items are said to the end whatever the stop's 204 said. `characters:` is said by
 * the same say code and is treated as `digits:`.
 */
export function stopHonouredDuring(mediaItem: string): boolean {
  return !/^(digits|number|characters):/.test(mediaItem);
}

/** How a playback ended. */
export type PlaybackEnd = 'finished' | 'stopped' | 'channel_gone' | 'failed' | 'bound';

/** What a Playback needs: the two ARI requests and a clock for its bound. */
export interface PlaybackPort {
  readonly control: Pick<CallControl, 'play' | 'stopPlayback'>;
  readonly clock: Clock;
}

/**
 * Longest time `stop()` waits for the real end. A stop that landed in an ignored item waits for
 * that item to be said (a 15-digit `digits:` item takes about 8 s); past this bound the caller
 * goes on rather than hang a call on a PlaybackFinished lost with a WebSocket.
 */
export const STOP_BOUND_MS = 10_000;

export class Playback {
  /** Settles once, when the playback has really ended (never rejects). */
  readonly ended: Promise<PlaybackEnd>;
  private settle!: (how: PlaybackEnd) => void;
  private state: 'new' | 'starting' | 'playing' | 'ended' = 'new';
  private starting: Promise<boolean> | undefined;
  /** The item Asterisk says it is playing (PlaybackStarted), else the first one. */
  private currentItem: string | undefined;
  private stopWanted = false;

  constructor(
    private readonly port: PlaybackPort,
    readonly channelId: string,
    readonly id: string,
    readonly media: readonly string[],
    readonly lang?: string,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  /**
   * A playback a previous process started, known by its id only (ARI cannot list playbacks): it
   * can be stopped, and its end awaited, like one of ours. Its media are unknown, so a stop is
   * sent at once and again at each next item until it ends (or Asterisk answers 404: no such
   * playback).
   */
  static leftBehind(port: PlaybackPort, channelId: string, id: string): Playback {
    const p = new Playback(port, channelId, id, []);
    p.state = 'playing';
    return p;
  }

  /** Whether every item of the list stops at once (no control step then waits for an ignored stop). */
  get alwaysStoppable(): boolean {
    return this.media.every(stopHonouredDuring);
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /** Whether it was started and has not ended. */
  get isPlaying(): boolean {
    return this.state === 'starting' || this.state === 'playing';
  }

  /** Asks Asterisk to play. Resolves false when it refused (the playback has then ended 'failed'). */
  start(): Promise<boolean> {
    if (this.starting) return this.starting;
    if (this.state === 'ended') return Promise.resolve(false);
    this.state = 'starting';
    this.starting = this.port.control.play(this.channelId, [...this.media], this.id, this.lang).then(
      () => {
        if (this.state === 'starting') this.state = 'playing';
        if (this.stopWanted) this.sendStop();
        return true;
      },
      () => {
        this.end('failed');
        return false;
      },
    );
    return this.starting;
  }

  /**
   * Stops the playback and resolves when it has really ended: PlaybackFinished, the channel gone,
   * or `boundMs` passed ('bound'). A stop during an item Asterisk ignores stops in is repeated
   * when the next item starts.
   */
  async stop(boundMs = STOP_BOUND_MS): Promise<PlaybackEnd> {
    if (this.state === 'new') this.end('stopped');
    if (this.state === 'ended') return this.ended;
    if (!this.stopWanted) {
      this.stopWanted = true;
      if (this.state === 'playing') this.sendStop();
    }
    return this.untilEnded(boundMs);
  }

  /**
   * Resolves when the playback has ended by itself (or was stopped, or its channel went), or after
   * `boundMs` ('bound'): a message the caller must hear to its end before the call goes on, without
   * hanging the call on a PlaybackFinished lost with a WebSocket. Nothing is stopped.
   */
  async untilEnded(boundMs: number): Promise<PlaybackEnd> {
    let timer: TimerHandle | undefined;
    const bound = new Promise<PlaybackEnd>((resolve) => (timer = this.port.clock.setTimer(() => resolve('bound'), boundMs)));
    const how = await Promise.race([this.ended, bound]);
    if (timer) this.port.clock.clearTimer(timer);
    return how;
  }

  /** Events of this playback, routed by its owner (see ChannelPlaybacks.onEvent). */
  onEvent(event: AriEvent): void {
    if (event.type !== 'PlaybackStarted' && event.type !== 'PlaybackContinuing' && event.type !== 'PlaybackFinished') return;
    if (event.playback.id !== this.id) return;
    if (event.type === 'PlaybackFinished') {
      this.end(this.stopWanted ? 'stopped' : 'finished');
      return;
    }
    if (this.state === 'starting') this.state = 'playing';
    if (event.type === 'PlaybackStarted') {
      this.currentItem = event.playback.media_uri;
      // The item a stop was ignored in is over; this one may honour it.
      if (this.stopWanted) this.sendStop();
    }
  }

  /** The channel is gone: nobody will send PlaybackFinished. */
  channelGone(): void {
    this.end('channel_gone');
  }

  private sendStop(): void {
    if (this.state === 'ended') return;
    const item = this.currentItem ?? this.media[0];
    if (item !== undefined && !stopHonouredDuring(item)) return; // wait for the next PlaybackStarted
    this.port.control.stopPlayback(this.id).catch((e: unknown) => {
      // 404: Asterisk no longer knows it, so it has ended (its PlaybackFinished may be lost).
      if (isGone(e)) this.end('stopped');
    });
  }

  private end(how: PlaybackEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.settle(how);
  }
}

/**
 * A session's playbacks on one channel: hands out the restart-safe ids, creates Playback objects
 * and routes their events. It also keeps PlaybackTracker's methods (nextId, finished, onEvent,
 * settleAll, isPlaying) so a session can be converted one prompt at a time.
 */
export class ChannelPlaybacks {
  private seq = 0;
  private readonly live = new Map<string, Playback>();
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly port: PlaybackPort,
    /** The channel the ids are derived from (the session's own channel). */
    private readonly owner: string,
  ) {}

  /** The next playback id. It names no prompt: a restarted process must know every id to stop. */
  nextId(): string {
    const id = `${this.owner}-pb${this.seq % PLAYBACK_SLOTS}`;
    this.seq += 1;
    return id;
  }

  /** A new playback on `channelId` (default: the owner's channel); not started. */
  create(media: readonly string[], lang?: string, channelId: string = this.owner): Playback {
    const playback = new Playback(this.port, channelId, this.nextId(), media, lang);
    this.live.set(playback.id, playback);
    void playback.ended.then(() => {
      if (this.live.get(playback.id) === playback) this.live.delete(playback.id);
    });
    return playback;
  }

  /** Creates and starts a playback; resolves with it once Asterisk accepted it or refused it. */
  async play(media: readonly string[], lang?: string, channelId?: string): Promise<Playback> {
    const playback = this.create(media, lang, channelId);
    await playback.start();
    return playback;
  }

  /** Stops every playback still playing and resolves when all have really ended (or their bound). */
  async stopAll(boundMs = STOP_BOUND_MS): Promise<void> {
    await Promise.all([...this.live.values()].map((p) => p.stop(boundMs)));
  }

  /** Routes a playback event to its Playback (and to legacy `finished` waiters). */
  onEvent(event: AriEvent): void {
    if (event.type !== 'PlaybackStarted' && event.type !== 'PlaybackContinuing' && event.type !== 'PlaybackFinished') return;
    this.live.get(event.playback.id)?.onEvent(event);
    if (event.type === 'PlaybackFinished') {
      const done = this.waiting.get(event.playback.id);
      if (done) {
        this.waiting.delete(event.playback.id);
        done();
      }
    }
  }

  /** The channel is gone: every playback and waiter settles. */
  settleAll(): void {
    for (const p of [...this.live.values()]) p.channelGone();
    this.live.clear();
    for (const done of this.waiting.values()) done();
    this.waiting.clear();
  }

  /** Legacy (PlaybackTracker): a promise that settles when this id finishes or the channel goes. */
  finished(playbackId: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(playbackId, resolve));
  }

  /** Legacy (PlaybackTracker): whether this id is awaited or a live Playback. */
  isPlaying(playbackId: string | undefined): boolean {
    return playbackId !== undefined && (this.waiting.has(playbackId) || this.live.get(playbackId)?.isPlaying === true);
  }
}
