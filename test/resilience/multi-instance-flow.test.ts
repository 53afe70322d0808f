import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../src/config/config';
import { CallRobot } from '../../tools/faults/robot';
import { RunningPlugin, startPlugin } from '../../src/plugin';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { CallbackStore } from '../../src/store/callback-store';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { quietLogger } from '../helpers/plugin-harness';

/**
 * Three plugin instances on one PostgreSQL, each with its own Stasis app name and its own agents,
 * serve one backlog of callbacks with the full preview flow (agent leg, whisper, 1, customer leg,
 * guard, bridge). The store-level race (multi-instance.test.ts) proves 3,000 contended claims; this one
 * proves the dispatch code around them: every customer is dialled exactly once.
 */
describe('resilience: three instances serve one backlog, every customer dialled once', function () {
  this.timeout(120000);
  const PASSWORD = 'multi-instance-pass';
  const CALLBACKS = 24;
  let sim: AriSimulator | undefined;
  let database: TestDatabase | undefined;
  const plugins: RunningPlugin[] = [];
  let robot: CallRobot | undefined;

  after(async () => {
    robot?.stop();
    for (const p of plugins) await p.stop().catch(() => undefined);
    await sim?.stop();
    await database?.close();
  });

  it('completes every callback with one attempt and one customer leg each, shared by the instances', async () => {
    sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 60, perDigitMs: 5 } });
    database = await freshDatabase();
    const store = new CallbackStore(database.db);
    const numbers = Array.from({ length: CALLBACKS }, (_, i) => `+1555777${String(1000 + i)}`);
    for (const [i, number] of numbers.entries()) {
      await store.requestCallback({
        id: randomUUID(),
        queueId: 'support',
        customerNumber: number,
        language: 'en',
        priority: 0,
        arrivedAt: new Date(Date.now() - (CALLBACKS - i) * 1000),
        maxAttempts: 3,
      });
    }
    // The phones are ready (the robot plays agents and customers) before the instances start.
    const agentsOf = (instance: string) =>
      [1, 2].map((n) => ({
        id: `${instance}${n}`,
        name: `Agent ${instance}${n}`,
        endpoint: `PJSIP/3${instance.charCodeAt(0)}${n}`,
        queues: [{ id: 'support' }],
      }));
    const agentEndpoints = ['a', 'b', 'c'].flatMap((i) => agentsOf(i).map((a) => a.endpoint));
    const customerEndpoints = numbers.map((n) => `PJSIP/${n.slice(1)}@trunk`);
    robot = new CallRobot(sim, { agentEndpoints, customerEndpoints, answerAfterMs: 30, talkMs: 100 });
    robot.start();
    for (const instance of ['a', 'b', 'c']) {
      const agents = agentsOf(instance);
      for (const a of agents) sim.endpoint(a.endpoint).setDeviceState('NOT_INUSE');
      const config = parseConfig(
        {
          queues: [{ id: 'support', maxAttempts: 3, retryMinGapSec: 0, wrapUpSec: 0, guard: { enabled: true, timeoutSec: 5 } }],
          agents,
          callback: {
            dialTemplate: 'PJSIP/{number}@trunk',
            agentRingTimeoutSec: 5,
            customerRingTimeoutSec: 5,
            syncIntervalSec: 1,
            leaseSec: 30,
          },
        },
        {
          ARI_URL: sim.url,
          ARI_PASSWORD: PASSWORD,
          ARI_APP: `direct-callback-${instance}`,
          DATABASE_URL: database.url,
          INSTANCE_ID: `instance-${instance}`,
        },
      );
      plugins.push(await startPlugin(config, quietLogger()));
    }
    const deadline = Date.now() + 90000;
    let completed = 0;
    while (Date.now() < deadline) {
      const rows = await database.db('callback_requests').where({ status: 'completed' }).count<{ n: string }[]>({ n: '*' });
      completed = Number(rows[0]?.n ?? 0);
      if (completed === CALLBACKS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(completed, 'callbacks completed').to.equal(CALLBACKS);
    // One attempt per callback (a second one would be a retry after a timeout, which a starved
    // machine can cause), then exactly one customer leg per customer (a second leg within one
    // attempt would be a double dial).
    const attempts = await database
      .db('callback_attempts')
      .select('callback_id')
      .count<{ callback_id: string; n: string }[]>({ n: '*' })
      .groupBy('callback_id');
    expect(attempts).to.have.length(CALLBACKS);
    expect(
      attempts.filter((a) => Number(a.n) !== 1),
      'callbacks with more than one attempt',
    ).to.deep.equal([]);
    for (const endpoint of customerEndpoints) expect(sim.endpoint(endpoint).legs.length, endpoint).to.equal(1);
    // The work was shared: every instance dialled some of it.
    const byInstance = await database
      .db('callback_attempts')
      .select('instance_id')
      .count<{ instance_id: string; n: string }[]>({ n: '*' })
      .groupBy('instance_id');
    expect(byInstance.map((r) => r.instance_id).sort()).to.deep.equal(['instance-a', 'instance-b', 'instance-c']);
    expect(sim.violations).to.deep.equal([]);
  });
});
