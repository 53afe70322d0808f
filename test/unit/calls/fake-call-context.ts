import { Writable } from 'node:stream';
import { AriChannel, AriEvent } from '../../../src/ari/ari-events';
import { AriRequestError, CallControl } from '../../../src/ari/call-control';
import {
  AgentsPort,
  CallContext,
  CallMilestone,
  ChannelSession,
  PlacesPort,
  PolicyPort,
  QueuesPort,
} from '../../../src/calls/call-context';
import { AppConfig, parseConfig } from '../../../src/config/config';
import { ActionInForce, AgentState, TimerHandle } from '../../../src/domain';
import { ManualClock } from '../../../src/domain/clock';
import { NumberGuard } from '../../../src/engine/number-guard';
import { createLogger } from '../../../src/logging/logger';
import { AttemptRow, CallbackStore, StoredCallback } from '../../../src/store/callback-store';
import { storyConfig } from '../../../tools/support/story-config';

/**
 * A CallContext for one session, with no simulator and no database: ARI requests are recorded
 * (and answered at once), the four role ports are counted (every call up into the engine is in
 * `portCalls`), routing and timers are tracked so a test can say nothing outlived the call.
 */

/** The fake ARI: records each request as a line; a stop is followed by the playback's PlaybackFinished. */
export class FakeControl {
  readonly requests: string[] = [];
  /** Where the events a request causes go (the session under test). */
  deliver: (event: AriEvent) => void = () => undefined;
  /** Channels that answer requests with 404 (hung up). */
  readonly gone = new Set<string>();
  /** Requests (by their recorded line) that Asterisk answers with a 500, each once. */
  readonly failOnce: ((line: string) => boolean)[] = [];

  private record(line: string, channelId?: string): Promise<void> {
    this.requests.push(line);
    const fault = this.failOnce.findIndex((f) => f(line));
    if (fault >= 0) {
      this.failOnce.splice(fault, 1);
      return Promise.reject(new AriRequestError('Internal Server Error', 'server', line.split(' ')[0]));
    }
    const missing = line.startsWith('addToBridge ')
      ? line
          .split(' ')[2]
          .split(',')
          .find((c) => this.gone.has(c))
      : channelId;
    if (missing && this.gone.has(missing)) return Promise.reject(new AriRequestError('Channel not found', 'not_found', line.split(' ')[0]));
    return Promise.resolve();
  }

  answer = (id: string): Promise<void> => this.record(`answer ${id}`, id);
  hangup = (id: string): Promise<void> => this.record(`hangup ${id}`, id);
  play = (id: string, media: string[], playbackId: string): Promise<void> => this.record(`play ${id} ${playbackId} ${media.join(',')}`, id);
  stopPlayback = (playbackId: string): Promise<void> => {
    // Asterisk ends a stopped sound: item with PlaybackFinished.
    setImmediate(() => this.deliver({ type: 'PlaybackFinished', playback: { id: playbackId, media_uri: '', state: 'done' } } as AriEvent));
    return this.record(`stop ${playbackId}`);
  };
  createBridge = (id: string, type: string): Promise<void> => this.record(`createBridge ${id} ${type}`);
  addToBridge = (id: string, channels: string[]): Promise<void> => this.record(`addToBridge ${id} ${channels.join(',')}`);
  destroyBridge = (id: string): Promise<void> => this.record(`destroyBridge ${id}`);
  startBridgeMoh = (id: string): Promise<void> => this.record(`startBridgeMoh ${id}`);
  stopBridgeMoh = (id: string): Promise<void> => this.record(`stopBridgeMoh ${id}`);
  startMoh = (id: string): Promise<void> => this.record(`startMoh ${id}`, id);
  stopMoh = (id: string): Promise<void> => this.record(`stopMoh ${id}`, id);
  createChannel = async (req: { channelId: string }): Promise<void> => {
    await this.record(`createChannel ${req.channelId}`);
    // As Asterisk does: the created channel's StasisStart comes after the create's answer.
    setImmediate(() => this.deliver({ type: 'StasisStart', channel: legChannel(req.channelId, 'Down'), args: [] }));
  };
  dial = (id: string): Promise<void> => this.record(`dial ${id}`, id);
  originate = (req: { channelId: string }): Promise<void> => this.record(`originate ${req.channelId}`);
  continueInDialplan = (id: string): Promise<void> => this.record(`continueInDialplan ${id}`, id);

  played(pred: (line: string) => boolean): boolean {
    return this.requests.some((r) => r.startsWith('play ') && pred(r));
  }
}

/** A manual clock that also knows which timers are still set. */
export class TrackedClock extends ManualClock {
  readonly live = new Set<number>();
  override setTimer(fn: () => void, ms: number): TimerHandle {
    const h = super.setTimer(() => {
      this.live.delete(h.id);
      fn();
    }, ms);
    this.live.add(h.id);
    return h;
  }
  override clearTimer(h: TimerHandle): void {
    this.live.delete(h.id);
    super.clearTimer(h);
  }
}

export interface FakeEngineOptions {
  /** The overflow step in force for every caller (default: the callback offer). */
  overflow?: ActionInForce;
  /** What the booking statement answers (default: stored). */
  booking?: 'stored' | 'failed';
  /** An agent the engine knows (FAKE_AGENT), free to be rung. */
  agent?: boolean;
}

/** The agent of `FakeEngineOptions.agent`. */
export const FAKE_AGENT: AgentState = {
  id: 'ag1',
  name: 'Agent 1',
  endpoint: 'PJSIP/1001',
  queues: [],
  loggedIn: true,
  paused: false,
  deviceState: 'NOT_INUSE',
  onPluginCall: false,
  wrapUpUntil: 0,
  idleSince: 0,
};

/** Counts every call made through a port: `queues.enqueue`, `policy.checkCallbackNumber`... */
function counted<T extends object>(name: string, port: T, calls: string[]): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(prop)}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export class FakeEngine {
  readonly config: AppConfig;
  readonly control = new FakeControl();
  readonly clock = new TrackedClock(1_000_000);
  readonly portCalls: string[] = [];
  readonly milestones: { name: CallMilestone; data: Record<string, unknown> }[] = [];
  /** Channel id -> session, as the router would route events. */
  readonly bound = new Map<string, ChannelSession>();
  readonly queued = new Set<string>();
  readonly released: string[] = [];
  /** Callbacks held while a call is up (a duplicate booking's existing callback). */
  readonly heldForCalls: { callbackId: string; channelId: string }[] = [];
  /** Agents released, with whether they talked. */
  readonly agentsReleased: string[] = [];
  readonly declined: string[] = [];
  readonly closedPlaces: string[] = [];
  readonly logLines: string[] = [];
  readonly ctx: CallContext;
  private readonly guard = new NumberGuard();

  constructor(private readonly opts: FakeEngineOptions = {}) {
    this.config = parseConfig(storyConfig({}), {
      ARI_URL: 'http://127.0.0.1:1',
      ARI_PASSWORD: 'x',
      DATABASE_URL: 'postgres://x',
      INSTANCE_ID: 'unit',
    });
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const store = {
      requestCallback: (req: { id: string; queueId: string; customerNumber: string; arrivedAt: Date }) => {
        if (this.opts.booking === 'failed') return Promise.reject(new Error('database down'));
        const callback = { ...req, status: 'pending', attempts: 0 } as unknown as StoredCallback;
        return Promise.resolve({ kind: 'stored', callback });
      },
    } as unknown as CallbackStore;
    const queues: QueuesPort = {
      config: (id) => this.config.queues.find((q) => q.id === id),
      enqueue: (item) => void this.queued.add(item.id),
      dequeue: (id) => void this.queued.delete(id),
      moveCaller: (from, to) => {
        this.queued.delete(from.id);
        this.queued.add(to.id);
      },
      position: (item) => (this.queued.has(item.id) ? 1 : undefined),
      convertToCallback: (item) => {
        this.queued.delete(item.id);
        return 1;
      },
      addOwedCallback: () => undefined,
      directQueueId: (agentId) => `direct:${agentId}`,
      callbackAttemptEnded: () => undefined,
      releaseFromService: (id) => void this.released.push(id),
      holdForCall: (callbackId, channelId) => void this.heldForCalls.push({ callbackId, channelId }),
      declined: (id, agentId) => void this.declined.push(`${id} ${agentId}`),
      dispatchSoon: () => undefined,
    };
    const agents: AgentsPort = {
      get: (id) => (this.opts.agent && id === FAKE_AGENT.id ? FAKE_AGENT : undefined),
      takeFree: () => undefined,
      busy: () => undefined,
      release: (id, o) => void this.agentsReleased.push(`${id} talked=${o.talked}`),
      directOverflowFor: () => false,
      setPresence: () => Promise.resolve(false),
    };
    const places: PlacesPort = {
      store: (input) => Promise.resolve({ entryId: `entry-${input.channel.id}`, arrivedAt: input.arrivedAt, seq: 1 }),
      move: () => Promise.resolve(undefined),
      close: (entryId, reason) => void this.closedPlaces.push(`${entryId} ${reason}`),
      recordAction: () => undefined,
    };
    const policy: PolicyPort = {
      estimatedWaitSec: () => 60,
      overflowAction: () => this.opts.overflow ?? { index: 0, action: { kind: 'callback' }, reasons: ['waiting_count'] },
      checkTransferNumber: (q, n) => this.guard.checkTransferNumber(q, n),
      checkCallbackNumber: (q, n, c) => this.guard.checkCallbackNumber(q, n, c),
      checkOwedCallbackNumber: () => ({ ok: false, reason: 'unused' }),
    };
    this.ctx = {
      config: this.config,
      control: this.control as unknown as CallControl,
      store,
      clock: this.clock,
      logger: createLogger({ level: 'debug', stream: sink }),
      bind: (id, session) => void this.bound.set(id, session),
      unbind: (id) => void this.bound.delete(id),
      milestone: (name, data) => void this.milestones.push({ name, data }),
      queues: counted('queues', queues, this.portCalls),
      agents: counted('agents', agents, this.portCalls),
      places: counted('places', places, this.portCalls),
      policy: counted('policy', policy, this.portCalls),
    };
  }

  get queue(): AppConfig['queues'][number] {
    return this.config.queues[0];
  }
}

export function callerChannel(id: string, number = '+12125550142'): AriChannel {
  return { id, name: `PJSIP/caller-${id}`, state: 'Ring', caller: { name: 'Ada', number }, language: 'en' } as AriChannel;
}

/** A pending callback of queue `support`, as the store returns it (the fields the sessions read). */
export function pendingCallback(id: string, customerNumber: string, maxAttempts: number): StoredCallback {
  return {
    id,
    queueId: 'support',
    customerNumber,
    status: 'pending',
    attempts: 0,
    maxAttempts,
    requestedAt: new Date(1_000_000),
    language: 'en',
    notBefore: null,
  } as unknown as StoredCallback;
}

/** The attempt row a claim opens for FAKE_AGENT. */
export function openAttempt(id: number): AttemptRow {
  return { id, attemptNo: 1, agentId: FAKE_AGENT.id, endedAt: null } as unknown as AttemptRow;
}

/** A leg's channel as an event carries it. */
export function legChannel(id: string, state: AriChannel['state']): AriChannel {
  return { id, name: id, state, caller: { name: '', number: '' }, connected: { name: '', number: '' } };
}

/** Lets every pending promise and setImmediate run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
