import { Logger } from '../logging/logger';
import { AmiEvent, AmiFields } from './ami-messages';

/**
 * Agent presence that ARI does not expose, read from AMI:
 *
 * 1. Presence state (do-not-disturb, away, ...), e.g. set by a phone's DND key through
 *    `Set(PRESENCE_STATE(CustomPresence:1001)=dnd,,)`.
 *    - Event `PresenceStateChange`: Presentity, Status, Subtype, Message (class CALL).
 *      https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/PresenceStateChange
 *    - Action `PresenceState` (Provider: <presentity>) at (re)connect. Its success answer carries
 *      `State`, optional `Subtype`, and `Message` twice (first "Presence State", then the custom
 *      text, deprecated) plus `PresenceMessage` (main/manager.c action_presencestate();
 *      https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Actions/PresenceState).
 *      Note: `PresenceStatus` is a different thing (an *event* for hint changes), not used here.
 *    - Values: not_set | unavailable | available | away | xa | chat | dnd (PRESENCE_STATE() docs);
 *      `invisible` is accepted too.
 * 2. app_queue membership, so administrators who already log agents in and pause them on their
 *    phones (AddQueueMember / PauseQueueMember / QueuePause) keep doing so.
 *    - Events `QueueMemberAdded`, `QueueMemberRemoved`, `QueueMemberPause`, `QueueMemberStatus`:
 *      Queue, MemberName, Interface, StateInterface, Paused, PausedReason (class AGENT; since
 *      12.x). https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/QueueMemberPause
 *      (and .../QueueMemberAdded, .../QueueMemberStatus). Asterisk 12/13 also sent `Reason` on
 *      QueueMemberPause; it is used when PausedReason is absent.
 *    - Action `QueueStatus` at (re)connect: `EventList: start`, then per queue `QueueParams` and
 *      per member `QueueMember` with Queue, **Name**, **Location** (not MemberName/Interface),
 *      StateInterface, Paused, PausedReason, then `QueueStatusComplete` (app_queue.c
 *      manager_queues_status()).
 *    A member is matched on its interface (Interface / Location) or, failing that, its
 *    StateInterface: with `Local/1001@from-queue/n` members the phone is the StateInterface.
 *
 * Output is narrow and typed: {@link PresenceUpdate}, only on change. The connection and the
 * start-up reads are in ami-presence.ts.
 */

export type PresenceState = 'available' | 'dnd' | 'away' | 'xa' | 'chat' | 'unavailable' | 'not_set' | 'invisible';

const PRESENCE_STATES: ReadonlySet<string> = new Set(['available', 'dnd', 'away', 'xa', 'chat', 'unavailable', 'not_set', 'invisible']);

/**
 * Whether a presence lets the agent take calls. DND, away, extended away and unavailable do not.
 * not_set (nobody set a presence) and invisible (present, hidden from others) do not block: the
 * device state from ARI still decides.
 */
export function presenceAllowsCalls(presence: PresenceState): boolean {
  return presence === 'available' || presence === 'chat' || presence === 'not_set' || presence === 'invisible';
}

/** How one plugin agent is found in AMI. Both optional: map only what the site uses. */
export interface AgentAmiMapping {
  /** Presence provider, e.g. `CustomPresence:1001`. */
  presentity?: string;
  /** app_queue member interface, e.g. `PJSIP/1001` (or its StateInterface). */
  queueInterface?: string;
}

/** agentId (the plugin's) -> mapping. */
export type AgentAmiMap = Readonly<Record<string, AgentAmiMapping>>;

export type UpdateSource = 'startup' | 'event';

export type PresenceUpdate =
  | {
      kind: 'presence';
      agentId: string;
      presentity: string;
      presence: PresenceState;
      /** {@link presenceAllowsCalls}: false for dnd / away / xa / unavailable. */
      available: boolean;
      message?: string;
      source: UpdateSource;
    }
  | {
      kind: 'queue_member';
      agentId: string;
      /** The configured queueInterface of the agent. */
      agentInterface: string;
      queue: string;
      /** Member of the app_queue queue (false after QueueMemberRemoved / absent at sync). */
      loggedIn: boolean;
      paused: boolean;
      pausedReason?: string;
      source: UpdateSource;
    };

/** Everything known of one agent, folded: what the lead's AgentDirectory needs. */
export interface AgentPresenceSummary {
  presence?: PresenceState;
  /** False when the presence blocks calls (dnd / away / xa / unavailable). */
  presenceAllowsCalls: boolean;
  /** Member of at least one app_queue queue (undefined: no queue information). */
  loggedIn?: boolean;
  /** Paused in every queue it is a member of (undefined: no queue information). */
  paused?: boolean;
}

interface MemberState {
  loggedIn: boolean;
  paused: boolean;
  pausedReason?: string;
}

function isTrue(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

export interface PresenceTrackerOptions {
  agents: AgentAmiMap;
  /**
   * app_queue queues to watch. When given, only these are reported, QueueStatus is asked per
   * queue, and a mapped agent absent from a watched queue at (re)sync is reported logged out of it.
   * When not given, all queues are reported and only agents seen before are reported logged out.
   */
  queues?: readonly string[];
  logger: Logger;
}

/** Pure state: AMI events / answers in, {@link PresenceUpdate}s out (only changes). */
export class PresenceTracker {
  private readonly log: Logger;
  private readonly byPresentity = new Map<string, { agentId: string; presentity: string }>();
  private readonly byInterface = new Map<string, { agentId: string; iface: string }>();
  private readonly watched: ReadonlySet<string> | undefined;
  private readonly presence = new Map<string, { presence: PresenceState; message?: string }>();
  /** key: agentId + '\u0000' + queue */
  private readonly members = new Map<string, MemberState>();
  /** Member keys seen since the current sync started (snapshot rows and live events alike). */
  private syncSeen: Set<string> | undefined;

  constructor(private readonly opts: PresenceTrackerOptions) {
    this.log = opts.logger;
    for (const [agentId, m] of Object.entries(opts.agents)) {
      if (m.presentity) this.byPresentity.set(m.presentity.toLowerCase(), { agentId, presentity: m.presentity });
      if (m.queueInterface) this.byInterface.set(m.queueInterface.toLowerCase(), { agentId, iface: m.queueInterface });
    }
    this.watched = opts.queues ? new Set(opts.queues) : undefined;
  }

  /** Presentities to read with `PresenceState` at (re)connect. */
  presentities(): string[] {
    return [...this.byPresentity.values()].map((p) => p.presentity);
  }

  /** Whether any agent is mapped to an app_queue interface (else QueueStatus is skipped). */
  usesQueues(): boolean {
    return this.byInterface.size > 0;
  }

  /** Queues to ask QueueStatus for, or undefined for all. */
  watchedQueues(): string[] | undefined {
    return this.watched ? [...this.watched] : undefined;
  }

  /** An unsolicited AMI event. */
  handleEvent(event: AmiEvent): PresenceUpdate[] {
    const f = event.fields;
    switch (event.name) {
      case 'PresenceStateChange':
        return this.applyPresence(f.presentity, f.status, f.message, 'event');
      case 'QueueMemberAdded':
        return this.applyMember(f, { loggedIn: true, paused: isTrue(f.paused), pausedReason: nonEmpty(f.pausedreason) }, 'event');
      case 'QueueMemberRemoved':
        return this.applyMember(f, { loggedIn: false, paused: false }, 'event');
      case 'QueueMemberPause':
      case 'QueueMemberStatus': {
        const paused = isTrue(f.paused);
        return this.applyMember(
          f,
          { loggedIn: true, paused, pausedReason: paused ? nonEmpty(f.pausedreason ?? f.reason) : undefined },
          'event',
        );
      }
      default:
        return [];
    }
  }

  /** The success answer to `Action: PresenceState` / `Provider: <presentity>`. */
  handlePresenceStateResponse(presentity: string, response: AmiFields): PresenceUpdate[] {
    // `Message` is first "Presence State" (the response's own), the custom text is PresenceMessage.
    return this.applyPresence(presentity, response.state, response.presencemessage, 'startup');
  }

  /** Call before a (re)sync's QueueStatus; then feed rows with handleQueueStatusRow and finish with endQueueSync. */
  beginQueueSync(): void {
    this.syncSeen = new Set();
  }

  /** One event of a QueueStatus answer (QueueParams rows are ignored). */
  handleQueueStatusRow(event: AmiEvent): PresenceUpdate[] {
    if (event.name !== 'QueueMember') return [];
    const f = event.fields;
    const paused = isTrue(f.paused);
    // QueueStatus names the fields Name/Location where the live events say MemberName/Interface.
    const fields: AmiFields = { ...f, interface: f.location ?? f.interface ?? '', membername: f.name ?? f.membername ?? '' };
    return this.applyMember(fields, { loggedIn: true, paused, pausedReason: paused ? nonEmpty(f.pausedreason) : undefined }, 'startup');
  }

  /**
   * End of a successful sync over `queues` (undefined: all queues were listed). Memberships known
   * before but not listed are gone (removed while we were not listening); with watched queues,
   * every mapped agent not listed in a watched queue is reported logged out of it.
   */
  endQueueSync(): PresenceUpdate[] {
    const seen = this.syncSeen ?? new Set<string>();
    this.syncSeen = undefined;
    const out: PresenceUpdate[] = [];
    const candidates = new Set<string>();
    for (const [key, state] of this.members) if (state.loggedIn) candidates.add(key);
    if (this.watched) {
      for (const { agentId } of this.byInterface.values()) for (const q of this.watched) candidates.add(this.key(agentId, q));
    }
    for (const key of candidates) {
      if (seen.has(key)) continue;
      const [agentId = '', queue = ''] = key.split('\u0000');
      if (this.watched && !this.watched.has(queue)) continue;
      const iface = this.interfaceOf(agentId);
      if (iface === undefined) continue;
      out.push(...this.setMember(agentId, iface, queue, { loggedIn: false, paused: false }, 'startup'));
    }
    return out;
  }

  /** Sync failed half-way: forget what was seen, keep the state. */
  abortQueueSync(): void {
    this.syncSeen = undefined;
  }

  summary(agentId: string): AgentPresenceSummary {
    const p = this.presence.get(agentId);
    const memberships = [...this.members.entries()].filter(([k, s]) => k.startsWith(`${agentId}\u0000`) && s.loggedIn).map(([, s]) => s);
    const anyQueueInfo = [...this.members.keys()].some((k) => k.startsWith(`${agentId}\u0000`));
    return {
      presence: p?.presence,
      presenceAllowsCalls: p ? presenceAllowsCalls(p.presence) : true,
      loggedIn: anyQueueInfo ? memberships.length > 0 : undefined,
      paused: anyQueueInfo ? memberships.length > 0 && memberships.every((s) => s.paused) : undefined,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private applyPresence(
    presentity: string | undefined,
    status: string | undefined,
    message: string | undefined,
    source: UpdateSource,
  ): PresenceUpdate[] {
    if (!presentity) return [];
    const agent = this.byPresentity.get(presentity.toLowerCase());
    if (!agent) return [];
    const value = (status ?? '').trim().toLowerCase();
    if (!PRESENCE_STATES.has(value)) {
      this.log.warn('ami presence with unknown status ignored', { presentity, status });
      return [];
    }
    const presence = value as PresenceState;
    const msg = nonEmpty(message);
    const prev = this.presence.get(agent.agentId);
    if (prev && prev.presence === presence && prev.message === msg) return [];
    this.presence.set(agent.agentId, { presence, message: msg });
    const update: PresenceUpdate = {
      kind: 'presence',
      agentId: agent.agentId,
      presentity: agent.presentity,
      presence,
      available: presenceAllowsCalls(presence),
      source,
    };
    if (msg !== undefined) update.message = msg;
    return [update];
  }

  private applyMember(f: AmiFields, next: MemberState, source: UpdateSource): PresenceUpdate[] {
    const queue = f.queue;
    if (!queue) return [];
    if (this.watched && !this.watched.has(queue)) return [];
    const agent = this.findAgentByInterface(f.interface ?? f.location, f.stateinterface);
    if (!agent) return [];
    const key = this.key(agent.agentId, queue);
    this.syncSeen?.add(key);
    return this.setMember(agent.agentId, agent.iface, queue, next, source);
  }

  private setMember(agentId: string, iface: string, queue: string, next: MemberState, source: UpdateSource): PresenceUpdate[] {
    const key = this.key(agentId, queue);
    const prev = this.members.get(key);
    if (prev && prev.loggedIn === next.loggedIn && prev.paused === next.paused && prev.pausedReason === next.pausedReason) return [];
    this.members.set(key, next);
    const update: PresenceUpdate = {
      kind: 'queue_member',
      agentId,
      agentInterface: iface,
      queue,
      loggedIn: next.loggedIn,
      paused: next.paused,
      source,
    };
    if (next.pausedReason !== undefined) update.pausedReason = next.pausedReason;
    return [update];
  }

  private findAgentByInterface(
    iface: string | undefined,
    stateInterface: string | undefined,
  ): { agentId: string; iface: string } | undefined {
    if (iface) {
      const hit = this.byInterface.get(iface.toLowerCase());
      if (hit) return hit;
    }
    if (stateInterface) return this.byInterface.get(stateInterface.toLowerCase());
    return undefined;
  }

  private interfaceOf(agentId: string): string | undefined {
    return this.opts.agents[agentId]?.queueInterface;
  }

  private key(agentId: string, queue: string): string {
    return `${agentId}\u0000${queue}`;
  }
}
