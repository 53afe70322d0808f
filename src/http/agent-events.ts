import { CallMilestone } from '../calls/call-context';
import { AdminOperations } from '../engine/admin-port';

/**
 * Per-agent notifications for the panel: `preview_started` when the agent answers a preview call
 * (the whisper starts), `preview_ended` when it is accepted, skipped, or the agent hangs up. Built
 * from the engine's milestones; a one-second check also ends previews that finished without a
 * milestone (agent hung up during the whisper).
 */
export interface AgentNotice {
  event: 'preview_started' | 'preview_ended';
  callbackId: string;
  agentId: string;
  reason?: string;
}

type Listener = (n: AgentNotice) => void;

const ENDING: Partial<Record<CallMilestone, string>> = {
  agent_accepted: 'accepted',
  agent_declined: 'declined',
  callback_attempt_failed: 'failed',
  callback_completed: 'completed',
};

export class AgentEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** callback id -> agent id of previews notified as started and not yet ended. */
  private readonly open = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(private readonly admin: AdminOperations) {
    this.unsubscribe = admin.onMilestone((name, data) => this.milestone(name, data));
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    this.listeners.clear();
  }

  subscribe(agentId: string, listener: Listener): () => void {
    let set = this.listeners.get(agentId);
    if (!set) this.listeners.set(agentId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(agentId);
    };
  }

  private publish(n: AgentNotice): void {
    for (const l of this.listeners.get(n.agentId) ?? []) l(n);
  }

  private milestone(name: CallMilestone, data: Record<string, unknown>): void {
    const callbackId = typeof data.callbackId === 'string' ? data.callbackId : undefined;
    if (!callbackId) return;
    if (name === 'agent_leg_answered' && typeof data.agentId === 'string') {
      this.open.set(callbackId, data.agentId);
      this.publish({ event: 'preview_started', callbackId, agentId: data.agentId });
      return;
    }
    const reason = ENDING[name];
    const agentId = this.open.get(callbackId);
    if (reason && agentId) {
      this.open.delete(callbackId);
      this.publish({ event: 'preview_ended', callbackId, agentId, reason });
    }
  }

  private sweep(): void {
    for (const [callbackId, agentId] of this.open) {
      if (this.admin.activePreviewOf(agentId)?.callbackId === callbackId) continue;
      this.open.delete(callbackId);
      this.publish({ event: 'preview_ended', callbackId, agentId, reason: 'ended' });
    }
  }
}
