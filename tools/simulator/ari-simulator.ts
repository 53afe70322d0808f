/**
 * AriSimulator: an Asterisk 22 ARI look-alike (HTTP + WebSocket) that the unmodified ari-client
 * drives, with a typed scenario API for tests, the demo and benchmarks. See README.md.
 */
import { performance } from 'node:perf_hooks';
import { loadCompactSpec, type CompactSpec } from './spec/ari-spec';
import { EventValidator } from './event-validator';
import { EventStream } from './event-stream';
import { AriHttpServer, type HttpSessionStats, type RecordedRequest, type Violation } from './http-server';
import { buildRestHandlers } from './rest-handlers';
import { AsteriskModel, DEFAULT_TIMING, type SimTiming } from './model/asterisk-model';
import { asteriskTime } from './model/support';
import type { SimChannel, ChannelJson } from './model/channels';
import type { BridgeJson } from './model/bridges';
import { ChangeSignal, OutboundLeg, SimCall, SimEndpoint, type SimContext } from './scenario-driver';
import type { RequestFaultHook } from './request-faults';

export { SimCall, OutboundLeg, SimEndpoint } from './scenario-driver';
export type { PlaybackRecord, CallCondition } from './scenario-driver';
export type { HttpSessionStats, RecordedRequest, Violation } from './http-server';
export type { SimTiming } from './model/asterisk-model';
export type { RequestFault, RequestFaultHook } from './request-faults';
export type { ChannelJson } from './model/channels';
export type { BridgeJson } from './model/bridges';
export type { DeviceStateName } from './model/endpoints';

export interface AriSimulatorOptions {
  /** 0 (default) = random free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  user: string;
  password: string;
  timing?: Partial<SimTiming>;
  /** Sounds that do not exist ('name' or 'sound:name'); default ['no-such-file']. */
  missingSounds?: string[];
  /** Languages every other sound exists in (GET /sounds/{id}, playback); default ['en']. */
  soundLanguages?: string[];
  /** Endpoints that exist from the start (default ['PJSIP/trunk']); sim.endpoint() adds more. */
  endpoints?: string[];
  /** asterisk_id in events; default '02:fc:00:00:00:01' (the lab's). */
  asteriskId?: string;
  /** Throw inside the simulator when it is about to send an invalid event (default false: record only). */
  throwOnInvalidEvent?: boolean;
  /** Override the compact spec (tests). */
  spec?: CompactSpec;
  /**
   * Keep every request and event in sim.requests / sim.events (default true). A long run under
   * load (the benchmark) sets false: the history would grow by thousands of records a second
   * and its garbage collection would stall the simulator, which the run then measures as
   * latency. onRequest / onEvent listeners still see everything; waitForRequest and
   * waitForEvent see nothing.
   */
  keepHistory?: boolean;
  /**
   * Asterisk's http.conf `sessionlimit` (default 100, as Asterisk's): connections over it are
   * closed unanswered, as the real one closes them. sim.httpSessions counts them.
   */
  httpSessionLimit?: number;
}

export interface EventRecord {
  seq: number;
  /** ms since the simulator started */
  atMs: number;
  app: string;
  /** false when the app had no active WebSocket: the event was lost (never replayed). */
  delivered: boolean;
  event: Record<string, unknown>;
}

export interface EventViolation {
  event: Record<string, unknown>;
  problems: string[];
}

export interface CallOptions {
  /** Caller number (channel caller.number) */
  from: string;
  /** Caller name */
  name?: string;
  /** 'queue:support' → Stasis args ['queue','support']; 'direct:1001' → ['direct','1001'] */
  to?: string;
  /** Explicit Stasis args (win over `to`) */
  args?: string[];
  /** Stasis app; default: the first app with an active WebSocket */
  app?: string;
  /** Dialled extension (dialplan.exten); default from `to` (lab numbers: queue → 5552000, direct → 5551000) */
  exten?: string;
  /** Dialplan context; default 'from-trunk' */
  context?: string;
  /** Endpoint the call comes from; default 'PJSIP/trunk' */
  endpoint?: string;
  /** Channel language, as the endpoint's `language` or the dialplan's `Set(CHANNEL(language)=…)` sets it; default 'en' */
  language?: string;
}

export class AriSimulator {
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly eventViolations: EventViolation[] = [];
  readonly events: EventRecord[] = [];
  readonly internalErrors: Array<{ request: RecordedRequest; error: string }> = [];
  readonly calls: SimCall[] = [];
  readonly legs: OutboundLeg[] = [];
  readonly timing: SimTiming;
  readonly user: string;
  readonly password: string;

  private readonly model: AsteriskModel;
  private readonly stream: EventStream;
  private readonly server: AriHttpServer;
  private readonly signal = new ChangeSignal();
  private readonly validator: EventValidator;
  private readonly ctx: SimContext;
  private readonly endpointObjs = new Map<string, SimEndpoint>();
  private readonly legsByChannel = new Map<string, OutboundLeg>();
  private readonly requestListeners = new Set<(r: RecordedRequest) => void>();
  private readonly responseListeners = new Set<(r: RecordedRequest) => void>();
  private readonly eventListeners = new Set<(e: EventRecord) => void>();
  private readonly eventsByChannel = new Map<string, string[]>();
  private readonly startedAtMs = performance.now();
  private readonly asteriskId: string;
  private apiDocsStatus = 200;
  private eventSeq = 0;
  private stopped = false;
  private readonly keepHistory: boolean;
  private outageTimer: NodeJS.Timeout | null = null;
  private requestFault: RequestFaultHook | null = null;

  private constructor(private readonly opts: AriSimulatorOptions) {
    this.user = opts.user;
    this.password = opts.password;
    this.timing = { ...DEFAULT_TIMING, ...(opts.timing ?? {}) };
    this.keepHistory = opts.keepHistory ?? true;
    this.asteriskId = opts.asteriskId ?? '02:fc:00:00:00:01';
    const spec = opts.spec ?? loadCompactSpec();
    this.validator = new EventValidator(spec);
    this.stream = new EventStream({
      onAppsConnected: (apps) => apps.forEach((a) => this.model.registerApp(a)),
      onChange: () => this.signal.notify(),
      makeApplicationReplaced: (app) => this.stamp(app, { type: 'ApplicationReplaced' }),
    });
    this.model = new AsteriskModel(
      this.timing,
      {
        emit: (app, ev) => this.emit(app, ev),
        isAppActive: (app) => this.stream.isActive(app),
        onNewLeg: (ch) => this.registerLeg(ch),
        onChange: () => this.signal.notify(),
      },
      { missingSounds: opts.missingSounds, endpoints: opts.endpoints, soundLanguages: opts.soundLanguages },
    );
    this.ctx = {
      model: this.model,
      signal: this.signal,
      timing: this.timing,
      eventTypesFor: (id) => this.eventsByChannel.get(id) ?? [],
    };
    const handlers = buildRestHandlers({ model: this.model, asteriskId: this.asteriskId, startedAt: new Date(), globalVars: new Map() });
    this.server = new AriHttpServer({
      spec,
      user: opts.user,
      password: opts.password,
      handlers,
      stream: this.stream,
      startedAtMs: this.startedAtMs,
      apiDocsStatus: () => this.apiDocsStatus,
      requestFault: (r) => this.requestFault?.(r),
      ...(opts.httpSessionLimit !== undefined ? { sessionLimit: opts.httpSessionLimit } : {}),
      onRequest: (r) => {
        if (this.keepHistory) this.requests.push(r);
        for (const l of this.requestListeners) l(r);
      },
      onResponse: (r) => {
        for (const l of this.responseListeners) l(r);
        this.signal.notify();
      },
      onViolation: (v) => {
        this.violations.push(v);
        this.signal.notify();
      },
      onInternalError: (err, request) => {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        this.internalErrors.push({ request, error });
        console.error(`[ari-simulator] internal error on ${request.method} ${request.path}: ${error}`);
      },
    });
  }

  static async start(opts: AriSimulatorOptions): Promise<AriSimulator> {
    const sim = new AriSimulator(opts);
    await sim.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    return sim;
  }

  /** HTTP sessions open now, the most at once, and how many were refused over the limit. */
  get httpSessions(): HttpSessionStats {
    return this.server.sessions;
  }

  /** Base URL for ari-client.connect(), e.g. http://127.0.0.1:34567 */
  get url(): string {
    return `http://${this.server.host}:${this.server.port}`;
  }

  get port(): number {
    return this.server.port;
  }

  // ------------------------------------------------------------ events
  private stamp(app: string, ev: Record<string, unknown>): Record<string, unknown> {
    const { type, ...rest } = ev;
    return { type, timestamp: asteriskTime(), ...rest, asterisk_id: this.asteriskId, application: app };
  }

  private emit(app: string, ev: Record<string, unknown>): void {
    const event = this.stamp(app, ev);
    const problems = this.validator.validate(event);
    if (problems.length) {
      this.eventViolations.push({ event, problems });
      console.error(`[ari-simulator] invalid ${String(event.type)} event: ${problems.join('; ')}`);
      if (this.opts.throwOnInvalidEvent)
        throw new Error(`ARI simulator produced an invalid ${String(event.type)} event: ${problems.join('; ')}`);
    }
    const delivered = this.stream.send(app, event);
    const rec: EventRecord = { seq: ++this.eventSeq, atMs: this.elapsed(), app, delivered, event };
    if (this.keepHistory) this.events.push(rec);
    if (delivered && this.keepHistory) {
      for (const key of ['channel', 'peer']) {
        const c = event[key];
        if (typeof c === 'object' && c !== null && 'id' in c && typeof c.id === 'string') {
          const list = this.eventsByChannel.get(c.id) ?? [];
          list.push(String(event.type));
          this.eventsByChannel.set(c.id, list);
        }
      }
    }
    for (const l of this.eventListeners) l(rec);
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.startedAtMs) * 10) / 10;
  }

  // ------------------------------------------------------------ driver API
  /** Sets the duration of a media: exact ('sound:queue-thankyou') or a prefix ('sound:callback/'). */
  setMediaDuration(media: string, ms: number): void {
    this.model.mediaDurations.set(media, ms);
  }

  /**
   * Marks a sound as missing ('name' or 'sound:name'), in every language or only in `language`:
   * its playback fails (trace f5) and GET /sounds/{id} no longer lists it (for that language).
   */
  setSoundMissing(sound: string, missing = true, language?: string): void {
    const key = sound.startsWith('sound:') ? sound : `sound:${sound}`;
    if (language === undefined) {
      if (missing) this.model.missingSounds.add(key);
      else this.model.missingSounds.delete(key);
      return;
    }
    const langs = this.model.missingSoundLanguages.get(key) ?? new Set<string>();
    if (missing) langs.add(language);
    else langs.delete(language);
    this.model.missingSoundLanguages.set(key, langs);
  }

  /** A call arriving through the dialplan into Stasis (StasisStart in state Ring, as trace a). */
  call(o: CallOptions): SimCall {
    const to = o.to ?? 'queue:support';
    const args = o.args ?? to.split(':').filter((s) => s !== '');
    const exten = o.exten ?? (/^\+?\d+$/.test(to) ? to : to.startsWith('direct:') ? '5551000' : '5552000');
    const app = o.app ?? this.stream.activeApps()[0] ?? null;
    const ch = this.model.inboundCall({
      from: o.from,
      name: o.name ?? '',
      app,
      args,
      exten,
      context: o.context ?? 'from-trunk',
      endpointKey: o.endpoint ?? 'PJSIP/trunk',
      language: o.language,
    });
    const call = new SimCall(this.ctx, ch);
    this.calls.push(call);
    return call;
  }

  /** A phone / dial target: 'PJSIP/1001', or a number behind a trunk: 'PJSIP/5559876@trunk'. */
  endpoint(name: string): SimEndpoint {
    let e = this.endpointObjs.get(name);
    if (!e) {
      e = new SimEndpoint(this.ctx, name);
      this.endpointObjs.set(name, e);
    }
    return e;
  }

  private registerLeg(ch: SimChannel): void {
    if (this.legsByChannel.has(ch.id)) return;
    const target = ch.targetEndpoint ?? ch.endpointKey;
    const owner = this.endpointObjs.get(target) ?? this.endpoint(ch.endpointKey);
    const leg = new OutboundLeg(this.ctx, ch, target);
    this.legsByChannel.set(ch.id, leg);
    this.legs.push(leg);
    owner.addLeg(leg);
    this.signal.notify();
  }

  /** The OutboundLeg of an ARI-created channel id (once it started dialling). */
  leg(channelId: string): OutboundLeg | undefined {
    return this.legsByChannel.get(channelId);
  }

  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = 2000): Promise<RecordedRequest> {
    let from = 0;
    return this.signal.waitUntil(
      () => {
        for (; from < this.requests.length; from++) {
          const r = this.requests[from];
          if (r.status === null) break;
          if (pred(r)) return r;
        }
        return undefined;
      },
      timeoutMs,
      'a matching request',
      () => {
        const last = this.requests
          .slice(-6)
          .map(
            (r) => `${r.method} ${r.path}${Object.keys(r.query).length ? '?' + new URLSearchParams(r.query).toString() : ''} → ${r.status}`,
          );
        return `${this.requests.length} request(s); last: ${last.join(' | ') || 'none'}`;
      },
    );
  }

  /** Waits for an event already sent or sent later (from index `since`, default 0). */
  waitForEvent(pred: (e: EventRecord) => boolean, timeoutMs = 2000, since = 0): Promise<EventRecord> {
    return this.signal.waitUntil(
      () => this.events.slice(since).find(pred),
      timeoutMs,
      'a matching event',
      () =>
        `events so far: ${
          this.events
            .slice(-8)
            .map((e) => String(e.event.type))
            .join(', ') || 'none'
        }`,
    );
  }

  /** Called when a request arrives (before it is handled). Returns an unsubscribe function. */
  onRequest(listener: (r: RecordedRequest) => void): () => void {
    this.requestListeners.add(listener);
    return () => this.requestListeners.delete(listener);
  }

  /** Called when a request has been answered (its `status` set). Returns an unsubscribe function. */
  onResponse(listener: (r: RecordedRequest) => void): () => void {
    this.responseListeners.add(listener);
    return () => this.responseListeners.delete(listener);
  }

  /** Called for every event the simulator emits (delivered or lost). Returns an unsubscribe function. */
  onEvent(listener: (e: EventRecord) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  channels(): ChannelJson[] {
    return [...this.model.channels.values()].filter((c) => c.alive).map((c) => c.snapshot());
  }

  bridges(): Array<BridgeJson & { mohActive: boolean }> {
    return [...this.model.bridges.values()].filter((b) => b.alive).map((b) => ({ ...b.snapshot(), mohActive: b.mohActive }));
  }

  /** Names of Stasis apps with an active WebSocket. */
  activeApps(): string[] {
    return this.stream.activeApps();
  }

  waitForApp(app: string, timeoutMs = 2000): Promise<void> {
    return this.signal
      .waitUntil(
        () => (this.stream.isActive(app) ? true : undefined),
        timeoutMs,
        `app '${app}' to have an active WebSocket`,
        () => `active apps: [${this.stream.activeApps().join(', ')}]`,
      )
      .then(() => undefined);
  }

  /** Throws listing every REST violation, invalid event and internal error recorded so far. */
  assertNoViolations(): void {
    const lines = [
      ...this.violations.map((v) => `REST ${v.method} ${v.path}: ${v.message}`),
      ...this.eventViolations.map((v) => `EVENT ${String(v.event.type)}: ${v.problems.join('; ')}`),
      ...this.internalErrors.map((e) => `INTERNAL ${e.request.method} ${e.request.path}: ${e.error.split('\n')[0]}`),
    ];
    if (lines.length) throw new Error(`ARI simulator recorded ${lines.length} problem(s):\n${lines.join('\n')}`);
  }

  // ------------------------------------------------------------ failures
  /** Drop every event WebSocket without a close frame (ari-client reconnects ~100 ms later, trace e1). */
  async dropWebSocket(): Promise<void> {
    this.stream.dropAll();
    await new Promise((r) => setImmediate(r));
  }

  /**
   * Drop the WebSockets and refuse new ones (HTTP 503) for `ms`. Events meanwhile are lost; inbound
   * calls are declined (603). Resolves right after the drop; the window runs on.
   */
  async refuseWebSocketFor(ms: number): Promise<void> {
    this.stream.refuseFor(ms);
    await this.dropWebSocket();
  }

  /** Every routed REST request goes through `hook` first (null: none): see request-faults.ts. */
  injectRequestFaults(hook: RequestFaultHook | null): void {
    this.requestFault = hook;
  }

  /** Status for /ari/api-docs/* (200 normal, 503 or 401 to make ari-client's start-up fail). */
  setApiDocsStatus(status: 200 | 401 | 503): void {
    this.apiDocsStatus = status;
  }

  /**
   * Listener closed and all connections destroyed for `ms`, or until `over()` holds (checked every
   * 100 ms) if that comes first; then back on the same port. Resolves when back.
   */
  async outage(ms: number, over: () => boolean = () => false): Promise<void> {
    await this.server.close();
    this.stream.dropAll();
    this.signal.notify();
    const until = Date.now() + ms;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        if (Date.now() >= until || over()) {
          this.outageTimer = null;
          resolve();
          return;
        }
        this.outageTimer = setTimeout(tick, Math.min(100, until - Date.now()));
      };
      tick();
    });
    if (!this.stopped) await this.server.restart();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.outageTimer) clearTimeout(this.outageTimer);
    this.model.stop();
    this.stream.close();
    this.signal.stop();
    if (this.server.listening) await this.server.close();
  }
}
