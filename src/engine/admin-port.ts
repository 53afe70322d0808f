import { QueueConfig } from '../config/config';
import { AgentState, WorkItem } from '../domain';
import { CallMilestone } from '../calls/call-context';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { PresenceSource } from '../store/agent-presence-store';
import { DayReport, DayReportQuery } from '../store/day-report-queries';
import { QueueFigures } from './queue-book';
import { WallSnapshot } from './wall-snapshot';

/**
 * What the administrators' and agents' surfaces (REST API, agent panel, metrics) may ask of the
 * engine. They depend on these interfaces only, so that the engine's wiring can change without
 * them and a test can serve them from a stub. Implemented by engine/admin-service.ts.
 */

/** A callback request refused by policy; the message starts with the field at fault. */
export class CallbackRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackRefused';
  }
}

export type MilestoneListener = (name: CallMilestone, data: Record<string, unknown>) => void;

/** A preview call an agent is in: what the panel shows, and the agent's two choices (keys 1 and 2). */
export interface AgentPreview {
  readonly callbackId: string;
  readonly agent: string;
  readonly customer: StoredCallback;
  /** The agent has answered and not yet accepted or skipped. */
  readonly isPreviewing: boolean;
  accept(): Promise<boolean>;
  decline(): Promise<boolean>;
}

export interface NewCallback {
  queueId: string;
  number: string;
  name?: string;
  notBefore?: Date;
  ownerAgentId?: string;
  language?: string;
  /** Its priority in the queue (ITEM_PRIORITY_MIN..MAX); absent, the queue's. Explicit only: nothing adds to it. */
  priority?: number;
}

/**
 * What the engine holds for calls right now. With no call up and no callback open, every count
 * is 0: a count that stays up after its calls ended is state that outlived them (the call-flow
 * fuzzer checks this after each batch; /metrics can show it).
 */
export interface LiveCounts {
  /** Call sessions the router holds (one per call, whatever its number of channels). */
  sessions: number;
  /** Channels routed to a session. */
  boundChannels: number;
  /** Live callers dispatch may connect to an agent. */
  dispatchCallers: number;
  /** This process's callers in the queues' order. */
  queuedCallers: number;
  /** Other instances' callers in the queues' order. */
  remoteCallers: number;
  /** Open callbacks in the queues (pending or being attempted). */
  callbacks: number;
  /** Of those, the ones with an attempt running. */
  attemptsRunning: number;
  /** Agents held for a call of the plugin's (reserved, ringing or bridged). */
  agentsOnPluginCall: number;
}

/** The stored callbacks, read only. */
export type CallbackRecords = Pick<CallbackStore, 'list' | 'get' | 'history' | 'attempts'>;

export interface AdminOperations {
  /** The engine's clock (epoch ms), so that ages shown agree with the engine's decisions. */
  now(): number;
  readonly callbacks: CallbackRecords;
  agent(agentId: string): AgentState | undefined;
  allAgents(): AgentState[];
  queueIds(): string[];
  queueConfig(queueId: string): QueueConfig | undefined;
  /** Live figures of one queue. */
  queueFigures(queueId: string): QueueFigures | undefined;
  /** What waits in one queue, in service order (priority, then original arrival), each with its priority. */
  queueItems(queueId: string): readonly WorkItem[] | undefined;
  estimatedWaitSec(queueId: string, position: number): number;
  /** The preview call an agent is in right now, if any. */
  activePreviewOf(agentId: string): AgentPreview | undefined;
  /** The preview call of a callback being attempted now, whichever agent has it. */
  previewFor(callbackId: string): AgentPreview | undefined;
  /** A proactive or scheduled callback; rejects with CallbackRefused when the number policy refuses it. */
  createCallback(input: NewCallback): Promise<{ kind: 'stored' | 'duplicate'; callback: StoredCallback }>;
  /** Refused ('in_progress') while an attempt is dialling it. */
  cancelCallback(id: string, reason: string): Promise<'cancelled' | 'in_progress' | 'not_open'>;
  /** Undefined when the callback is not pending. */
  rescheduleCallback(id: string, notBefore: Date): Promise<StoredCallback | undefined>;
  /**
   * Applied at once and stored, so that it outlives a restart and reaches every instance.
   * Resolves false for an unknown agent; rejects when it could not be stored (it still applies here).
   */
  setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean>;
  /** Every call milestone from now on, until the returned function is called. */
  onMilestone(listener: MilestoneListener): () => void;
  /** What the engine holds for calls right now (read only). */
  liveCounts(): LiveCounts;
  /**
   * The day's figures from the database (read only). The caller fills timeZone and
   * serviceLevelSec from config.reports; absent, UTC and 60 s.
   */
  dayReport(q: DayReportQuery): Promise<DayReport>;
  /**
   * The wallboard's live figures (queues, waiting items with their priority, agents' states),
   * from memory only: no database read, so a snapshot a second costs the same for any audience.
   */
  wallSnapshot(): WallSnapshot;
}

/** What carries the admin operations: the CallbackApp in the plugin. */
export interface AdminHost {
  readonly admin: AdminOperations;
}
