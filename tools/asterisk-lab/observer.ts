import WebSocket from 'ws';

/**
 * A second ARI application, subscribed to everything (`subscribeAll=true`), that records what
 * Asterisk did with Asterisk's own timestamps: the lab's assertions are made on these events, not
 * on what the plugin says it did. It never acts on a call.
 */
export interface ObservedEvent {
  type: string;
  /** Asterisk's timestamp, epoch ms. */
  at: number;
  /** When this process received it, epoch ms. */
  receivedAt: number;
  raw: Record<string, unknown> & {
    channel?: {
      id: string;
      name: string;
      state: string;
      caller?: { number: string; name: string };
      dialplan?: { app_data?: string; app_name?: string };
      language?: string;
    };
    playback?: { id: string; media_uri: string; target_uri: string; state: string; language?: string };
    bridge?: { id: string; bridge_type: string; channels: string[] };
    peer?: { id: string };
    digit?: string;
    cause?: number;
    dialstatus?: string;
    args?: string[];
    application?: string;
    /** ChannelDialplan: the dialplan application the channel runs now, and its arguments. */
    dialplan_app?: string;
    dialplan_app_data?: string;
  };
}

/** Asterisk writes `2026-11-24T10:00:00.123+0000`. */
export function parseAsteriskTime(ts: unknown): number {
  if (typeof ts !== 'string') return NaN;
  return Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

export class AriObserver {
  readonly events: ObservedEvent[] = [];
  private ws: WebSocket | undefined;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly url: string,
    readonly app: string,
  ) {}

  static async start(ariUrl: string, user: string, password: string, app = 'lab-observer'): Promise<AriObserver> {
    const o = new AriObserver(
      `${ariUrl.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(app)}&subscribeAll=true&api_key=${encodeURIComponent(`${user}:${password}`)}`,
      app,
    );
    await o.connect();
    return o;
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('error', (e) => reject(e));
      ws.on('message', (data) => {
        let raw: ObservedEvent['raw'];
        try {
          raw = JSON.parse(
            (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString('utf8'),
          ) as ObservedEvent['raw'];
        } catch {
          return;
        }
        this.events.push({ type: String(raw.type), at: parseAsteriskTime(raw.timestamp), receivedAt: Date.now(), raw });
        for (const w of [...this.waiters]) w();
      });
      ws.on('close', () => {
        // Asterisk restarted under the lab: follow it, as the plugin does.
        if (!this.closed) setTimeout(() => void this.connect().catch(() => undefined), 300);
      });
    });
  }

  /** Events matching `pred`, in arrival order. */
  find(pred: (e: ObservedEvent) => boolean): ObservedEvent[] {
    return this.events.filter(pred);
  }

  /** The first event (already seen or yet to come) matching `pred`. */
  waitFor(pred: (e: ObservedEvent) => boolean, timeoutMs: number, what = 'event'): Promise<ObservedEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.find(pred);
        if (!e) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${what} not observed within ${timeoutMs} ms (last events: ${this.events
              .slice(-8)
              .map((e) => e.type)
              .join(', ')})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits until `count` events match. */
  async waitForCount(pred: (e: ObservedEvent) => boolean, count: number, timeoutMs: number, what = 'events'): Promise<ObservedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.find(pred);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`${what}: ${got.length} of ${count} observed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }
}

// ---- predicates -------------------------------------------------------------------------------

export const channelOf = (e: ObservedEvent): string | undefined =>
  e.raw.channel?.id ?? (e.raw.playback ? /^channel:(.+)$/.exec(e.raw.playback.target_uri)?.[1] : undefined);

/**
 * A channel from the given caller number entering `app` through the dialplan. Matched on the
 * ChannelDialplan step that runs Stasis: the observer is never sent another app's StasisStart,
 * subscribeAll or not (measured; README.md).
 */
export const isStasisEntryFrom = (app: string, callerNumber: string) => (e: ObservedEvent) =>
  e.type === 'ChannelDialplan' &&
  e.raw.dialplan_app === 'Stasis' &&
  typeof e.raw.dialplan_app_data === 'string' &&
  e.raw.dialplan_app_data.split(',')[0] === app &&
  e.raw.channel?.caller?.number === callerNumber;

export const isPlaybackOf =
  (channelId: string, media: string, type: 'PlaybackStarted' | 'PlaybackFinished' = 'PlaybackStarted') =>
  (e: ObservedEvent) =>
    e.type === type && e.raw.playback?.target_uri === `channel:${channelId}` && e.raw.playback.media_uri === media;
