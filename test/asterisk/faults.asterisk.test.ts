import { expect } from 'chai';
import { Lab } from '../../src/asterisk-lab/lab';
import { channelOf } from '../../src/asterisk-lab/observer';
import { PluginProcess } from '../../src/asterisk-lab/plugin-process';
import { PROMPTS } from '../../src/calls/prompts';
import {
  adoptionChecks,
  AGENT_ACCEPTING,
  asteriskFaultsConfig,
  bookThroughApi,
  callerChannel,
  callerPressingOne,
  CUSTOMER_TALKING,
  isAgentLeg,
  isCustomerLeg,
  login,
} from '../../src/faults/asterisk-scenarios';
import { describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * kill -9 on a real Asterisk (issue 10): the plugin killed while a prompt plays to a held caller,
 * while an agent and a customer talk, and Asterisk restarted under the plugin. `npm run faults --
 * --asterisk` runs these and every crash point; these stories pin the rules the first real kill
 * broke. The plugin's ARI requests are read from its debug log (src/ari/ari-client-adapter.ts).
 */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Agent 1001 starts logged out: waiting callers overflow and are offered the callback. */
const faultLab = { agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskFaultsConfig(), http: true };

async function killNow(plugin: PluginProcess): Promise<number> {
  const at = Date.now();
  plugin.kill();
  await plugin.exited;
  return at;
}

async function statusOf(lab: Lab, id: string): Promise<{ status: string; attempts: number; claimed_by: string | null }> {
  return (await lab.db('callback_requests').where({ id }).first('status', 'attempts', 'claimed_by')) as { status: string; attempts: number; claimed_by: string | null };
}

describeOnAsterisk('real Asterisk: kill -9 and restarts (faults)', function () {
  this.timeout(150_000);

  it('kill -9 while the offer plays to held callers: adopted without answer, their prompts stopped, their holding bridges reused, never hung up, each at its place', async () => {
    await withLab(faultLab, async (lab) => {
      const first = lab.plugin as PluginProcess;
      // Two callers, A before B; they press 1 only from 9 s on, after the restart.
      const [a, b] = ['+15550002001', '+15550002002'];
      const callerA = await lab.call(DID.support, callerPressingOne(a, 9000));
      const chA = await callerChannel(lab, a, 20_000);
      const callerB = await lab.call(DID.support, callerPressingOne(b, 9000));
      const chB = await callerChannel(lab, b, 20_000);
      const offer = await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === chB && e.raw.playback?.media_uri === PROMPTS.offer, 20_000, "the offer playing to B");
      const placesBefore = (await lab.db('queue_entries').whereIn('channel_id', [chA, chB]).orderBy('seq')) as { id: string; channel_id: string; arrived_at: Date; seq: string }[];
      expect(placesBefore.map((p) => p.channel_id)).to.deep.equal([chA, chB]);
      await sleep(1000);
      const killedAt = await killNow(first);
      const second = await lab.startPlugin();
      // The old prompt (7.7 s long) is stopped by its deterministic id, not left to run out.
      const oldEnd = await lab.observer.waitFor((e) => e.type === 'PlaybackFinished' && e.raw.playback?.id === offer.raw.playback?.id, 20_000, 'the old offer ended');
      expect(oldEnd.at - offer.at, 'the old offer stopped before its end').to.be.below(7000);
      // Each caller hears the offer again, presses 1, and is confirmed and hung up after it.
      for (const ch of [chA, chB]) await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm && e.at > killedAt, 45_000, `the confirmation to ${ch}`);
      expect(await callerA.finished(40_000), callerA.errors()).to.equal(0);
      expect(await callerB.finished(40_000), callerB.errors()).to.equal(0);
      const checks = adoptionChecks(second, lab.observer.events, killedAt);
      expect(checks.adopted.sort()).to.deep.equal([chA, chB].sort());
      expect(checks.answers, 'answer requests for the adopted Up callers').to.equal(0);
      expect(checks.slow_requests, 'requests that waited behind the old prompt').to.deep.equal([]);
      expect(checks.unjustified_hangups, 'callers hung up without their confirmation').to.deep.equal([]);
      expect(checks.holding_bridges_reused).to.equal(2);
      expect(checks.old_prompts_stopped).to.be.at.least(2);
      // Their places: the stored ones, not new ones; the callbacks take them (A before B).
      const placesAfter = (await lab.db('queue_entries').whereIn('channel_id', [chA, chB]).orderBy('seq')) as { id: string; arrived_at: Date }[];
      expect(placesAfter.map((p) => p.id)).to.deep.equal(placesBefore.map((p) => p.id));
      const callbacks = (await lab.db('callback_requests').orderBy([{ column: 'arrived_at' }, { column: 'seq' }])) as { customer_number: string; arrived_at: Date; status: string }[];
      expect(callbacks.map((c) => c.customer_number)).to.deep.equal([a, b]);
      expect(callbacks.map((c) => new Date(c.arrived_at).getTime())).to.deep.equal(placesBefore.map((p) => new Date(p.arrived_at).getTime()));
    });
  });

  it('kill -9 while agent and customer talk: the talk goes on, the callback is completed and never pending again, the customer is dialled once', async () => {
    await withLab(faultLab, async (lab) => {
      const first = lab.plugin as PluginProcess;
      await lab.phone('1001').use(AGENT_ACCEPTING);
      const customer = await lab.customers.use(CUSTOMER_TALKING);
      const id = await bookThroughApi(lab, '+15550002003');
      await login(lab, '1001');
      const seen: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const s = await statusOf(lab, id);
          if (seen[seen.length - 1] !== s.status) seen.push(s.status);
          await sleep(50);
        }
      })();
      const entered = await lab.observer.waitForCount((e) => e.type === 'ChannelEnteredBridge' && e.raw.bridge?.bridge_type === 'mixing' && (isAgentLeg(channelOf(e)) || isCustomerLeg(channelOf(e))), 2, 45_000, 'agent and customer talking');
      const killedAt = await killNow(first);
      const afterKill = seen.length;
      const second = await lab.startPlugin();
      const customerLeg = entered.map((e) => channelOf(e)).find(isCustomerLeg) as string;
      // The customer talks on and hangs up; the plugin then hangs up the agent.
      await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && isAgentLeg(channelOf(e)) && e.at > killedAt, 40_000, "the agent's leg ended after the customer left");
      await sleep(2000);
      watching = false;
      await watch;
      expect(seen.slice(Math.max(0, afterKill - 1)), `statuses after the kill (all: ${seen.join(' → ')})`).to.not.include('pending');
      const row = await statusOf(lab, id);
      expect(row).to.deep.include({ status: 'completed', attempts: 1, claimed_by: null });
      const legs = new Set(lab.observer.find((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id)).map((e) => e.raw.channel?.id));
      expect([...legs], 'customer legs').to.deep.equal([customerLeg]);
      expect(lab.observer.find((e) => e.type === 'Dial' && e.raw.dialstatus === '' && isCustomerLeg(e.raw.peer?.id)).length, 'dials of the customer').to.equal(1);
      const attempts = (await lab.db('callback_attempts').where({ callback_id: id })) as { customer_channel_id: string; ended_at: Date | null }[];
      expect(attempts.map((x) => x.customer_channel_id)).to.deep.equal([customerLeg]);
      expect(attempts.every((x) => x.ended_at !== null)).to.equal(true);
      // The restarted plugin took the talking pair over in the bridge it was in.
      expect(second.lines.some((l) => l.message === 'reconcile: two answered legs without a session; keeping them connected')).to.equal(true);
      await lab.customers.stop();
      expect(customer.stats(), customer.errors()).to.include({ successful: 1, failed: 0 });
      const left = await lab.asterisk.ari<unknown[]>('GET', '/channels');
      expect(left.body, 'channels left').to.deep.equal([]);
    });
  });

  it('Asterisk restarted under the plugin: it reconnects by itself, serves new calls, and completes the callback stored before', async () => {
    await withLab(faultLab, async (lab) => {
      const plugin = lab.plugin as PluginProcess;
      await lab.phone('1001').use(AGENT_ACCEPTING);
      await lab.customers.use({ ...CUSTOMER_TALKING, steps: [{ wait: 2000 }, { dtmf: '1' }, { wait: 2000 }, { hangup: true }] });
      const before = await bookThroughApi(lab, '+15550002004');
      const restartedAt = Date.now();
      await lab.asterisk.restart();
      // Registered again on the new Asterisk: the plugin's app exists there only through its WebSocket.
      let reconnectedAt = 0;
      while (Date.now() - restartedAt < 60_000) {
        if ((await lab.asterisk.ari('GET', '/applications/direct-callback').catch(() => undefined))?.status === 200) {
          reconnectedAt = Date.now();
          break;
        }
        await sleep(200);
      }
      expect(reconnectedAt, 'the plugin registered its app on the restarted Asterisk').to.be.above(0);
      expect(plugin.running, 'the same plugin process').to.equal(true);
      console.log(`      (plugin reconnected ${reconnectedAt - restartedAt} ms after the restart began)`);
      // A new caller is served: offered, presses 1, is stored and confirmed.
      const number = '+15550002005';
      const caller = await lab.call(DID.support, callerPressingOne(number, 3000));
      const ch = await callerChannel(lab, number, 20_000);
      await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm, 40_000, 'the new caller confirmed');
      expect(await caller.finished(40_000), caller.errors()).to.equal(0);
      // Both callbacks, the one stored before the restart among them, are served.
      await login(lab, '1001');
      const deadline = Date.now() + 90_000;
      let rows: { id: string; status: string }[] = [];
      while (Date.now() < deadline) {
        rows = (await lab.db('callback_requests').select('id', 'status')) as { id: string; status: string }[];
        if (rows.length === 2 && rows.every((r) => r.status === 'completed')) break;
        await sleep(500);
      }
      expect(rows.find((r) => r.id === before)?.status, 'the callback stored before the restart').to.equal('completed');
      expect(rows.map((r) => r.status)).to.deep.equal(['completed', 'completed']);
    });
  });
});

describeOnAsterisk('real Asterisk: hot standby (issue 12)', function () {
  this.timeout(150_000);

  it('the leader killed while a prompt plays: the standby takes over, adopts the caller without answer, and confirms it', async () => {
    await withLab(faultLab, async (lab) => {
      const leader = lab.plugin as PluginProcess;
      const standby = await lab.startPlugin({ env: { INSTANCE_ID: 'lab-standby' }, wait: false });
      await standby.waitForLog((l) => l.message === 'standby: another process leads this group; waiting to take over', 30_000, 'the standby waiting for the lead');
      const number = '+15550002006';
      const caller = await lab.call(DID.support, callerPressingOne(number, 9000));
      const ch = await callerChannel(lab, number, 20_000);
      await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer, 20_000, 'the offer playing');
      await sleep(1000);
      const killedAt = await killNow(leader);
      await standby.ready(30_000);
      await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm && e.at > killedAt, 45_000, 'the confirmation by the new leader');
      expect(await caller.finished(40_000), caller.errors()).to.equal(0);
      const checks = adoptionChecks(standby, lab.observer.events, killedAt);
      expect(checks.adopted).to.deep.equal([ch]);
      expect(checks.answers).to.equal(0);
      expect(checks.slow_requests).to.deep.equal([]);
      expect(checks.unjustified_hangups).to.deep.equal([]);
      expect(checks.holding_bridges_reused).to.equal(1);
      expect(checks.first_request_ms, 'takeover time').to.be.a('number');
      console.log(`      (takeover on the real Asterisk: ${checks.first_request_ms} ms from kill -9 to the new leader's first request about the adopted caller)`);
      expect(checks.first_request_ms as number).to.be.below(20_000);
      const rows = (await lab.db('callback_requests').select('customer_number', 'status')) as { customer_number: string }[];
      expect(rows.map((r) => r.customer_number)).to.deep.equal([number]);
    });
  });
});
