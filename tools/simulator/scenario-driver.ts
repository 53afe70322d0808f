/**
 * The typed test API: inbound calls (SimCall), outbound legs (OutboundLeg) and scripted phones
 * (SimEndpoint). Every wait takes a timeout and rejects saying what was awaited and what happened.
 */
import type { AsteriskModel, SimTiming } from './model/asterisk-model';
import type { ChannelJson, ChannelState, SimChannel } from './model/channels';
import type { DeviceStateName, LegBehaviour } from './model/endpoints';
import { parseDialTarget } from './model/endpoints';
import type { PlaybackState, SimPlayback } from './model/playbacks';
import type { CallerId } from './model/support';

/** Wakes pending waits whenever the simulated world changed. */
export class ChangeSignal {
  private readonly waiters = new Set<() => void>();
  private stopped = false;

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  stop(): void {
    this.stopped = true;
    this.notify();
  }

  /**
   * Resolves with check()'s value once it is not undefined. check() may throw to reject early.
   * `explain` describes the current situation for the timeout message.
   */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string, explain: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        this.waiters.delete(evaluate);
        if (timer) clearTimeout(timer);
      };
      const evaluate = (): void => {
        if (this.stopped) {
          done();
          reject(new Error(`simulator stopped while waiting for ${what}`));
          return;
        }
        try {
          const v = check();
          if (v !== undefined) {
            done();
            resolve(v);
          }
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      this.waiters.add(evaluate);
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; instead: ${explain()}`));
      }, timeoutMs);
      evaluate();
    });
  }
}

export interface PlaybackRecord {
  id: string;
  media: string[];
  state: PlaybackState;
  /** ms epoch */
  startedAt: number | null;
  finishedAt: number | null;
  stoppedByApp: boolean;
  /** channel:{id} or bridge:{id} */
  target: string;
  /** The sounds' language: the play request's `lang`, else the channel's (as Asterisk reports it). */
  language: string;
}

function record(pb: SimPlayback): PlaybackRecord {
  return {
    id: pb.id,
    media: [...pb.media],
    state: pb.state,
    startedAt: pb.startedAt,
    finishedAt: pb.finishedAt,
    stoppedByApp: pb.stoppedByApp,
    target: pb.targetUri,
    language: pb.language,
  };
}

export type CallCondition =
  'inStasis' | 'leftStasis' | 'Ring' | 'Ringing' | 'Up' | 'answered' | 'hungup' | 'inBridge' | 'notInBridge' | 'mohOn' | 'mohOff';

export interface SimContext {
  model: AsteriskModel;
  signal: ChangeSignal;
  timing: SimTiming;
  /** Types of events delivered for a channel id (as peer/channel), for explanations. */
  eventTypesFor(channelId: string): string[];
}

export class SimCall {
  private lastSnapshot: ChannelJson;
  private everInStasis = false;

  constructor(
    protected readonly ctx: SimContext,
    protected readonly ch: SimChannel,
  ) {
    this.lastSnapshot = ch.snapshot();
    this.everInStasis = ch.inStasis;
  }

  get id(): string {
    return this.ch.id;
  }

  /** Current channel snapshot (the last one once the channel is gone). */
  get channel(): ChannelJson {
    if (this.ch.alive) this.lastSnapshot = this.ch.snapshot();
    return this.lastSnapshot;
  }

  get state(): ChannelState | 'hungup' | 'declined' {
    if (this.declined) return 'declined';
    return this.ch.alive ? this.ch.state : 'hungup';
  }

  get alive(): boolean {
    return this.ch.alive;
  }

  /** The dialplan could not hand the call to Stasis (app not connected): the caller got 603 Decline. */
  get declined(): boolean {
    return this.ch.kind === 'inbound' && this.ch.sipCode === 603;
  }

  /** SIP final response the phone side saw (603 for a declined inbound call, 486 busy, 200 answered…). */
  get sipCode(): number | null {
    return this.ch.sipCode;
  }

  get inStasis(): boolean {
    return this.ch.inStasis;
  }

  get hungUpBy(): 'far-end' | 'app' | 'network' | null {
    return this.ch.hungUpBy;
  }

  get destroyedCause(): number | null {
    return this.ch.destroyedCause;
  }

  get bridge(): { id: string; type: 'mixing' | 'holding' } | null {
    const b = this.ch.bridge;
    return b ? { id: b.id, type: b.bridgeType } : null;
  }

  /** MOH audible on the channel: started on the channel, or on the bridge it is in. */
  get mohActive(): boolean {
    return this.ch.alive && (this.ch.mohActive || (this.ch.bridge?.mohActive ?? false));
  }

  /**
   * What the phone hears now, as measured on the real Asterisk (docs/asterisk-facts.md, "One
   * holding bridge shared by a queue's callers"): a playback on the channel replaces the music of its bridge
   * for this channel only (the bridge's other callers keep the music); else the music of the channel
   * or its bridge; else the other parties of a mixing bridge (a holding bridge's callers never hear
   * each other); else silence.
   */
  get hearing(): 'prompt' | 'music' | 'party' | 'silence' {
    const c = this.ch;
    if (!c.alive) return 'silence';
    if (c.currentPlayback !== null) return 'prompt';
    if (this.mohActive) return 'music';
    if (c.bridge?.bridgeType === 'mixing' && c.bridge.channels.length >= 2) return 'party';
    return 'silence';
  }

  get playbacks(): PlaybackRecord[] {
    return this.ch.playbackHistory.map(record);
  }

  get variables(): ReadonlyMap<string, string> {
    return this.ch.vars;
  }

  /** Where the app's POST /channels/{id}/continue sent the call back into the dialplan (null: it did not). */
  get continuedTo(): { context: string; exten: string; priority: number; label: string | undefined } | null {
    return this.ch.continuedTo ? { ...this.ch.continuedTo } : null;
  }

  /** Event types delivered to the app about this channel, in order. */
  get eventTypes(): string[] {
    return this.ctx.eventTypesFor(this.ch.id);
  }

  protected explain(): string {
    const c = this.ch;
    return (
      `call ${c.id} state=${this.state} inStasis=${c.inStasis} bridge=${c.bridge?.id ?? 'none'} moh=${this.mohActive} hungUpBy=${c.hungUpBy ?? 'nobody'}` +
      ` events=[${this.eventTypes.slice(-8).join(', ')}]`
    );
  }

  /** StasisStart delivered for this channel. Rejects when the call was declined or is gone. */
  entered(timeoutMs = 2000): Promise<void> {
    return this.ctx.signal
      .waitUntil(
        () => {
          if (this.ch.inStasis) {
            this.everInStasis = true;
            return true;
          }
          if (this.declined) throw new Error(`call ${this.ch.id} did not enter Stasis: declined with SIP 603 (no active Stasis app)`);
          if (!this.ch.alive) throw new Error(`call ${this.ch.id} ended before entering Stasis (${this.explain()})`);
          return undefined;
        },
        timeoutMs,
        `call ${this.ch.id} to enter Stasis`,
        () => this.explain(),
      )
      .then(() => undefined);
  }

  private conditionMet(cond: CallCondition): boolean {
    const c = this.ch;
    if (c.inStasis) this.everInStasis = true;
    switch (cond) {
      case 'inStasis':
        return c.alive && c.inStasis;
      case 'leftStasis':
        return this.everInStasis && !c.inStasis;
      case 'Ring':
      case 'Ringing':
      case 'Up':
        return c.alive && c.state === cond;
      case 'answered':
        return c.answered || (c.alive && c.state === 'Up');
      case 'hungup':
        return !c.alive;
      case 'inBridge':
        return c.alive && c.bridge !== null;
      case 'notInBridge':
        return c.bridge === null;
      case 'mohOn':
        return this.mohActive;
      case 'mohOff':
        return !this.mohActive;
    }
  }

  waitFor(cond: CallCondition, timeoutMs = 2000): Promise<void> {
    return this.ctx.signal
      .waitUntil(
        () => {
          if (this.conditionMet(cond)) return true;
          const impossibleAfterHangup = !['hungup', 'leftStasis', 'notInBridge', 'mohOff', 'answered'].includes(cond);
          if (!this.ch.alive && impossibleAfterHangup) {
            throw new Error(`call ${this.ch.id} can no longer become '${cond}': ${this.explain()}`);
          }
          return undefined;
        },
        timeoutMs,
        `call ${this.ch.id} to be '${cond}'`,
        () => this.explain(),
      )
      .then(() => undefined);
  }

  /**
   * A playback on this channel (or its bridge) with a media matching `match`.
   * `until`: 'started' (default) or 'finished'.
   */
  waitForPlayback(
    match: (media: string) => boolean,
    timeoutMs = 2000,
    opts: { until?: 'started' | 'finished' } = {},
  ): Promise<PlaybackRecord> {
    const until = opts.until ?? 'started';
    return this.ctx.signal.waitUntil(
      () => {
        const pb = this.ch.playbackHistory.find((p) => p.media.some(match) && (until === 'started' || p.finished));
        if (pb) return record(pb);
        if (!this.ch.alive) throw new Error(`call ${this.ch.id} hung up while waiting for a playback (${this.describePlaybacks()})`);
        return undefined;
      },
      timeoutMs,
      `a playback ${until} on call ${this.ch.id}`,
      () => `${this.explain()} playbacks=${this.describePlaybacks()}`,
    );
  }

  private describePlaybacks(): string {
    const list = this.ch.playbackHistory.map((p) => `${p.media.join(',')}(${p.state})`);
    return list.length ? list.join('; ') : 'none';
  }

  /** The caller presses digits: one ChannelDtmfReceived per digit after its duration, then a gap. */
  async pressDtmf(digits: string, opts: { durationMs?: number; gapMs?: number } = {}): Promise<void> {
    const duration = opts.durationMs ?? this.ctx.timing.dtmfDurationMs;
    const gap = opts.gapMs ?? this.ctx.timing.dtmfGapMs;
    const sleep = (ms: number): Promise<void> => new Promise((r) => this.ctx.model.timers.after(ms, r));
    for (let i = 0; i < digits.length; i++) {
      await sleep(duration);
      this.ctx.model.dtmf(this.ch, digits[i], duration);
      if (i < digits.length - 1) await sleep(gap);
    }
  }

  /** Far-end BYE (before answer on an outbound leg: the phone rejects with 486). */
  hangup(): void {
    this.ctx.model.farEndHangup(this.ch);
  }
}

export class OutboundLeg extends SimCall {
  constructor(
    ctx: SimContext,
    ch: SimChannel,
    readonly endpointName: string,
  ) {
    super(ctx, ch);
  }

  /** 'originate' (POST /channels) or 'create' (POST /channels/create + dial). */
  get mode(): 'originate' | 'create' {
    return this.ch.kind === 'create' ? 'create' : 'originate';
  }

  /** What the called phone shows as the calling party (From / Remote-Party-ID). */
  get displayedCaller(): CallerId {
    return { ...(this.ch.displayedCaller ?? { name: 'Anonymous', number: 'anonymous' }) };
  }

  get dialString(): string {
    return this.ch.dialString;
  }

  get phase(): string {
    return this.ch.legPhase;
  }

  /** The phone answers now (200 OK). */
  answer(): void {
    this.ctx.model.legAnswer(this.ch);
  }

  /** The phone rejects: busy = 486 (cause 17), congestion = 503 (cause 34). */
  reject(kind: 'busy' | 'congestion' = 'busy'): void {
    if (kind === 'busy') this.ctx.model.legRejected(this.ch, 17, 486, 'BUSY');
    else this.ctx.model.legRejected(this.ch, 34, 503, 'CONGESTION');
  }
}

export class SimEndpoint {
  readonly legs: OutboundLeg[] = [];
  private consumed = 0;

  constructor(
    private readonly ctx: SimContext,
    readonly name: string,
  ) {
    const parsed = parseDialTarget(name);
    if (!parsed) throw new Error(`endpoint name must look like TECH/resource or TECH/number@endpoint, got '${name}'`);
    this.baseKey = parsed.endpointKey;
    ctx.model.ensureEndpoint(this.baseKey);
    if (!ctx.model.targets.has(name)) ctx.model.targets.set(name, { key: name, behaviour: null });
  }

  private readonly baseKey: string;

  private script(b: LegBehaviour): this {
    const t = this.ctx.model.targets.get(this.name);
    if (t) t.behaviour = b;
    return this;
  }

  answersAfter(ms: number): this {
    return this.script({ kind: 'answer', afterMs: ms });
  }
  ringsForever(): this {
    return this.script({ kind: 'ringForever' });
  }
  busy(afterMs?: number): this {
    return this.script({ kind: 'busy', afterMs });
  }
  congestion(afterMs?: number): this {
    return this.script({ kind: 'congestion', afterMs });
  }
  /** Static contact but nothing listening (trace d5): no ringing; originate timeout or SIP timer B (32 s). */
  unreachable(): this {
    return this.script({ kind: 'unreachable' });
  }
  /** The test answers/rejects each leg itself (`nextLeg()` then `leg.answer()`). */
  manual(): this {
    return this.script({ kind: 'manual' });
  }

  /** No registered contact: originate/create answer 500 {"error":"Allocation failed"}; device UNAVAILABLE. */
  unregistered(): this {
    this.rec().registered = false;
    this.ctx.model.changed();
    return this;
  }

  registered(): this {
    this.rec().registered = true;
    this.ctx.model.changed();
    return this;
  }

  private rec() {
    return this.ctx.model.ensureEndpoint(this.baseKey);
  }

  /** Force a device state (null = derive it from the channels again). */
  setDeviceState(state: DeviceStateName | null): this {
    this.rec().deviceOverride = state;
    this.ctx.model.changed();
    return this;
  }

  setOnline(online: boolean): this {
    this.rec().online = online;
    this.ctx.model.changed();
    return this;
  }

  /** callerid= of the PJSIP endpoint (the `caller` of channels created towards it). */
  setCallerId(cid: CallerId): this {
    this.rec().callerId = { ...cid };
    return this;
  }

  get deviceState(): DeviceStateName {
    return this.ctx.model.deviceStateOf(this.rec());
  }

  get online(): boolean {
    return this.rec().online;
  }

  /** @internal */
  addLeg(leg: OutboundLeg): void {
    this.legs.push(leg);
  }

  /** The next leg dialled to this endpoint that nextLeg() has not returned yet. */
  nextLeg(timeoutMs = 2000): Promise<OutboundLeg> {
    return this.ctx.signal.waitUntil(
      () => {
        if (this.legs.length > this.consumed) return this.legs[this.consumed++];
        return undefined;
      },
      timeoutMs,
      `a leg dialled to ${this.name}`,
      () => `${this.legs.length} leg(s) so far, ${this.consumed} already taken`,
    );
  }
}
