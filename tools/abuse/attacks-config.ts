import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { Attack } from './harness';
import { CallRobot } from '../faults/robot';
import { hangUp, sleep } from './calls';
import { classifyDialled, trunkNumber } from './numbers';
import { AbuseRig, abuseConfig, AGENT_ENDPOINTS, parseRigConfig } from './rig';
import { CHANGE_CHANNEL } from '../../src/store/change-feed';
import { PROMPTS } from '../../src/calls/prompts';

/**
 * Attacks through the configuration and the database: an `external:` overflow action to a
 * forbidden number, callbacks for forbidden numbers written straight into the table (the dial
 * path must check again), and a forged change notification.
 */
function need(rig: AbuseRig | undefined): AbuseRig {
  if (!rig) throw new Error('this attack needs the plan rig');
  return rig;
}

/** Forbidden trunk legs dialled so far on a rig. */
function badLegs(rig: AbuseRig): string[] {
  return rig.sim.legs
    .map((l) => trunkNumber(l.endpointName))
    .filter((n): n is string => n !== undefined && classifyDialled(n) !== 'domestic');
}

/** `external:<number>` as the queue's overflow action: refused at config load, or never dialled. */
export function externalActionAttack(number: string, why: string): Attack {
  return {
    name: `overflow action external:${number}`,
    why,
    expected: 'refused at config load, or the caller stays queued and nothing is dialled',
    timeoutMs: 25_000,
    async run(ctx) {
      const config = abuseConfig({ queue: { overflow: { actions: [{ when: { maxWaiting: 1 }, action: `external:${number}` }] } } });
      try {
        parseRigConfig(config);
      } catch (e) {
        return { outcome: `refused at config load: ${String(e).split('\n')[0]?.slice(0, 120) ?? ''}`, ok: true, refused: true };
      }
      const rig = await ctx.startRig(`external-${number}`, config);
      const call = rig.sim.call({ from: ctx.numbers.domestic(), to: 'queue:support' });
      try {
        await call.entered(5000);
        await sleep(1500);
        const dialled = badLegs(rig);
        return {
          outcome: dialled.length
            ? `dialled ${dialled.join(', ')}`
            : `accepted at load, refused at dial${call.alive ? ' (caller still queued)' : ''}`,
          ok: dialled.length === 0,
          refused: dialled.length === 0,
        };
      } finally {
        hangUp(call);
      }
    },
  };
}

/** Rows the dial-gate plans' plugins find in their table when they start. */
export const INJECTED = ['+19005550123', '+18765550123', '+6834002', '+10116834002', '0116834002'];

/**
 * Seeds forbidden callbacks, as a bug elsewhere (or an administrator's SQL) could leave them:
 * in a queue, or owed by agent a1001 (queue `direct:a1001`) and past the owner window, so that
 * they move to the fallback queue.
 */
export function injectForbidden(where: { queueId: string; ownerAgentId?: string }): (db: Knex) => Promise<void> {
  return async (db) => {
    const past = new Date(Date.now() - 3600_000);
    await db('callback_requests').insert(
      INJECTED.map((n) => ({
        id: randomUUID(),
        queue_id: where.queueId,
        owner_agent_id: where.ownerAgentId ?? null,
        customer_number: n,
        arrived_at: past,
        requested_at: past,
        max_attempts: 1,
      })),
    );
  };
}

async function letAgentsWork(rig: AbuseRig, ms: number, done: () => boolean): Promise<void> {
  const robot = new CallRobot(rig.sim, { agentEndpoints: AGENT_ENDPOINTS, customerEndpoints: [], answerAfterMs: 50, talkMs: 100 });
  robot.start();
  for (const e of AGENT_ENDPOINTS) rig.sim.endpoint(e).setDeviceState(null);
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !done()) await sleep(150);
  } finally {
    robot.stop();
    for (const e of AGENT_ENDPOINTS) rig.sim.endpoint(e).setDeviceState('INUSE');
  }
}

/** A forged change notification announcing a premium callback. */
export function forgedNotifyAttack(): Attack {
  return {
    name: 'forged NOTIFY of a premium callback on the change feed',
    why: 'added (held: a forged NOTIFY cannot make a dial)',
    expected: 'nothing dialled for the forged row; garbage payloads do not crash',
    exclusive: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const row = {
        id: randomUUID(),
        queue_id: 'support',
        customer_number: '+19005550199',
        status: 'pending',
        priority: 0,
        arrived_at: new Date().toISOString(),
        requested_at: new Date().toISOString(),
        attempts: 0,
        max_attempts: 1,
        seq: 1,
      };
      for (const payload of [
        JSON.stringify({ table: 'callback_requests', row }),
        '{"table":',
        'x'.repeat(7000),
        JSON.stringify({ table: '__proto__', row: { polluted: 1 } }),
      ])
        await rig.db.raw('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, payload]);
      await sleep(300);
      await letAgentsWork(rig, 3000, () => rig.sim.legs.some((l) => l.endpointName.includes('19005550199')));
      const dialled = rig.sim.legs.filter((l) => l.endpointName.includes('19005550199')).length;
      return { outcome: dialled ? `dialled ${dialled} time(s)` : 'not dialled', ok: dialled === 0, refused: dialled === 0 };
    },
  };
}

/** The seeded forbidden callbacks (injectForbidden) meet free agents: none may be dialled. */
export function injectedRowsAttack(label: string): Attack {
  return {
    name: `forbidden numbers written straight into callback_requests (${label})`,
    why: 'What to build 1 (the dial path checks again)',
    expected: `refused at the dial: none of the ${INJECTED.length} numbers is dialled`,
    exclusive: true,
    timeoutMs: 25_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const open = async (): Promise<number> =>
        Number(
          (
            await rig
              .db('callback_requests')
              .whereIn('customer_number', INJECTED)
              .whereIn('status', ['pending', 'in_progress'])
              .count<{ n: string }[]>('id as n')
          )[0]?.n ?? 0,
        );
      let settled = false;
      const watcher = (async () => {
        while (!settled) {
          settled = (await open()) === 0;
          await sleep(200);
        }
      })();
      await letAgentsWork(rig, 8000, () => settled);
      settled = true;
      await watcher;
      const dialled = badLegs(rig);
      const agentLegs = AGENT_ENDPOINTS.reduce((n, e) => n + rig.sim.endpoint(e).legs.length, 0);
      const whispered = rig.sim.legs.filter((l) => l.playbacks.some((p) => p.media.includes(PROMPTS.whisperIntro))).length;
      const rows = await rig
        .db('callback_requests')
        .whereIn('customer_number', INJECTED)
        .select<{ status: string; queue_id: string }[]>('status', 'queue_id');
      const states = rows
        .map((r) => `${r.status}@${r.queue_id}`)
        .sort()
        .join(' ');
      return {
        outcome: `${dialled.length ? `dialled ${dialled.join(', ')}` : 'none dialled'} (${agentLegs} agent legs, ${whispered} previews; rows: ${states})`,
        ok: dialled.length === 0,
        refused: dialled.length === 0,
      };
    },
  };
}
