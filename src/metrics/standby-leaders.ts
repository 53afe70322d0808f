import { Knex } from 'knex';
import { advisoryKey } from '../cluster/leadership';

/**
 * Whether each standby group (a row of `leadership`) has a leader now: a group leads while some
 * session holds its advisory lock (cluster/leadership.ts). The row outlives a dead leader, the
 * lock does not. pg_locks shows a bigint key as its high half (classid) and low half (objid),
 * with objsubid 1.
 */
export async function readStandbyLeaders(db: Knex, timeoutMs: number): Promise<Map<string, boolean>> {
  const groups = await db('leadership').select<{ group_key: string }[]>('group_key').timeout(timeoutMs, { cancel: true });
  if (groups.length === 0) return new Map();
  const held = await db
    .raw<{ rows: { key: string }[] }>(
      `SELECT ((classid::bigint << 32) | objid::bigint)::text AS key FROM pg_locks
       WHERE locktype = 'advisory' AND objsubid = 1 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    )
    .timeout(timeoutMs, { cancel: true });
  const keys = new Set(held.rows.map((x) => BigInt.asIntN(64, BigInt(x.key)).toString()));
  return new Map(groups.map((g) => [g.group_key, keys.has(advisoryKey(g.group_key))]));
}
