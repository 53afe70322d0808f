import { Knex } from 'knex';
import { DirectCallRecord } from './callback-records';

/** A direct_calls row as pg returns it. */
interface DirectCallRow {
  channel_id: string;
  agent_id: string | null;
  dialled: string;
  caller_number: string | null;
  caller_name: string | null;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  outcome: string | null;
  reason: string | null;
  cause: number | null;
  callback_id: string | null;
}

/** Where a call to an agent's personal number is recorded, for reports: who called, how it ended. */
export class DirectCallStore {
  constructor(private readonly db: Knex) {}

  /** One row per direct call, written when it starts and completed when it ends. */
  async recordDirectCall(row: DirectCallRecord): Promise<void> {
    await this.db('direct_calls')
      .insert({
        channel_id: row.channelId,
        agent_id: row.agentId ?? null,
        dialled: row.dialled,
        caller_number: row.callerNumber ?? null,
        caller_name: row.callerName ?? null,
        started_at: row.startedAt,
        answered_at: row.answeredAt ?? null,
        ended_at: row.endedAt ?? null,
        outcome: row.outcome ?? null,
        reason: row.reason ?? null,
        cause: row.cause ?? null,
        callback_id: row.callbackId ?? null,
      })
      .onConflict('channel_id')
      .merge();
  }

  async directCall(channelId: string): Promise<DirectCallRecord | undefined> {
    const r = (await this.db('direct_calls').where({ channel_id: channelId }).first()) as DirectCallRow | undefined;
    if (!r) return undefined;
    return {
      channelId: r.channel_id,
      agentId: r.agent_id,
      dialled: r.dialled,
      callerNumber: r.caller_number,
      callerName: r.caller_name,
      startedAt: r.started_at,
      answeredAt: r.answered_at,
      endedAt: r.ended_at,
      outcome: r.outcome,
      reason: r.reason,
      cause: r.cause,
      callbackId: r.callback_id,
    };
  }
}
