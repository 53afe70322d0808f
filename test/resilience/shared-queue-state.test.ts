import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { storyConfig } from '../../tools/support/story-config';
import { RunningPlugin } from '../../src/plugin';
import { AriSimulator, SimCall } from '../../tools/simulator/ari-simulator';
import { PluginProcess } from '../../tools/support/plugin-process';
import { PROMPTS } from '../../src/calls/prompts';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { sleep, startPluginBox } from '../helpers/plugin-harness';

/**
 * The queue state lives in PostgreSQL: a live caller's place survives a crash of the plugin, an
 * agent's log-in survives a restart, and instances serving different Asterisk servers keep one
 * order (positions count every instance's callers; callbacks go to whichever has a free agent).
 */
const PASSWORD = 'shared-state-pass';
const ADMIN_TOKEN = 'shared-state-admin-token';

function pluginConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...storyConfig({
      queue: { offer: { initialDelaySec: 0.2, intervalSec: 30, thresholdPosition: 0 }, wrapUpSec: 0 },
      callback: { agentRingTimeoutSec: 4, customerRingTimeoutSec: 4, previewDecisionSec: 4, syncIntervalSec: 30, leaseSec: 30 },
    }),
    ...extra,
  };
}

describe('resilience: queue state shared through PostgreSQL', function () {
  this.timeout(90000);
  let database: TestDatabase | undefined;
  const sims: AriSimulator[] = [];
  const children: PluginProcess[] = [];
  const plugins: RunningPlugin[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop().catch(() => undefined);
    for (const p of plugins.splice(0)) await p.stop().catch(() => undefined);
    for (const s of sims.splice(0)) await s.stop();
    await database?.close();
    database = undefined;
  });

  it('a crash does not move a waiting caller back: the restarted plugin gives every caller its stored place', async () => {
    const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 4000, perDigitMs: 10 } });
    sims.push(sim);
    for (const a of ['PJSIP/1001', 'PJSIP/1002']) sim.endpoint(a).setDeviceState('INUSE');
    database = await freshDatabase();
    const env = { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: database.url, INSTANCE_ID: 'restart-test', LOG_LEVEL: 'info' };
    const first = PluginProcess.start({ config: pluginConfig(), env });
    children.push(first);
    await first.ready();
    // One after the other: calls placed at once may reach the queue in either order (the plugin
    // stamps a caller's arrival when it takes the call), and this test is about places kept.
    const callers: SimCall[] = [];
    for (const from of ['+15556660001', '+15556660002', '+15556660003']) {
      const c = sim.call({ from, to: 'queue:support' });
      callers.push(c);
      await c.entered();
      await c.waitFor('mohOn', 3000);
      await sleep(50);
    }
    // The first caller hears the (long) offer prompt when the plugin dies.
    await callers[0]?.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    // The queue's order is the channel's arrival (seq only breaks ties): the inserts themselves
    // may land in either order on a busy machine, which is not a place lost.
    const before = (await database.db('queue_entries').whereNull('closed_at').orderBy(['arrived_at', 'seq'])) as {
      id: string;
      channel_id: string;
      arrived_at: Date;
      seq: string;
    }[];
    expect(before.map((e) => e.channel_id)).to.deep.equal(callers.map((c) => c.id));
    first.kill();
    await first.exited;
    // A caller arriving while no plugin runs is let in by the dialplan only once one runs again.
    const second = PluginProcess.start({ config: pluginConfig(), env });
    children.push(second);
    await second.ready();
    const late = sim.call({ from: '+15556660004', to: 'queue:support' });
    await late.entered();
    await late.waitFor('mohOn', 3000);
    for (const c of callers) expect(c.state, 'no caller was hung up').to.equal('Up');
    // Nothing re-answered an Up channel (a real Asterisk holds that behind the running prompt).
    const answers = sim.requests.filter(
      (r) => r.method === 'POST' && /\/answer$/.test(r.path) && callers.some((c) => r.path.includes(c.id)),
    );
    expect(answers, 'answer requests for the three first callers').to.have.length(3);
    const after = (await database.db('queue_entries').whereNull('closed_at').orderBy(['arrived_at', 'seq'])) as {
      id: string;
      channel_id: string;
      arrived_at: Date;
      seq: string;
    }[];
    expect(after.slice(0, 3).map((e) => [e.id, e.channel_id, e.arrived_at.getTime(), e.seq])).to.deep.equal(
      before.map((e) => [e.id, e.channel_id, e.arrived_at.getTime(), e.seq]),
    );
    expect(after[3]?.channel_id).to.equal(late.id);
    // Agents free up one by one: the callers are served in their original order.
    const served: string[] = [];
    sim.endpoint('PJSIP/1001').manual();
    sim.endpoint('PJSIP/1001').setDeviceState(null);
    for (let i = 0; i < 4; i++) {
      const leg = await sim.endpoint('PJSIP/1001').nextLeg(8000);
      served.push(leg.displayedCaller.number);
      leg.answer();
      await leg.waitFor('inBridge', 5000);
      leg.hangup();
      await sleep(100);
    }
    expect(served).to.deep.equal(['+15556660001', '+15556660002', '+15556660003', '+15556660004']);
    const closed = (await database.db('queue_entries').select('channel_id', 'close_reason').orderBy('seq')) as {
      channel_id: string;
      close_reason: string;
    }[];
    expect(closed.map((e) => e.close_reason)).to.deep.equal(['connected', 'connected', 'connected', 'connected']);
  });

  it("an agent's log-in and pause outlive a restart of the plugin", async () => {
    const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD });
    sims.push(sim);
    database = await freshDatabase();
    const port = 18000 + Math.floor(Math.random() * 2000);
    const config = pluginConfig({
      http: { enabled: true, port },
      api: { tokens: [{ sha256: createHash('sha256').update(ADMIN_TOKEN).digest('hex'), scope: 'admin' }] },
    });
    const env = { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: database.url, INSTANCE_ID: 'presence-test', LOG_LEVEL: 'warn' };
    const api = async (method: string, path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return (await res.json()) as Record<string, unknown>;
    };
    const first = PluginProcess.start({ config, env });
    children.push(first);
    await first.ready();
    expect(await api('POST', '/agents/a1001/logout')).to.include({ loggedIn: false });
    expect(await api('POST', '/agents/a1002/pause')).to.include({ paused: true });
    first.kill();
    await first.exited;
    const second = PluginProcess.start({ config, env });
    children.push(second);
    await second.ready();
    const agents = (await api('GET', '/agents')).agents as { id: string; loggedIn: boolean; paused: boolean }[];
    expect(agents.map((a) => [a.id, a.loggedIn, a.paused])).to.deep.equal([
      ['a1001', false, false],
      ['a1002', true, true],
    ]);
  });

  it('two Asterisk servers, one queue: positions count both, and a callback goes to whichever has a free agent, at once', async () => {
    database = await freshDatabase();
    const start = async (name: string, entity: string, agents: [string, string, string][]) => {
      const box = await startPluginBox({
        instanceId: name,
        asteriskId: entity,
        config: storyConfig({
          agents,
          queue: { offer: { initialDelaySec: 30, intervalSec: 30, thresholdPosition: 0 }, wrapUpSec: 0 },
          callback: { agentRingTimeoutSec: 4, customerRingTimeoutSec: 4, syncIntervalSec: 60 },
        }),
        databaseUrl: (database as TestDatabase).url,
        busyEndpoints: agents.map(([, , endpoint]) => endpoint),
      });
      sims.push(box.sim);
      plugins.push(box.plugin);
      return box;
    };
    const a = await start('box-a', '02:aa:00:00:00:01', [['ann', 'Ann', 'PJSIP/2001']]);
    const b = await start('box-b', '02:bb:00:00:00:02', [['bob', 'Bob', 'PJSIP/2002']]);
    const first = a.sim.call({ from: '+15550000101', to: 'queue:support' });
    await first.entered();
    await first.waitFor('mohOn', 3000);
    await sleep(300);
    const second = b.sim.call({ from: '+15550000102', to: 'queue:support' });
    await second.entered();
    await second.waitFor('mohOn', 3000);
    // B's caller is second in line: A's caller, on the other Asterisk, is ahead of it.
    const deadline = Date.now() + 3000;
    // Each box learns of the other's caller through a PostgreSQL notification: wait for both to have heard.
    const waitingOn = (box: typeof a) => box.plugin.app.queueSnapshot('support')?.waiting ?? 0;
    while (Date.now() < deadline && (waitingOn(a) < 2 || waitingOn(b) < 2)) await sleep(20);
    const onB = b.plugin.app.queueSnapshot('support');
    expect(onB?.waiting).to.equal(2);
    expect(onB?.items[1]?.id).to.equal(second.id);
    expect(a.plugin.app.queueSnapshot('support')?.waiting).to.equal(2);
    // Both callers leave; a callback booked through A's API is dialled by B's free agent.
    first.hangup();
    second.hangup();
    await sleep(300);
    b.sim.endpoint('PJSIP/2002').manual();
    b.sim.endpoint('PJSIP/2002').setDeviceState(null);
    await sleep(200);
    const t0 = Date.now();
    await a.plugin.app.admin.createCallback({ queueId: 'support', number: '+15550000199' });
    const leg = await b.sim.endpoint('PJSIP/2002').nextLeg(3000);
    const latencyMs = Date.now() - t0;
    expect(leg.displayedCaller.number).to.equal('+15550000199');
    // Woken by the notification, not by the 60 s re-read.
    expect(latencyMs).to.be.below(10000);
    expect(a.sim.legs.filter((l) => l.endpointName === 'PJSIP/2001')).to.have.length(0);
  });
});
