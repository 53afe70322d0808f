/**
 * The shapes of a stored callback, its attempts and its history, and their mapping from table
 * rows. Every part of the callback store returns these, so callers never see column names.
 */

export type CallbackStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'expired';

export type CallbackEventType =
  | 'requested'
  | 'offered_to_agent'
  | 'agent_answered'
  | 'agent_no_answer'
  | 'agent_accepted'
  | 'agent_declined'
  | 'customer_dialled'
  | 'customer_answered'
  | 'customer_busy'
  | 'customer_no_answer'
  | 'customer_failed'
  | 'bridged'
  | 'completed'
  | 'failed'
  | 'lease_expired'
  | 'cancelled'
  | 'expired'
  | 'rescheduled'
  | 'fell_back_to_queue';

export interface NewCallbackRequest {
  id: string;
  queueId: string;
  routeId?: string | null;
  ownerAgentId?: string | null;
  customerNumber: string;
  customerName?: string | null;
  language: string;
  priority: number;
  arrivedAt: Date;
  maxAttempts: number;
  sourceChannelId?: string | null;
  /** A scheduled callback: not dialled before this time. */
  notBefore?: Date | null;
  /** The place's tie-break in the shared order: a caller's booking keeps the caller's seq. */
  seq?: number;
  /**
   * The number policy's limit on open callbacks per number (maxPendingPerNumber), counted in the
   * OTHER queues: a second request in the same queue is a duplicate, not a refusal. Absent or
   * Infinity: no limit.
   */
  maxOpenElsewhere?: number;
  /**
   * Who asked, as the per-caller rate limit counts them (stored on the row): 'caller:<E.164>' for
   * a caller id, 'typed:<E.164>' for a withheld caller's typed number. Absent: not counted.
   */
  requesterKey?: string | null;
  /** At most `limit` requests per requesterKey in this queue within `windowSec` (the queue's rateLimit). */
  rateLimit?: { limit: number; windowSec: number };
}

export interface StoredCallback {
  id: string;
  queueId: string;
  routeId: string | null;
  ownerAgentId: string | null;
  customerNumber: string;
  customerName: string | null;
  language: string;
  priority: number;
  arrivedAt: Date;
  requestedAt: Date;
  status: CallbackStatus;
  attempts: number;
  maxAttempts: number;
  notBefore: Date | null;
  claimedBy: string | null;
  claimExpiresAt: Date | null;
  outcomeReason: string | null;
  /** The caller's channel that requested it (null for API-created callbacks). */
  sourceChannelId: string | null;
  /** When that call was seen to end (sql/008); null while it may still be up. Absent: built in memory. */
  sourceCallEndedAt?: Date | null;
  /** Tie-break in the order shared with live callers (sql/004: work_item_seq). */
  seq: number;
}

export interface CallbackEventRow {
  id: number;
  callbackId: string;
  at: Date;
  type: CallbackEventType;
  agentId: string | null;
  detail: Record<string, unknown>;
}

export interface AttemptRow {
  id: number;
  callbackId: string;
  attemptNo: number;
  agentId: string;
  agentChannelId: string;
  customerChannelId: string | null;
  outcome: string | null;
  cause: number | null;
  causeTxt: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export interface DirectCallRecord {
  channelId: string;
  agentId?: string | null;
  dialled: string;
  callerNumber?: string | null;
  callerName?: string | null;
  startedAt: Date;
  answeredAt?: Date | null;
  endedAt?: Date | null;
  outcome?: string | null;
  reason?: string | null;
  cause?: number | null;
  callbackId?: string | null;
}

/** A callback_requests row as pg returns it, or as a change announcement carries it. */
export interface CallbackRow {
  id: string;
  queue_id: string;
  route_id: string | null;
  owner_agent_id: string | null;
  customer_number: string;
  customer_name: string | null;
  language: string;
  priority: number;
  arrived_at: Date | string;
  requested_at: Date | string;
  status: CallbackStatus;
  attempts: number;
  max_attempts: number;
  not_before: Date | string | null;
  claimed_by: string | null;
  claim_expires_at: Date | string | null;
  outcome_reason: string | null;
  source_channel_id: string | null;
  seq: string | number;
  /** sql/007; absent from rows built in memory. */
  requester_key?: string | null;
  /** sql/008; absent from rows built in memory. */
  source_call_ended_at?: Date | string | null;
}

/** pg gives Dates; a NOTIFY payload (row_to_json) gives ISO strings. */
function asDate(v: Date | string): Date;
function asDate(v: Date | string | null): Date | null;
function asDate(v: Date | string | null): Date | null {
  return v === null ? null : v instanceof Date ? v : new Date(v);
}

export function toCallback(r: CallbackRow): StoredCallback {
  return {
    id: r.id,
    queueId: r.queue_id,
    routeId: r.route_id,
    ownerAgentId: r.owner_agent_id,
    customerNumber: r.customer_number,
    customerName: r.customer_name,
    language: r.language,
    priority: r.priority,
    arrivedAt: asDate(r.arrived_at),
    requestedAt: asDate(r.requested_at),
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    notBefore: asDate(r.not_before),
    claimedBy: r.claimed_by,
    claimExpiresAt: asDate(r.claim_expires_at),
    outcomeReason: r.outcome_reason,
    sourceChannelId: r.source_channel_id,
    sourceCallEndedAt: asDate(r.source_call_ended_at ?? null),
    seq: Number(r.seq),
  };
}

/** A callback still owed to its customer: waiting for an agent, or in an attempt. */
export const OPEN_STATUSES: readonly CallbackStatus[] = ['pending', 'in_progress'];

/** A callback_attempts row as pg returns it. */
export interface AttemptDbRow {
  id: string | number;
  callback_id: string;
  attempt_no: number;
  agent_id: string;
  agent_channel_id: string;
  customer_channel_id: string | null;
  customer_dialed_at: Date | null;
  customer_answered_at: Date | null;
  /** Read where it matters (a lost instance's attempts); absent from rows built in memory. */
  bridged_at?: Date | null;
  outcome: string | null;
  cause: number | null;
  cause_txt: string | null;
  started_at: Date;
  ended_at: Date | null;
}

export function toAttempt(r: AttemptDbRow): AttemptRow {
  return {
    id: Number(r.id),
    callbackId: r.callback_id,
    attemptNo: r.attempt_no,
    agentId: r.agent_id,
    agentChannelId: r.agent_channel_id,
    customerChannelId: r.customer_channel_id,
    outcome: r.outcome,
    cause: r.cause,
    causeTxt: r.cause_txt,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}
