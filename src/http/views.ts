import { AgentState, isAgentAvailable } from '../domain';
import { AdminOperations } from '../engine/admin-port';
import { AttemptRow, CallbackEventRow, StoredCallback } from '../store/callback-store';

/** The JSON shapes of the API (documented in openapi.ts). */

export function callbackView(cb: StoredCallback): Record<string, unknown> {
  return {
    id: cb.id,
    queueId: cb.queueId,
    routeId: cb.routeId,
    ownerAgentId: cb.ownerAgentId,
    number: cb.customerNumber,
    name: cb.customerName,
    status: cb.status,
    attempts: cb.attempts,
    maxAttempts: cb.maxAttempts,
    priority: cb.priority,
    language: cb.language,
    arrivedAt: cb.arrivedAt.toISOString(),
    requestedAt: cb.requestedAt.toISOString(),
    notBefore: cb.notBefore?.toISOString() ?? null,
    claimedBy: cb.claimedBy,
    claimExpiresAt: cb.claimExpiresAt?.toISOString() ?? null,
    outcomeReason: cb.outcomeReason,
  };
}

export function historyView(h: CallbackEventRow): Record<string, unknown> {
  return { at: h.at.toISOString(), type: h.type, agentId: h.agentId, detail: h.detail };
}

export function attemptView(a: AttemptRow): Record<string, unknown> {
  return {
    attemptNo: a.attemptNo,
    agentId: a.agentId,
    outcome: a.outcome,
    cause: a.cause,
    startedAt: a.startedAt.toISOString(),
    endedAt: a.endedAt?.toISOString() ?? null,
  };
}

export function agentView(admin: AdminOperations, a: AgentState): Record<string, unknown> {
  const now = admin.now();
  return {
    id: a.id,
    name: a.name,
    endpoint: a.endpoint,
    queues: a.queues.map((q) => q.queueId),
    loggedIn: a.loggedIn,
    paused: a.paused,
    deviceState: a.deviceState,
    onPluginCall: a.onPluginCall,
    available: isAgentAvailable(a, now),
    wrapUpUntil: a.wrapUpUntil > now ? new Date(a.wrapUpUntil).toISOString() : null,
    previewCallbackId: admin.activePreviewOf(a.id)?.callbackId ?? null,
  };
}

export function queueView(admin: AdminOperations, id: string): Record<string, unknown> | undefined {
  const config = admin.queueConfig(id);
  const figures = admin.queueFigures(id);
  if (!config || !figures) return undefined;
  return {
    id,
    name: config.name ?? id,
    priority: config.priority,
    overflow: { maxWaiting: config.overflow.maxWaiting ?? null, maxEstimatedWaitSec: config.overflow.maxEstimatedWaitSec ?? null },
    offer: config.offer,
    maxAttempts: config.maxAttempts,
    retryMinGapSec: config.retryMinGapSec,
    wrapUpSec: config.wrapUpSec,
    outboundCallerId: config.outboundCallerId,
    live: {
      waiting: figures.waiting,
      callers: figures.callers,
      pendingCallbacks: figures.callbacks,
      estimatedWaitSec: figures.estimatedWaitSec,
      agentsStaffed: figures.agentsStaffed,
      agentsAvailable: figures.agentsAvailable,
    },
  };
}
