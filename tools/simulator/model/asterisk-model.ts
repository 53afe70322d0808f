/**
 * The simulated Asterisk: channels, bridges, playbacks, endpoints, device states and Stasis apps,
 * and the event sequences real Asterisk 22.10.1 produces for them (see test/fixtures/asterisk-22.10.1/traces).
 * Everything here is synchronous except timers; REST handlers and the scenario driver call into it.
 */
import { randomUUID } from 'node:crypto';
import { SimChannel, type ChannelState } from './channels';
import { BRIDGE_TYPE_FLAGS, SimBridge } from './bridges';
import { SimPlayback, isSayMedia, type PlaybackTarget } from './playbacks';
import {
  DEVICE_STATES,
  newEndpointRecord,
  parseDialTarget,
  type DeviceStateName,
  type EndpointRecord,
  type LegBehaviour,
  type TargetScript,
} from './endpoints';
import { AriHttpError, TimerSet, asteriskTime, causeText, notFound, parseCallerIdString, type CallerId } from './support';

export interface SimTiming {
  /** Duration of a `sound:`/`recording:`/`tone:` media without an explicit duration. */
  defaultSoundMs: number;
  /** Per digit/character of `digits:`, `number:`, `characters:` media. */
  perDigitMs: number;
  /** From dial to the phone's 180 Ringing. */
  ringMs: number;
  /** Answer delay of endpoints nobody scripted. */
  answerMs: number;
  /** Delay of a busy/congestion answer (trace d3: ~500 ms). */
  rejectMs: number;
  /** How many ms one ARI `timeout` second lasts (1000 = real time; tests use e.g. 20). */
  secondsToMs: number;
  /** Delay between DELETE /playbacks/{id} on a sound and PlaybackFinished (trace f1: 3 ms). */
  playbackStopMs: number;
  /**
   * From the answer of POST /channels/create to the channel's StasisStart: a dial in between
   * answers 409 "Channel not in Stasis application" (trace k: 0.5-80 ms, 7 of 60 dials sent at
   * once were refused). 0: StasisStart right after the answer, before any next request can come.
   */
  createToStasisMs: number;
  /** Default DTMF digit duration (trace: 280 ms) and gap. */
  dtmfDurationMs: number;
  dtmfGapMs: number;
}

export const DEFAULT_TIMING: SimTiming = {
  defaultSoundMs: 1500,
  perDigitMs: 400,
  ringMs: 5,
  answerMs: 1000,
  rejectMs: 500,
  secondsToMs: 1000,
  playbackStopMs: 3,
  createToStasisMs: 0,
  dtmfDurationMs: 280,
  dtmfGapMs: 100,
};

export interface ModelHooks {
  /** Send one event (type + fields) to a Stasis app; the hub stamps timestamp/application/asterisk_id. */
  emit(app: string, event: Record<string, unknown>): void;
  isAppActive(app: string): boolean;
  /** A new outbound leg started dialling (originate, or dial on a created channel). */
  onNewLeg(ch: SimChannel): void;
  /** Anything changed (drives the scenario driver's waits). */
  onChange(): void;
}

export interface AppRecord {
  name: string;
  endpointIds: Set<string>;
  deviceNames: Set<string>;
  channelIds: Set<string>;
  bridgeIds: Set<string>;
}

const QOS_VARS = ['RTPAUDIOQOS', 'RTPAUDIOQOSJITTER', 'RTPAUDIOQOSLOSS', 'RTPAUDIOQOSRTT', 'RTPAUDIOQOSMES'];
const QOS_VALUES: Record<string, string> = {
  RTPAUDIOQOS:
    'ssrc=1;themssrc=2;lp=0;rxjitter=0.000000;rxcount=10;txjitter=0.000000;txcount=100;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000',
  RTPAUDIOQOSJITTER:
    'minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;',
  RTPAUDIOQOSLOSS:
    '  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;',
  RTPAUDIOQOSRTT: '     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;',
  RTPAUDIOQOSMES:
    '   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;',
};

export const ANONYMOUS: CallerId = { name: 'Anonymous', number: 'anonymous' };

type PbHost = SimChannel | SimBridge;

interface TeardownOptions {
  hangup: Record<string, unknown>;
  destroy: { cause: number; tech?: number } | null;
  qos: boolean;
  by: 'far-end' | 'app' | 'network';
}

export interface OriginateParams {
  endpoint: string;
  app?: string;
  appArgs?: string;
  extension?: string;
  context?: string;
  priority?: number;
  callerId?: string;
  timeoutSec: number;
  channelId?: string;
  originator?: string;
  variables: Record<string, string>;
}

export interface CreateParams {
  endpoint: string;
  app: string;
  appArgs?: string;
  channelId?: string;
  originator?: string;
  variables: Record<string, string>;
}

export class AsteriskModel {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  readonly playbacks = new Map<string, SimPlayback>();
  readonly endpoints = new Map<string, EndpointRecord>();
  readonly targets = new Map<string, TargetScript>();
  readonly stasisDevices = new Map<string, DeviceStateName>();
  readonly apps = new Map<string, AppRecord>();
  readonly timers = new TimerSet();
  readonly mediaDurations = new Map<string, number>();
  readonly missingSounds: Set<string>;
  /** Languages every sound exists in, unless missing (all of them, or some: missingSoundLanguages). */
  readonly soundLanguages: string[];
  /** 'sound:x' -> languages it is missing in (a prompt installed for en but not for fr). */
  readonly missingSoundLanguages = new Map<string, Set<string>>();
  private uid = 0;
  private chanSeq = 0;
  private readonly epoch = Math.floor(Date.now() / 1000);
  private refreshing = false;

  constructor(
    readonly timing: SimTiming,
    private readonly hooks: ModelHooks,
    opts: { missingSounds?: string[]; endpoints?: string[]; soundLanguages?: string[] },
  ) {
    this.missingSounds = new Set((opts.missingSounds ?? ['no-such-file']).map((s) => (s.startsWith('sound:') ? s : `sound:${s}`)));
    this.soundLanguages = opts.soundLanguages ?? ['en'];
    for (const e of opts.endpoints ?? ['PJSIP/trunk']) this.ensureEndpoint(e);
  }

  // ---------------------------------------------------------------- helpers
  private nextUid(): string {
    return `${this.epoch}.${this.uid++}`;
  }

  private nextChannelName(endpointKey: string): string {
    return `${endpointKey}-${(this.chanSeq++).toString(16).padStart(8, '0')}`;
  }

  ensureEndpoint(key: string): EndpointRecord {
    let rec = this.endpoints.get(key);
    if (!rec) {
      rec = newEndpointRecord(key);
      this.endpoints.set(key, rec);
      rec.lastDeviceState = this.deviceStateOf(rec);
      rec.lastEndpointState = rec.online ? 'online' : 'offline';
    }
    return rec;
  }

  registerApp(name: string): AppRecord {
    let a = this.apps.get(name);
    if (!a) {
      a = { name, endpointIds: new Set(), deviceNames: new Set(), channelIds: new Set(), bridgeIds: new Set() };
      this.apps.set(name, a);
    }
    return a;
  }

  changed(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      this.refreshDeviceStates();
    } finally {
      this.refreshing = false;
    }
    this.hooks.onChange();
  }

  private emitTo(app: string | null, type: string, fields: Record<string, unknown>): void {
    if (!app) return;
    this.hooks.emit(app, { type, ...fields });
  }

  private emitChannel(ch: SimChannel, type: string, fields: Record<string, unknown> = {}): void {
    this.emitTo(ch.app, type, { ...fields, channel: ch.snapshot() });
  }

  private appsForBridgeEvent(bridge: SimBridge, ch?: SimChannel): string[] {
    const set = new Set(bridge.apps);
    if (ch?.app) set.add(ch.app);
    return [...set];
  }

  getChannel(id: string): SimChannel | undefined {
    const ch = this.channels.get(id);
    return ch && ch.alive ? ch : undefined;
  }

  requireChannel(id: string, message = 'Channel not found'): SimChannel {
    const ch = this.getChannel(id);
    if (!ch) throw notFound(message);
    return ch;
  }

  requireBridge(id: string): SimBridge {
    const b = this.bridges.get(id);
    if (!b || !b.alive) throw notFound('Bridge not found');
    return b;
  }

  requirePlayback(id: string): SimPlayback {
    const p = this.playbacks.get(id);
    if (!p) throw notFound('Playback not found');
    return p;
  }

  // ---------------------------------------------------------------- inbound calls
  /** A call arriving through the dialplan into Stasis(app,args...). Returns null channel if declined. */
  inboundCall(opts: {
    from: string;
    name: string;
    app: string | null;
    args: string[];
    exten: string;
    context: string;
    endpointKey: string;
    language?: string;
  }): SimChannel {
    const rec = this.ensureEndpoint(opts.endpointKey);
    const ch = new SimChannel(
      this.nextUid(),
      this.nextChannelName(rec.key),
      'inbound',
      rec.key,
      rec.resource,
      `${1 + this.uid}-${process.pid}@127.0.0.1`,
      {
        state: 'Ring',
        caller: { name: opts.name, number: opts.from },
        dialplan: { context: opts.context, exten: opts.exten, priority: 2, app_name: 'Stasis', app_data: '' },
      },
    );
    // Set before Stasis, so StasisStart carries it (the dialplan sets CHANNEL(language) first).
    if (opts.language !== undefined) ch.language = opts.language;
    if (!opts.app || !this.hooks.isAppActive(opts.app)) {
      // Stasis app not active: STASISSTATUS=FAILED, dialplan continues to Hangup(), caller gets 603 (trace e2).
      ch.alive = false;
      ch.sipCode = 603;
      ch.hungUpBy = 'network';
      return ch;
    }
    ch.enterStasisDialplan(opts.app, opts.args);
    ch.app = opts.app;
    ch.inStasis = true;
    ch.stasisArgs = opts.args;
    this.channels.set(ch.id, ch);
    this.emitChannel(ch, 'StasisStart', { args: opts.args });
    this.changed();
    return ch;
  }

  // ---------------------------------------------------------------- outbound legs
  private allocate(endpoint: string): { rec: EndpointRecord; dialString: string } {
    const parsed = parseDialTarget(endpoint);
    if (!parsed) throw new AriHttpError(400, { message: 'Invalid endpoint specified' });
    const rec = this.endpoints.get(parsed.endpointKey);
    if (!rec || !rec.registered) throw new AriHttpError(500, { error: 'Allocation failed' });
    return { rec, dialString: parsed.dialString };
  }

  private checkNewChannelId(id: string | undefined): void {
    if (id !== undefined && this.channels.has(id)) {
      throw new AriHttpError(409, { message: 'Channel with given unique ID already exists' });
    }
  }

  private behaviourFor(ch: SimChannel, endpoint: string): LegBehaviour {
    return (
      this.targets.get(endpoint)?.behaviour ??
      this.targets.get(ch.endpointKey)?.behaviour ?? { kind: 'answer', afterMs: this.timing.answerMs }
    );
  }

  originate(p: OriginateParams): SimChannel {
    this.checkNewChannelId(p.channelId);
    const { rec, dialString } = this.allocate(p.endpoint);
    const originator = p.originator ? this.getChannel(p.originator) : undefined;
    const ch = new SimChannel(
      p.channelId ?? this.nextUid(),
      this.nextChannelName(rec.key),
      'originate',
      rec.key,
      dialString,
      randomUUID(),
      {
        state: 'Down',
        caller: rec.callerId,
        dialplan: { context: rec.context, exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
      },
    );
    if (p.callerId !== undefined) {
      const cid = parseCallerIdString(p.callerId);
      ch.caller = { ...cid };
      ch.connected = { ...cid };
      ch.displayedCaller = { ...cid };
    } else if (originator) {
      ch.displayedCaller = { ...originator.caller };
    } else {
      ch.displayedCaller = { ...ANONYMOUS };
    }
    for (const [k, v] of Object.entries(p.variables)) ch.vars.set(k, v);
    ch.app = p.app ?? null;
    ch.stasisArgs = p.appArgs ? p.appArgs.split(',') : [];
    ch.originatorId = originator?.id ?? null;
    ch.targetEndpoint = p.endpoint;
    this.channels.set(ch.id, ch);
    if (ch.app) this.registerApp(ch.app);
    const timeoutMs = p.timeoutSec > 0 ? p.timeoutSec * this.timing.secondsToMs : 0;
    ch.dialMode = 'originate';
    ch.behaviour = this.behaviourFor(ch, p.endpoint);
    const endpoint = p.endpoint;
    this.timers.soon(() => this.startDial(ch, timeoutMs, endpoint, p));
    this.changed();
    return ch;
  }

  /** POST /channels/create. Events that precede the response are emitted synchronously. */
  create(p: CreateParams): {
    channel: SimChannel;
    snapshot: ReturnType<SimChannel['snapshot']>;
    enterStasis: () => void;
    enterBeforeResponse: boolean;
  } {
    this.checkNewChannelId(p.channelId);
    const { rec, dialString } = this.allocate(p.endpoint);
    const originator = p.originator ? this.getChannel(p.originator) : undefined;
    const ch = new SimChannel(p.channelId ?? this.nextUid(), this.nextChannelName(rec.key), 'create', rec.key, dialString, randomUUID(), {
      state: 'Down',
      caller: rec.callerId,
      dialplan: { context: rec.context, exten: 's', priority: 1, app_name: '', app_data: '' },
    });
    ch.app = p.app;
    ch.stasisArgs = p.appArgs ? p.appArgs.split(',') : [];
    ch.originatorId = originator?.id ?? null;
    ch.targetEndpoint = p.endpoint;
    this.registerApp(p.app);
    this.channels.set(ch.id, ch);
    const hasVars = Object.keys(p.variables).length > 0;
    for (const [k, v] of Object.entries(p.variables)) this.setVariable(ch, k, v, false);
    const snapshot = ch.snapshot();
    const enterStasis = (): void => {
      if (!ch.alive) return;
      ch.enterStasisDialplan(p.app, ch.stasisArgs);
      this.emitChannel(ch, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: ch.dialplan.app_data });
      this.emitChannel(ch, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
      ch.inStasis = true;
      this.emitChannel(ch, 'StasisStart', { args: ch.stasisArgs });
      this.changed();
    };
    // trace f7 (variables in the body): StasisStart came before the 200; c/d, f7b and most of k
    // (variables or not): after it. With the window configured it always comes after, late.
    const window = this.timing.createToStasisMs;
    const enterBeforeResponse = hasVars && window === 0;
    if (enterBeforeResponse) enterStasis();
    this.changed();
    const enterLater = (): void => (window > 0 ? void this.timers.after(window, enterStasis) : this.timers.soon(enterStasis));
    return { channel: ch, snapshot, enterStasis: enterLater, enterBeforeResponse };
  }

  /** POST /channels/{id}/dial */
  dial(ch: SimChannel, callerId: string | undefined, timeoutSec: number): void {
    if (ch.kind !== 'create' || ch.legPhase !== 'idle') {
      throw new AriHttpError(409, { message: 'Channel is not in a state where it can be dialed' });
    }
    const caller = callerId ? this.getChannel(callerId) : undefined;
    if (callerId && !caller) throw notFound('Caller channel not found');
    const source = caller ?? (ch.originatorId ? this.getChannel(ch.originatorId) : undefined);
    const timeoutMs = timeoutSec > 0 ? timeoutSec * this.timing.secondsToMs : 0;
    ch.dialMode = 'dial';
    const endpoint = ch.targetEndpoint ?? ch.endpointKey;
    ch.behaviour = this.behaviourFor(ch, endpoint);
    this.timers.soon(() => {
      if (!ch.alive) return;
      if (source && !ch.connectedExplicit && (source.caller.name !== ch.connected.name || source.caller.number !== ch.connected.number)) {
        ch.connected = { ...source.caller };
        this.emitChannel(ch, 'ChannelConnectedLine');
      }
      ch.displayedCaller = ch.connected.number || ch.connected.name ? { ...ch.connected } : { ...ANONYMOUS };
      this.startDial(ch, timeoutMs, endpoint, null);
    });
  }

  private emitDial(ch: SimChannel, dialstatus: string, dialstring: string): void {
    this.emitTo(ch.app, 'Dial', { dialstatus, forward: '', dialstring, peer: ch.snapshot() });
  }

  private startDial(ch: SimChannel, timeoutMs: number, endpoint: string, originate: OriginateParams | null): void {
    if (!ch.alive) return;
    void originate;
    void endpoint;
    ch.legPhase = 'dialing';
    this.hooks.onNewLeg(ch);
    this.emitDial(ch, '', ch.dialString);
    const b = ch.behaviour ?? { kind: 'answer', afterMs: this.timing.answerMs };
    if (timeoutMs > 0) ch.dialTimer = this.timers.after(timeoutMs, () => this.legTimeout(ch));
    switch (b.kind) {
      case 'busy':
        ch.answerTimer = this.timers.after(b.afterMs ?? this.timing.rejectMs, () => this.legRejected(ch, 17, 486, 'BUSY'));
        break;
      case 'congestion':
        ch.answerTimer = this.timers.after(b.afterMs ?? this.timing.rejectMs, () => this.legRejected(ch, 34, 503, 'CONGESTION'));
        break;
      case 'unreachable':
        ch.answerTimer = this.timers.after(32 * this.timing.secondsToMs, () => this.legRejected(ch, 18, 408, 'NOANSWER'));
        break;
      default:
        ch.answerTimer = this.timers.after(this.timing.ringMs, () => {
          ch.answerTimer = null;
          this.legRinging(ch);
          if (b.kind === 'answer') ch.answerTimer = this.timers.after(b.afterMs, () => this.legAnswer(ch));
        });
    }
    this.changed();
  }

  private legActive(ch: SimChannel): boolean {
    return ch.alive && (ch.legPhase === 'dialing' || ch.legPhase === 'ringing');
  }

  private legRinging(ch: SimChannel): void {
    if (!this.legActive(ch) || ch.legPhase === 'ringing') return;
    ch.legPhase = 'ringing';
    this.setState(ch, 'Ringing');
    this.emitDial(ch, 'RINGING', ch.dialMode === 'originate' ? ch.dialString : '');
    this.changed();
  }

  /** The called phone answers (200 OK). */
  legAnswer(ch: SimChannel): void {
    if (!this.legActive(ch)) return;
    if (ch.legPhase === 'dialing') this.legRinging(ch);
    this.timers.cancel(ch.dialTimer);
    this.timers.cancel(ch.answerTimer);
    ch.legPhase = 'answered';
    ch.answered = true;
    ch.sipCode = 200;
    this.setState(ch, 'Up');
    this.emitDial(ch, 'ANSWER', ch.dialMode === 'originate' ? ch.dialString : '');
    if (ch.dialMode === 'originate' && ch.app) {
      ch.enterStasisDialplan(ch.app, ch.stasisArgs);
      this.emitChannel(ch, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
      ch.inStasis = true;
      this.emitChannel(ch, 'StasisStart', { args: ch.stasisArgs });
    }
    this.changed();
  }

  /** The called phone answers with a failure (486 busy, 503 congestion) or SIP timer B fires (408). */
  legRejected(ch: SimChannel, cause: number, tech: number, dialstatus: string): void {
    if (!this.legActive(ch)) return;
    ch.legPhase = 'failed';
    ch.sipCode = tech;
    if (ch.dialMode === 'originate') {
      this.finishOriginateLeg(
        ch,
        () => {
          this.emitChannel(ch, 'ChannelHangupRequest', { cause, tech_cause: tech });
          this.emitDial(ch, dialstatus, ch.dialString);
        },
        cause,
        tech,
        'far-end',
      );
    } else {
      this.teardown(ch, { hangup: { cause, tech_cause: tech }, destroy: { cause, tech }, qos: false, by: 'far-end' });
    }
  }

  private legTimeout(ch: SimChannel): void {
    ch.dialTimer = null;
    if (!this.legActive(ch)) return;
    ch.legPhase = 'failed';
    ch.sipCode = 480;
    if (ch.dialMode === 'originate') {
      // trace d1: only ChannelDestroyed(19/480), nothing else
      this.finishOriginateLeg(ch, () => undefined, 19, 480, 'network');
    } else {
      // trace d2: HangupRequest(32, soft) → StasisEnd → ChannelDestroyed(19/480)
      this.teardown(ch, { hangup: { cause: 32, soft: true }, destroy: { cause: 19, tech: 480 }, qos: false, by: 'network' });
    }
  }

  private finishOriginateLeg(
    ch: SimChannel,
    before: () => void,
    cause: number,
    tech: number | undefined,
    by: 'far-end' | 'app' | 'network',
  ): void {
    ch.alive = false;
    ch.hungUpBy = by;
    this.timers.cancel(ch.dialTimer);
    this.timers.cancel(ch.answerTimer);
    before();
    ch.destroyedCause = cause;
    this.emitChannel(ch, 'ChannelDestroyed', { cause, cause_txt: causeText(cause), ...(tech !== undefined ? { tech_cause: tech } : {}) });
    this.channels.delete(ch.id);
    this.changed();
  }

  private setState(ch: SimChannel, state: ChannelState): void {
    if (ch.state === state) return;
    ch.state = state;
    this.emitChannel(ch, 'ChannelStateChange');
  }

  // ---------------------------------------------------------------- hangups
  private emitQos(ch: SimChannel): void {
    const peer = ch.bridge && ch.bridge.bridgeType === 'mixing' ? ch.bridge.channels.find((c) => c !== ch) : undefined;
    for (const v of QOS_VARS) {
      this.emitChannel(ch, 'ChannelVarset', { variable: v, value: QOS_VALUES[v] });
      if (peer) this.emitChannel(peer, 'ChannelVarset', { variable: `${v}BRIDGED`, value: QOS_VALUES[v] });
    }
  }

  private teardown(ch: SimChannel, o: TeardownOptions): void {
    if (!ch.alive) return;
    ch.alive = false;
    ch.hungUpBy = o.by;
    this.timers.cancel(ch.dialTimer);
    this.timers.cancel(ch.answerTimer);
    if (o.qos && ch.state === 'Up') this.emitQos(ch);
    this.emitChannel(ch, 'ChannelHangupRequest', o.hangup);
    this.failHostPlaybacks(ch);
    if (ch.bridge) this.leaveBridge(ch);
    const wasInStasis = ch.inStasis;
    if (ch.inStasis) {
      ch.inStasis = false;
      this.emitChannel(ch, 'StasisEnd');
    }
    if (ch.kind !== 'inbound' && o.destroy) {
      if (wasInStasis) this.emitChannel(ch, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
      ch.dialplan =
        ch.kind === 'originate'
          ? { ...ch.dialplan, app_name: 'AppDial2', app_data: '(Outgoing Line)' }
          : { ...ch.dialplan, app_name: '', app_data: '' };
      ch.destroyedCause = o.destroy.cause;
      this.emitChannel(ch, 'ChannelDestroyed', {
        cause: o.destroy.cause,
        cause_txt: causeText(o.destroy.cause),
        ...(o.destroy.tech !== undefined ? { tech_cause: o.destroy.tech } : {}),
      });
    }
    this.channels.delete(ch.id);
    this.resolveIdle(ch);
    this.changed();
  }

  /** Far end sends BYE (trace b for inbound, trace c for ARI-created channels). Before answer: rejects. */
  farEndHangup(ch: SimChannel): void {
    if (!ch.alive) return;
    if (ch.kind !== 'inbound' && !ch.answered && (ch.legPhase === 'dialing' || ch.legPhase === 'ringing')) {
      this.legRejected(ch, 17, 486, 'BUSY');
      return;
    }
    if (ch.kind === 'inbound') {
      this.teardown(ch, { hangup: {}, destroy: null, qos: true, by: 'far-end' });
    } else {
      this.teardown(ch, { hangup: { cause: 16 }, destroy: { cause: 16 }, qos: true, by: 'far-end' });
    }
  }

  /** DELETE /channels/{id} */
  appHangup(ch: SimChannel, cause: number): void {
    if (ch.kind === 'originate' && !ch.inStasis) {
      // not in the traces: an originated leg still ringing, cancelled by the app
      ch.legPhase = 'failed';
      this.finishOriginateLeg(
        ch,
        () => {
          this.emitChannel(ch, 'ChannelHangupRequest', { cause: 32, soft: true });
          this.emitDial(ch, 'CANCEL', ch.dialString);
        },
        cause,
        undefined,
        'app',
      );
      return;
    }
    if (ch.legPhase === 'dialing' || ch.legPhase === 'ringing') ch.legPhase = 'failed';
    this.teardown(ch, { hangup: { cause: 32, soft: true }, destroy: { cause }, qos: true, by: 'app' });
  }

  /**
   * POST /channels/{id}/continue: the channel leaves Stasis back to the dialplan, Stasis() returns
   * with STASISSTATUS=SUCCESS, and the dialplan (not modelled) then ends the call. Where it
   * resumes, as measured (docs/asterisk-facts.md): context and extension default to the
   * channel's own; the priority is the one given, else the step after Stasis() when neither
   * context nor extension is given, else 1. Resuming at or before its own Stasis() step runs
   * Stasis() again: a new StasisStart with the same arguments (the measured loop of a
   * `priority=1` alone).
   */
  continueInDialplan(ch: SimChannel, to: { context?: string; extension?: string; priority?: number; label?: string } = {}): void {
    if (ch.bridge) this.leaveBridge(ch);
    this.failHostPlaybacks(ch);
    const here = ch.dialplan;
    const keepsPlace = to.context === undefined && to.extension === undefined;
    const resumeAt = {
      context: to.context ?? here.context,
      exten: to.extension ?? here.exten,
      priority: to.priority ?? (keepsPlace ? here.priority + 1 : 1),
    };
    ch.continuedTo = { ...resumeAt, label: to.label };
    ch.vars.set('STASISSTATUS', 'SUCCESS');
    if (ch.inStasis) {
      ch.inStasis = false;
      this.emitChannel(ch, 'StasisEnd');
    }
    const rentersStasis =
      ch.kind === 'inbound' &&
      to.label === undefined &&
      resumeAt.context === here.context &&
      resumeAt.exten === here.exten &&
      resumeAt.priority <= here.priority &&
      ch.app !== null &&
      this.hooks.isAppActive(ch.app);
    if (rentersStasis) {
      ch.inStasis = true;
      this.emitChannel(ch, 'StasisStart', { args: ch.stasisArgs });
      this.changed();
      return;
    }
    ch.alive = false;
    ch.hungUpBy = 'network';
    this.channels.delete(ch.id);
    this.resolveIdle(ch);
    this.changed();
  }

  answer(ch: SimChannel): void {
    if (ch.state !== 'Up') {
      this.setState(ch, 'Up');
      this.changed();
    }
  }

  dtmf(ch: SimChannel, digit: string, durationMs: number): void {
    if (!ch.alive || !ch.inStasis) return;
    this.emitChannel(ch, 'ChannelDtmfReceived', { digit, duration_ms: durationMs });
    this.changed();
  }

  setVariable(ch: SimChannel, name: string, value: string, emitVarset = true): void {
    const fn = /^(CALLERID|CONNECTEDLINE)\((num|name|all)\)$/i.exec(name);
    if (fn) {
      const which = fn[1].toUpperCase() === 'CALLERID' ? 'caller' : 'connected';
      const part = fn[2].toLowerCase();
      const cur = { ...ch[which] };
      if (part === 'num') cur.number = value;
      else if (part === 'name') cur.name = value;
      else Object.assign(cur, parseCallerIdString(value));
      ch[which] = cur;
      if (which === 'caller') {
        this.emitChannel(ch, 'ChannelCallerId', { caller_presentation: 0, caller_presentation_txt: 'Presentation Allowed, Not Screened' });
      } else {
        ch.connectedExplicit = true;
        this.emitChannel(ch, 'ChannelConnectedLine');
      }
      this.changed();
      return;
    }
    ch.vars.set(name, value);
    if (emitVarset) this.emitChannel(ch, 'ChannelVarset', { variable: name, value });
    this.changed();
  }

  getVariable(ch: SimChannel, name: string): string | undefined {
    const fn = /^(CALLERID|CONNECTEDLINE)\((num|name|all)\)$/i.exec(name);
    if (fn) {
      const cid = fn[1].toUpperCase() === 'CALLERID' ? ch.caller : ch.connected;
      const part = fn[2].toLowerCase();
      return part === 'num' ? cid.number : part === 'name' ? cid.name : `"${cid.name}" <${cid.number}>`;
    }
    if (name === 'CHANNEL(name)') return ch.name;
    if (name === 'UNIQUEID') return ch.id;
    return ch.vars.get(name);
  }

  // ---------------------------------------------------------------- bridges
  createBridge(type: string | undefined, bridgeId: string | undefined, name: string | undefined): SimBridge {
    const flags = (type ?? 'mixing')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = flags.length === 0 || flags.some((f) => !BRIDGE_TYPE_FLAGS.has(f));
    // Measured (trace i, h): an id in use answers 409 on both routes (POST /bridges/{id} and
    // POST /bridges?bridgeId=), whatever the type; the id is free again once the bridge is destroyed.
    if (bridgeId !== undefined && this.bridges.get(bridgeId)?.alive) {
      throw new AriHttpError(409, { message: `Bridge with id '${bridgeId}' already exists` });
    }
    if (bad || (bridgeId !== undefined && this.bridges.has(bridgeId))) {
      throw new AriHttpError(500, { message: `Unable to create bridge. Possible duplicate bridge id '${bridgeId ?? '(null)'}'` });
    }
    const bridge = new SimBridge(bridgeId ?? randomUUID(), name ?? '', flags.includes('holding') ? 'holding' : 'mixing', flags);
    this.bridges.set(bridge.id, bridge);
    this.changed();
    return bridge;
  }

  addToBridge(bridge: SimBridge, chans: SimChannel[]): void {
    for (const ch of chans) {
      if (!ch.alive) continue;
      // A channel already in a bridge leaves it first, even when it is this one (trace h: addChannel
      // of the bridged channel to its own bridge → ChannelLeftBridge, ChannelEnteredBridge).
      if (ch.bridge) this.leaveBridge(ch, { unsubscribe: true });
      bridge.channels.push(ch);
      ch.bridge = bridge;
      if (ch.app) {
        bridge.apps.add(ch.app);
      }
      for (const app of this.appsForBridgeEvent(bridge, ch)) {
        this.emitTo(app, 'ChannelEnteredBridge', { bridge: bridge.snapshot(), channel: ch.snapshot() });
      }
    }
    if (bridge.bridgeType === 'mixing' && bridge.channels.length === 2) {
      const [a, b] = bridge.channels;
      for (const [x, y] of [
        [b, a],
        [a, b],
      ] as Array<[SimChannel, SimChannel]>) {
        this.emitChannel(x, 'ChannelVarset', { variable: 'BRIDGEPEER', value: y.name });
        this.emitChannel(x, 'ChannelVarset', { variable: 'BRIDGEPVTCALLID', value: y.protocolId });
      }
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as Array<[SimChannel, SimChannel]>) {
        if (x.connected.name !== y.caller.name || x.connected.number !== y.caller.number) {
          x.connected = { ...y.caller };
          this.emitChannel(x, 'ChannelConnectedLine');
        }
      }
      if (a.state === 'Up' && b.state === 'Up') bridge.technology = 'native_rtp';
    }
    this.changed();
  }

  /**
   * `unsubscribe`: the channel was taken out by the app (removeChannel, or addChannel to a bridge):
   * its app stops getting the bridge's events, unless another of its channels is still in it or it
   * subscribed to the bridge itself (trace g: no BridgeDestroyed after removeChannel or a move; a, c,
   * h: BridgeDestroyed after a channel left by hanging up).
   */
  leaveBridge(ch: SimChannel, opts: { unsubscribe?: boolean } = {}): void {
    const bridge = ch.bridge;
    if (!bridge) return;
    if (bridge.bridgeType === 'mixing' && bridge.channels.length === 2) {
      this.emitChannel(ch, 'ChannelVarset', { variable: 'BRIDGEPEER', value: '' });
      this.emitChannel(ch, 'ChannelVarset', { variable: 'BRIDGEPVTCALLID', value: '' });
    }
    const i = bridge.channels.indexOf(ch);
    if (i >= 0) bridge.channels.splice(i, 1);
    ch.bridge = null;
    for (const app of this.appsForBridgeEvent(bridge, ch)) {
      this.emitTo(app, 'ChannelLeftBridge', { bridge: bridge.snapshot(), channel: ch.snapshot() });
    }
    if (bridge.bridgeType === 'mixing' && bridge.channels.length < 2) bridge.technology = 'simple_bridge';
    const app = ch.app;
    if (opts.unsubscribe && app && !bridge.channels.some((c) => c.app === app) && !this.apps.get(app)?.bridgeIds.has(bridge.id))
      bridge.apps.delete(app);
    this.changed();
  }

  destroyBridge(bridge: SimBridge): void {
    for (const ch of [...bridge.channels]) this.leaveBridge(ch);
    this.failHostPlaybacks(bridge);
    bridge.alive = false;
    this.bridges.delete(bridge.id);
    for (const app of bridge.apps) this.emitTo(app, 'BridgeDestroyed', { bridge: bridge.snapshot() });
    this.changed();
  }

  // ---------------------------------------------------------------- playbacks
  mediaDurationMs(media: string): number {
    const exact = this.mediaDurations.get(media);
    if (exact !== undefined) return exact;
    let best: { len: number; ms: number } | null = null;
    for (const [prefix, ms] of this.mediaDurations) {
      if (media.startsWith(prefix) && (!best || prefix.length > best.len)) best = { len: prefix.length, ms };
    }
    if (best) return best.ms;
    const colon = media.indexOf(':');
    const scheme = media.slice(0, colon);
    const value = media.slice(colon + 1);
    if (scheme === 'digits' || scheme === 'characters') return Math.max(1, value.length) * this.timing.perDigitMs;
    if (scheme === 'number') return Math.max(1, value.replace(/\D/g, '').length) * this.timing.perDigitMs;
    // A number read back one file per digit (the plugin's digitSounds): each as long as a digit of `digits:`.
    if (/^sound:digits\/[0-9]$/.test(media)) return this.timing.perDigitMs;
    return this.timing.defaultSoundMs;
  }

  /**
   * What GET /sounds/{id} lists: one (language, format) pair per language the sound exists in.
   * Every sound is one .wav file per language here, and Asterisk names the wav format `slin`
   * (the recorded snapshot of a core sound lists slin and gsm). Empty when the sound is missing.
   */
  soundFormats(soundId: string): { language: string; format: string }[] {
    const key = `sound:${soundId}`;
    if (this.missingSounds.has(key)) return [];
    const missingIn = this.missingSoundLanguages.get(key);
    return this.soundLanguages.filter((l) => !missingIn?.has(l)).map((language) => ({ language, format: 'slin' }));
  }

  private mediaMissing(media: string, language: string): boolean {
    if (this.missingSounds.has(media)) return true;
    if (this.missingSoundLanguages.get(media)?.has(language)) return true;
    return !/^(sound|recording|digits|number|characters|tone):./.test(media);
  }

  play(target: PlaybackTarget, media: string[], playbackId: string | undefined, lang: string | undefined): SimPlayback {
    if (playbackId !== undefined && this.playbacks.has(playbackId)) {
      throw new AriHttpError(409, { message: 'Playback with given ID already exists' });
    }
    const host: PbHost = target.kind === 'channel' ? target.channel : target.bridge;
    const language = lang ?? (target.kind === 'channel' ? target.channel.language : 'en');
    const pb = new SimPlayback(playbackId ?? randomUUID(), media, target, language);
    this.playbacks.set(pb.id, pb);
    host.playbackQueue.push(pb);
    if (!host.currentPlayback && !host.playbackStartScheduled) {
      host.playbackStartScheduled = true;
      this.timers.soon(() => this.startNext(host));
    }
    this.changed();
    return pb;
  }

  private appsOfPlayback(pb: SimPlayback): string[] {
    if (pb.target.kind === 'channel') return pb.target.channel.app ? [pb.target.channel.app] : [];
    return [...pb.target.bridge.apps];
  }

  private emitPlayback(pb: SimPlayback, type: string): void {
    for (const app of this.appsOfPlayback(pb)) this.emitTo(app, type, { playback: pb.snapshot() });
  }

  private hostOf(pb: SimPlayback): PbHost {
    return pb.target.kind === 'channel' ? pb.target.channel : pb.target.bridge;
  }

  private startNext(host: PbHost): void {
    host.playbackStartScheduled = false;
    host.currentPlayback = null;
    for (;;) {
      const pb = host.playbackQueue.shift();
      if (!pb) break;
      if (pb.cancelled) {
        this.finishPlayback(pb, 'done');
        continue;
      }
      this.startSegment(pb, 0);
      return;
    }
    if (host instanceof SimChannel) this.resolveIdle(host);
    this.changed();
  }

  private startSegment(pb: SimPlayback, index: number): void {
    const host = this.hostOf(pb);
    host.currentPlayback = pb;
    pb.index = index;
    pb.state = 'playing';
    if (index === 0) {
      pb.startedAt = Date.now();
      if (pb.target.kind === 'channel') pb.target.channel.playbackHistory.push(pb);
      else for (const c of pb.target.bridge.channels) c.playbackHistory.push(pb);
    }
    this.emitPlayback(pb, 'PlaybackStarted');
    const media = pb.media[index];
    if (this.mediaMissing(media, pb.language)) {
      this.finishPlayback(pb, 'failed');
      this.startNext(host);
      return;
    }
    this.runSegment(pb, this.mediaDurationMs(media));
    this.changed();
  }

  private runSegment(pb: SimPlayback, ms: number): void {
    pb.segmentStartedAt = Date.now();
    pb.segmentRemainingMs = ms;
    pb.timer = this.timers.after(ms, () => this.segmentEnd(pb));
  }

  private segmentEnd(pb: SimPlayback): void {
    pb.timer = null;
    if (pb.finished) return;
    if (pb.index < pb.media.length - 1) {
      pb.state = 'continuing';
      this.emitPlayback(pb, 'PlaybackContinuing');
      this.startSegment(pb, pb.index + 1);
      return;
    }
    this.finishPlayback(pb, 'done');
    this.startNext(this.hostOf(pb));
  }

  private finishPlayback(pb: SimPlayback, state: 'done' | 'failed'): void {
    if (pb.finished) return;
    this.timers.cancel(pb.timer);
    pb.timer = null;
    pb.state = state;
    pb.finishedAt = Date.now();
    this.playbacks.delete(pb.id);
    this.emitPlayback(pb, 'PlaybackFinished');
    this.changed();
  }

  private failHostPlaybacks(host: PbHost): void {
    const cur = host.currentPlayback;
    host.currentPlayback = null;
    if (cur) this.finishPlayback(cur, 'failed');
    for (const pb of host.playbackQueue.splice(0)) this.finishPlayback(pb, 'failed');
    host.playbackStartScheduled = false;
  }

  /** DELETE /playbacks/{id} (traces f1–f4, c). */
  stopPlayback(pb: SimPlayback): void {
    if (pb.state === 'queued') {
      pb.cancelled = true;
      pb.stoppedByApp = true;
      return;
    }
    const cur = pb.media[pb.index];
    if (isSayMedia(cur)) {
      if (isSayMedia(pb.media[0])) throw new AriHttpError(500, { message: 'Could not stop playback' });
      pb.stoppedByApp = true; // 204, but it runs to the end (trace f3 / c)
      return;
    }
    pb.stoppedByApp = true;
    this.timers.cancel(pb.timer);
    pb.timer = this.timers.after(this.timing.playbackStopMs, () => {
      pb.timer = null;
      const host = this.hostOf(pb);
      this.finishPlayback(pb, 'done');
      if (host.currentPlayback === pb || host.currentPlayback === null) this.startNext(host);
    });
  }

  controlPlayback(pb: SimPlayback, operation: string): void {
    if (pb.state === 'queued') throw new AriHttpError(409, { message: 'Playback not currently playing' });
    const media = pb.media[pb.index];
    if (operation === 'pause') {
      if (pb.paused) return;
      pb.paused = true;
      this.timers.cancel(pb.timer);
      pb.timer = null;
      pb.segmentRemainingMs = Math.max(0, pb.segmentRemainingMs - (Date.now() - pb.segmentStartedAt));
    } else if (operation === 'unpause') {
      if (!pb.paused) return;
      pb.paused = false;
      this.emitPlayback(pb, 'PlaybackStarted');
      this.runSegment(pb, pb.segmentRemainingMs);
    } else if (operation === 'restart') {
      this.timers.cancel(pb.timer);
      if (!pb.paused) this.runSegment(pb, this.mediaDurationMs(media));
      else pb.segmentRemainingMs = this.mediaDurationMs(media);
    }
    // forward / reverse: accepted, no audible effect in the simulator
    this.changed();
  }

  /**
   * `POST /channels/{id}/answer`, `POST /channels/{id}/variable` and `POST /bridges/{id}/addChannel`
   * are held by a real Asterisk until the channel's running (and queued) playbacks end, whether the
   * channel is in a bridge or not (trace g: answer 6.8 s behind a 7.8 s sound started 1 s before,
   * 2.2 s out of any bridge, variable 2.2 s, addChannel moving it to another bridge 2.2 s; trace h:
   * addChannel to its own bridge 6.6 s; trace c). GET, moh, ring, play, DELETE /playbacks and
   * DELETE /channels are answered at once (g).
   */
  waitChannelPlaybacks(ch: SimChannel): Promise<void> {
    if (!ch.playbackBusy || !ch.alive) return Promise.resolve();
    return new Promise((resolve) => ch.idleWaiters.push(resolve));
  }

  private resolveIdle(ch: SimChannel): void {
    if (ch.alive && ch.playbackBusy) return;
    const waiters = ch.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  // ---------------------------------------------------------------- device states / endpoints
  deviceStateOf(rec: EndpointRecord): DeviceStateName {
    if (!rec.online || !rec.registered) return 'UNAVAILABLE';
    if (rec.deviceOverride) return rec.deviceOverride;
    let inUse = false;
    let ringing = false;
    for (const ch of this.channels.values()) {
      if (!ch.alive || ch.endpointKey !== rec.key) continue;
      if (ch.state === 'Up' || ch.state === 'Ring') inUse = true;
      if (ch.state === 'Ringing') ringing = true;
    }
    if (inUse && ringing) return 'RINGINUSE';
    if (inUse) return 'INUSE';
    if (ringing) return 'RINGING';
    return 'NOT_INUSE';
  }

  deviceState(name: string): DeviceStateName {
    if (name.startsWith('Stasis:')) return this.stasisDevices.get(name) ?? 'UNKNOWN';
    const rec = this.endpoints.get(name);
    return rec ? this.deviceStateOf(rec) : 'INVALID';
  }

  setStasisDevice(name: string, state: DeviceStateName | null): void {
    if (state === null) this.stasisDevices.delete(name);
    else this.stasisDevices.set(name, state);
    this.emitDeviceState(name, state ?? 'UNKNOWN');
    this.changed();
  }

  private isWatched(deviceName: string): boolean {
    for (const app of this.apps.values()) if (app.deviceNames.has(deviceName)) return true;
    return false;
  }

  private emitDeviceState(name: string, state: DeviceStateName): void {
    for (const app of this.apps.values()) {
      if (app.deviceNames.has(name)) this.emitTo(app.name, 'DeviceStateChanged', { device_state: { name, state } });
    }
  }

  endpointJson(rec: EndpointRecord): { technology: string; resource: string; state: 'online' | 'offline'; channel_ids: string[] } {
    const ids: string[] = [];
    for (const ch of this.channels.values()) if (ch.alive && ch.endpointKey === rec.key) ids.push(ch.id);
    return { technology: rec.tech, resource: rec.resource, state: rec.online && rec.registered ? 'online' : 'offline', channel_ids: ids };
  }

  private refreshDeviceStates(): void {
    for (const rec of this.endpoints.values()) {
      // Runs on every change, and a device's state walks every channel: with 10,000 callers on
      // one trunk that made the simulator itself the bottleneck of the benchmark. Asterisk tells
      // a device's state only to the apps subscribed to it, so an endpoint nobody watches is
      // skipped; subscribe() takes the baseline a new watcher's changes are compared with.
      if (this.isWatched(rec.key)) {
        const ds = this.deviceStateOf(rec);
        if (ds !== rec.lastDeviceState) {
          rec.lastDeviceState = ds;
          this.emitDeviceState(rec.key, ds);
        }
      }
      const es = rec.online && rec.registered ? 'online' : 'offline';
      if (es !== rec.lastEndpointState) {
        rec.lastEndpointState = es;
        for (const app of this.apps.values()) {
          if (app.endpointIds.has(rec.key) || app.endpointIds.has(rec.tech)) {
            this.emitTo(app.name, 'EndpointStateChange', { endpoint: this.endpointJson(rec) });
          }
        }
      }
    }
  }

  isDeviceStateName(s: string): s is DeviceStateName {
    return (DEVICE_STATES as string[]).includes(s);
  }

  // ---------------------------------------------------------------- applications
  appJson(app: AppRecord): Record<string, unknown> {
    const channelIds: string[] = [];
    for (const ch of this.channels.values()) if (ch.alive && ch.app === app.name) channelIds.push(ch.id);
    for (const id of app.channelIds) if (!channelIds.includes(id) && this.getChannel(id)) channelIds.push(id);
    const bridgeIds: string[] = [];
    for (const b of this.bridges.values()) if (b.alive && (b.apps.has(app.name) || app.bridgeIds.has(b.id))) bridgeIds.push(b.id);
    return {
      name: app.name,
      channel_ids: channelIds,
      bridge_ids: bridgeIds,
      endpoint_ids: [...app.endpointIds],
      device_names: [...app.deviceNames],
      events_allowed: [],
      events_disallowed: [],
    };
  }

  subscribe(app: AppRecord, sources: string[], unsubscribe: boolean): void {
    for (const src of sources) {
      const m = /^(channel|bridge|endpoint|deviceState):(.+)$/.exec(src);
      if (!m) throw new AriHttpError(400, { message: 'Invalid event source URI scheme' });
      const [, scheme, id] = m;
      if (scheme === 'channel') {
        if (!this.getChannel(id)) throw new AriHttpError(422, { message: 'Event source does not exist' });
        if (unsubscribe) app.channelIds.delete(id);
        else app.channelIds.add(id);
      } else if (scheme === 'bridge') {
        const b = this.bridges.get(id);
        if (!b) throw new AriHttpError(422, { message: 'Event source does not exist' });
        if (unsubscribe) {
          app.bridgeIds.delete(id);
          b.apps.delete(app.name);
        } else {
          app.bridgeIds.add(id);
          b.apps.add(app.name);
        }
      } else if (scheme === 'endpoint') {
        const exists = this.endpoints.has(id) || [...this.endpoints.values()].some((e) => e.tech === id);
        if (!exists) throw new AriHttpError(422, { message: 'Event source does not exist' });
        if (unsubscribe) app.endpointIds.delete(id);
        else app.endpointIds.add(id);
      } else {
        if (unsubscribe) app.deviceNames.delete(id);
        else {
          // The state now is what later changes are compared with (see refreshDeviceStates).
          const rec = this.endpoints.get(id);
          if (rec && !this.isWatched(id)) rec.lastDeviceState = this.deviceStateOf(rec);
          app.deviceNames.add(id);
        }
      }
    }
    this.changed();
  }

  emitUserEvent(app: string, fields: Record<string, unknown>): void {
    this.emitTo(app, 'ChannelUserevent', fields);
  }

  stop(): void {
    this.timers.clearAll();
    for (const ch of this.channels.values()) ch.idleWaiters.splice(0).forEach((w) => w());
  }

  now(): string {
    return asteriskTime();
  }
}
