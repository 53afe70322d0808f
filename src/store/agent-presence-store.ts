import { Knex } from 'knex';
import { announceChange } from './change-feed';

/**
 * What an agent, an administrator or a feature code set about an agent (logged in, paused): kept
 * across restarts and shared by every instance, so an agent never silently stops getting calls
 * because a plugin process restarted. Presence read from AMI is not stored: AMI stays its source.
 */
export type PresenceSource = 'api' | 'panel' | 'feature_code' | 'cli';

export interface AgentPresence {
  agentId: string;
  loggedIn: boolean;
  paused: boolean;
  changedBy: string;
  updatedAt: Date;
}

interface Row {
  agent_id: string;
  logged_in: boolean;
  paused: boolean;
  changed_by: string;
  updated_at: Date | string;
}

export function toAgentPresence(r: Row): AgentPresence {
  return {
    agentId: r.agent_id,
    loggedIn: r.logged_in,
    paused: r.paused,
    changedBy: r.changed_by,
    updatedAt: r.updated_at instanceof Date ? r.updated_at : new Date(r.updated_at),
  };
}

export class AgentPresenceStore {
  constructor(private readonly db: Knex) {}

  async all(): Promise<AgentPresence[]> {
    return ((await this.db('agent_presence').select('*')) as Row[]).map(toAgentPresence);
  }

  /** Sets what changed (log-in, pause or both); the row is created from `base` the first time. */
  async set(
    agentId: string,
    change: { loggedIn?: boolean; paused?: boolean },
    base: { loggedIn: boolean; paused: boolean },
    source: PresenceSource,
  ): Promise<AgentPresence> {
    const loggedIn = change.loggedIn ?? base.loggedIn;
    const paused = change.paused ?? base.paused;
    const rows = await this.db.raw<{ rows: Row[] }>(
      `INSERT INTO agent_presence (agent_id, logged_in, paused, changed_by) VALUES (:agentId, :loggedIn, :paused, :source)
       ON CONFLICT (agent_id) DO UPDATE SET
         logged_in = CASE WHEN :setLoggedIn THEN EXCLUDED.logged_in ELSE agent_presence.logged_in END,
         paused = CASE WHEN :setPaused THEN EXCLUDED.paused ELSE agent_presence.paused END,
         changed_by = EXCLUDED.changed_by, updated_at = now()
       RETURNING *`,
      { agentId, loggedIn, paused, source, setLoggedIn: change.loggedIn !== undefined, setPaused: change.paused !== undefined },
    );
    const row = rows.rows[0];
    announceChange(this.db, 'agent_presence', row);
    return toAgentPresence(row);
  }
}
