import { AgentConfig } from '../config/config';
import { AgentState, DeviceState } from '../domain';

const DEVICE_STATES: ReadonlySet<string> = new Set([
  'NOT_INUSE',
  'INUSE',
  'BUSY',
  'INVALID',
  'UNAVAILABLE',
  'RINGING',
  'RINGINUSE',
  'ONHOLD',
  'UNKNOWN',
]);

export function toDeviceState(state: string): DeviceState {
  return DEVICE_STATES.has(state) ? (state as DeviceState) : 'UNKNOWN';
}

/**
 * The agents and what is known about them: configured membership, log-in/pause, the phone's
 * device state from ARI, and the plugin's own knowledge of who it has put on a call.
 */
export class AgentDirectory {
  private readonly byId = new Map<string, AgentState>();
  private readonly byDevice = new Map<string, AgentState>();
  private readonly pauses = new Map<string, Set<'manual' | 'presence' | 'app_queue'>>();

  constructor(agents: readonly AgentConfig[], now: number) {
    for (const a of agents) {
      const state: AgentState = {
        id: a.id,
        name: a.name,
        endpoint: a.endpoint,
        queues: a.queues.map((q) => ({ queueId: q.id, priority: q.priority })),
        personalNumber: a.personalNumber,
        loggedIn: a.loggedIn,
        paused: false,
        deviceState: 'UNKNOWN',
        onPluginCall: false,
        wrapUpUntil: 0,
        idleSince: now,
      };
      this.byId.set(a.id, state);
      this.byDevice.set(a.endpoint, state);
    }
  }

  all(): AgentState[] {
    return [...this.byId.values()];
  }

  get(id: string): AgentState | undefined {
    return this.byId.get(id);
  }

  /** Device names to subscribe to (ARI device names are the endpoint's dial string for PJSIP). */
  deviceNames(): string[] {
    return [...this.byDevice.keys()];
  }

  /** Returns true when the state changed. */
  setDeviceState(device: string, state: string, now: number): boolean {
    const agent = this.byDevice.get(device);
    if (!agent) return false;
    const next = toDeviceState(state);
    if (agent.deviceState === next) return false;
    // Busy on a call of its own (not ours) and back: the idle clock restarts when it frees up.
    if (next === 'NOT_INUSE' && agent.deviceState !== 'UNKNOWN' && !agent.onPluginCall) agent.idleSince = Math.max(agent.idleSince, now);
    agent.deviceState = next;
    return true;
  }

  /** The plugin has put this agent on a call (ringing, preview or bridged). */
  reserve(id: string): void {
    const a = this.byId.get(id);
    if (a) a.onPluginCall = true;
  }

  /** The plugin's call with this agent ended; wrap-up runs from now. */
  release(id: string, now: number, wrapUpMs: number, talked: boolean): void {
    const a = this.byId.get(id);
    if (!a) return;
    a.onPluginCall = false;
    if (talked) {
      a.wrapUpUntil = now + wrapUpMs;
      a.idleSince = now + wrapUpMs;
    }
  }

  setLoggedIn(id: string, loggedIn: boolean): boolean {
    const a = this.byId.get(id);
    if (!a) return false;
    a.loggedIn = loggedIn;
    return true;
  }

  /** Log-in and pause as stored (they outlive restarts and are shared between instances). */
  restorePresence(id: string, loggedIn: boolean, paused: boolean): boolean {
    const a = this.byId.get(id);
    if (!a) return false;
    // Where AMI reports app_queue membership, AMI stays the source of log-in (it overrides).
    if (!this.pauses.get(id)?.has('app_queue')) a.loggedIn = loggedIn;
    return this.setPauseSource(id, 'manual', paused);
  }

  /** Whether the agent paused itself or was paused by an administrator (not by AMI presence). */
  manualPause(id: string): boolean {
    return this.pauses.get(id)?.has('manual') ?? false;
  }

  /** Paused by the agent or an administrator (panel, API, CLI). */
  setPaused(id: string, paused: boolean): boolean {
    return this.setPauseSource(id, 'manual', paused);
  }

  /**
   * Presence and app_queue state from AMI (do-not-disturb, away; logged in / paused in the
   * administrator's app_queue queues). Each source pauses independently: the agent takes calls
   * only when none of them holds a pause.
   */
  applyAmiPresence(id: string, callsAllowed: boolean): boolean {
    return this.setPauseSource(id, 'presence', !callsAllowed);
  }

  applyAmiQueueMembership(id: string, loggedIn: boolean, paused: boolean): boolean {
    const a = this.byId.get(id);
    if (!a) return false;
    a.loggedIn = loggedIn;
    return this.setPauseSource(id, 'app_queue', paused);
  }

  private setPauseSource(id: string, source: 'manual' | 'presence' | 'app_queue', paused: boolean): boolean {
    const a = this.byId.get(id);
    if (!a) return false;
    let set = this.pauses.get(id);
    if (!set) this.pauses.set(id, (set = new Set()));
    if (paused) set.add(source);
    else set.delete(source);
    a.paused = set.size > 0;
    return true;
  }

  /** Why an agent is paused (for the API and logs). */
  pauseSources(id: string): string[] {
    return [...(this.pauses.get(id) ?? [])];
  }
}
