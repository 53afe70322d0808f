import { expect } from 'chai';
import { Lab } from '../../tools/asterisk-lab/lab';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { PluginProcess } from '../../tools/support/plugin-process';
import { PROMPTS } from '../../src/calls/prompts';
import {
  adoptionChecks,
  AGENT_ACCEPTING,
  asteriskFaultsConfig,
  bookThroughApi,
  callerChannel,
  callerPressingOne,
  CUSTOMER_TALKING,
  customerTalking,
  isAgentLeg,
  isCustomerLeg,
  login,
} from '../../tools/faults/asterisk-scenarios';
import { describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * kill -9 on a real Asterisk (issue 10): the plugin killed while a prompt plays to held callers,
 * while an agent previews a callback, while the agent and the customer talk, and Asterisk
 * restarted under the plugin. `npm run faults --
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
  return lab
    .db('callback_requests')
    .where({ id })
    .first<{ status: string; attempts: number; claimed_by: string | null }>('status', 'attempts', 'claimed_by');
}

describeOnAsterisk('real Asterisk: kill -9 and restarts (faults)', function () {
  this.timeout(150_000);

  it('kill -9 while the offer plays to held callers: adopted without answer, their prompts stopped, kept in their holding bridges, never hung up, each at its place', async () => {
    await withLab(faultLab, async (lab) => {
      const first = lab.plugin as PluginProcess;
      // Two callers, A before B; they press 1 only from 9 s on, after the restart.
      const [a, b] = ['+15550002001', '+15550002002'];
      const callerA = await lab.call(DID.support, callerPressingOne(a, 9000));
      const chA = await callerChannel(lab, a, 20_000);
      const callerB = await lab.call(DID.support, callerPressingOne(b, 9000));
      const chB = await callerChannel(lab, b, 20_000);
      const offer = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === chB && e.raw.playback?.media_uri === PROMPTS.offer,
        20_000,
        'the offer playing to B',
      );
      const placesBefore = (await lab.db('queue_entries').whereIn('channel_id', [chA, chB]).orderBy('seq')) as {
        id: string;
        channel_id: string;
        arrived_at: Date;
        seq: string;
      }[];
      expect(placesBefore.map((p) => p.channel_id)).to.deep.equal([chA, chB]);
      await sleep(1000);
      const killedAt = await killNow(first);
      const second = await lab.startPlugin();
      // The old prompt (7.7 s long) is stopped by its deterministic id, not left to run out.
      const oldEnd = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackFinished' && e.raw.playback?.id === offer.raw.playback?.id,
        20_000,
        'the old offer ended',
      );
      expect(oldEnd.at - offer.at, 'the old offer stopped before its end').to.be.below(7000);
      // Each caller hears the offer again, presses 1, and is confirmed and hung up after it.
      for (const ch of [chA, chB])
        await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm && e.at > killedAt,
          45_000,
          `the confirmation to ${ch}`,
        );
      expect(await callerA.finished(40_000), callerA.errors()).to.equal(0);
      expect(await callerB.finished(40_000), callerB.errors()).to.equal(0);
      const checks = adoptionChecks(second, lab.observer.events, killedAt);
      expect(checks.adopted.sort()).to.deep.equal([chA, chB].sort());
      expect(checks.answers, 'answer requests for the adopted Up callers').to.equal(0);
      expect(checks.slow_requests, 'requests that waited behind the old prompt').to.deep.equal([]);
      expect(checks.unjustified_hangups, 'callers hung up without their confirmation').to.deep.equal([]);
      expect(checks.holding_bridges_reused).to.equal(2);
      // Still in their holding bridges: kept there, not taken out and put back (trace h).
      expect(checks.holding_bridge_reentered, 'callers taken out of their holding bridge and put back').to.deep.equal([]);
      expect(
        second.lines
          .filter((l) => l.message === 'adopted caller kept in its holding bridge')
          .map((l) => l.callId)
          .sort(),
      ).to.deep.equal([chA, chB].sort());
      expect(checks.old_prompts_stopped).to.be.at.least(2);
      // Their places: the stored ones, not new ones; the callbacks take them (A before B).
      const placesAfter = (await lab.db('queue_entries').whereIn('channel_id', [chA, chB]).orderBy('seq')) as {
        id: string;
        arrived_at: Date;
      }[];
      expect(placesAfter.map((p) => p.id)).to.deep.equal(placesBefore.map((p) => p.id));
      const callbacks = (await lab.db('callback_requests').orderBy([{ column: 'arrived_at' }, { column: 'seq' }])) as {
        customer_number: string;
        arrived_at: Date;
        status: string;
      }[];
      expect(callbacks.map((c) => c.customer_number)).to.deep.equal([a, b]);
      expect(callbacks.map((c) => new Date(c.arrived_at).getTime())).to.deep.equal(
        placesBefore.map((p) => new Date(p.arrived_at).getTime()),
      );
    });
  });

  it('kill -9 while the agent previews, then again while agent and customer talk: the agent call is ended and offered again, the talk goes on, the customer is dialled once, the callback completed', async () => {
    await withLab(faultLab, async (lab) => {
      const first = lab.plugin as PluginProcess;
      const agentPhone = await lab.phone('1001').use(AGENT_ACCEPTING);
      const customer = await lab.customers.use(CUSTOMER_TALKING);
      const id = await bookThroughApi(lab, '+15550002003');
      await login(lab, '1001');

      // Kill 1: the agent's phone is answered and hears the whisper; the customer is not dialled yet.
      const whisper = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && isAgentLeg(channelOf(e)) && e.raw.playback?.media_uri === PROMPTS.whisperIntro,
        30_000,
        'the whisper on the agent leg',
      );
      const agentLeg1 = channelOf(whisper) as string;
      await sleep(300);
      const killed1 = await killNow(first);
      expect(
        lab.observer.find((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id)),
        'customer legs before the first kill',
      ).to.deep.equal([]);
      const second = await lab.startPlugin();
      // The restarted process owns no preview for that leg: Asterisk ends it, and the callback is
      // offered to the agent again on a new leg.
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelDestroyed' && e.raw.channel?.id === agentLeg1 && e.at > killed1,
        20_000,
        'the orphaned agent leg ended',
      );
      const again = await lab.observer.waitFor(
        (e) => e.type === 'ChannelCreated' && isAgentLeg(e.raw.channel?.id) && e.raw.channel?.id !== agentLeg1 && e.at > killed1,
        40_000,
        'a new agent leg',
      );
      expect(
        second.lines.some((l) => l.message === 'reconcile: hanging up a channel no session owns' && l.channelId === agentLeg1),
        'the restarted plugin hung up the old agent leg',
      ).to.equal(true);

      // Kill 2: agent and customer talk in a mixing bridge.
      const entered = await lab.observer.waitForCount(
        (e) =>
          e.type === 'ChannelEnteredBridge' &&
          e.raw.bridge?.bridge_type === 'mixing' &&
          e.at > again.at &&
          (isAgentLeg(channelOf(e)) || isCustomerLeg(channelOf(e))),
        2,
        45_000,
        'agent and customer talking',
      );
      const customerLeg = entered.map((e) => channelOf(e)).find(isCustomerLeg) as string;
      const seen: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const s = await statusOf(lab, id);
          if (seen[seen.length - 1] !== s.status) seen.push(s.status);
          await sleep(50);
        }
      })();
      const killed2 = await killNow(second);
      const third = await lab.startPlugin();
      // The customer talks on and hangs up; the plugin then hangs up the agent.
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelDestroyed' && isAgentLeg(channelOf(e)) && e.at > killed2,
        40_000,
        "the agent's leg ended after the customer left",
      );
      expect(
        third.lines.some((l) => l.message === 'reconcile: two answered legs without a session; keeping them connected'),
        'the talking pair taken over',
      ).to.equal(true);
      const talkEnd = lab.observer.find((e) => e.type === 'ChannelDestroyed' && e.raw.channel?.id === customerLeg);
      expect(talkEnd, 'the customer leg ended once').to.have.length(1);
      await sleep(1000);
      watching = false;
      await watch;
      expect(seen, 'statuses from the second kill on').to.not.include('pending');

      const row = await statusOf(lab, id);
      expect(row, 'the agent-only attempt does not count: the customer was not dialled').to.deep.include({
        status: 'completed',
        attempts: 1,
        claimed_by: null,
      });
      const legs = lab.observer.find((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id)).map((e) => e.raw.channel?.id);
      expect(legs, 'customer legs').to.deep.equal([customerLeg]);
      expect(
        lab.observer.find((e) => e.type === 'Dial' && e.raw.dialstatus === '' && isCustomerLeg(e.raw.peer?.id)).length,
        'dials of the customer',
      ).to.equal(1);
      const attempts = (await lab.db('callback_attempts').where({ callback_id: id }).orderBy('id')) as {
        customer_channel_id: string | null;
        customer_dialed_at: Date | null;
        ended_at: Date | null;
      }[];
      expect(
        attempts.filter((x) => x.customer_dialed_at !== null).map((x) => x.customer_channel_id),
        'attempts that dialled the customer',
      ).to.deep.equal([customerLeg]);
      expect(
        attempts.every((x) => x.ended_at !== null),
        'every attempt ended',
      ).to.equal(true);
      await lab.customers.stop();
      await lab.phone('1001').stop();
      expect(customer.stats(), customer.errors()).to.include({ successful: 1, failed: 0 });
      expect(agentPhone.stats(), agentPhone.errors()).to.include({ successful: 2, failed: 0 });
      const left = await lab.asterisk.ari<unknown[]>('GET', '/channels');
      expect(left.body, 'channels left').to.deep.equal([]);
    });
  });

  it("kill -9 after the customer answered, before the guard's 1: the attempt is taken up, the guard asked again, agent and customer bridged, the customer dialled once", async () => {
    await withLab(faultLab, async (lab) => {
      const first = lab.plugin as PluginProcess;
      const agentPhone = await lab.phone('1001').use(AGENT_ACCEPTING);
      // A customer who presses 1 when asked, and again when asked again after the restart.
      const customer = await lab.customers.use({
        answer: { answerAfterMs: 800 },
        steps: [
          { wait: 5000 },
          { dtmf: '1' },
          { wait: 3500 },
          { dtmf: '1' },
          { wait: 3500 },
          { dtmf: '1' },
          { wait: 3000 },
          { hangup: true },
        ],
      });
      const id = await bookThroughApi(lab, '+15550002004');
      await login(lab, '1001');
      const guard = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && isCustomerLeg(channelOf(e)) && e.raw.playback?.media_uri === PROMPTS.guard,
        45_000,
        'the guard playing to the customer',
      );
      const customerLeg = channelOf(guard) as string;
      const killedAt = await killNow(first);
      const second = await lab.startPlugin();
      expect(
        second.lines.some((l) => l.message === 'reconcile: callback attempt taken up again' && l.customerChannelId === customerLeg),
        'taken up by the restarted plugin',
      ).to.equal(true);
      await lab.observer.waitFor(
        (e) =>
          e.type === 'PlaybackStarted' && channelOf(e) === customerLeg && e.raw.playback?.media_uri === PROMPTS.guard && e.at > killedAt,
        15_000,
        'the guard asked again',
      );
      const entered = await lab.observer.waitForCount(
        (e) =>
          e.type === 'ChannelEnteredBridge' &&
          e.raw.bridge?.bridge_type === 'mixing' &&
          e.at > killedAt &&
          (isAgentLeg(channelOf(e)) || channelOf(e) === customerLeg),
        2,
        20_000,
        'agent and customer bridged',
      );
      expect(entered.map((e) => e.raw.bridge?.id)[0]).to.equal(entered.map((e) => e.raw.bridge?.id)[1]);
      // The customer hangs up after the talk; the plugin then hangs up the agent.
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelDestroyed' && isAgentLeg(channelOf(e)) && e.at > killedAt,
        30_000,
        "the agent's leg ended after the customer left",
      );
      let row = await statusOf(lab, id);
      for (let i = 0; i < 50 && row.status !== 'completed'; i++) {
        await sleep(100);
        row = await statusOf(lab, id);
      }
      expect(row).to.deep.include({ status: 'completed', attempts: 1, claimed_by: null });
      expect(
        lab.observer.find((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id)).map((e) => e.raw.channel?.id),
        'customer legs',
      ).to.deep.equal([customerLeg]);
      const attempts = (await lab.db('callback_attempts').where({ callback_id: id })) as {
        outcome: string;
        customer_answered_at: Date | null;
      }[];
      expect(attempts.map((a) => a.outcome)).to.deep.equal(['answered']);
      expect(attempts[0]?.customer_answered_at, 'the answer stored by the restarted plugin').to.not.equal(null);
      await lab.customers.stop();
      await lab.phone('1001').stop();
      expect(customer.stats(), customer.errors()).to.include({ successful: 1, failed: 0 });
      expect(agentPhone.stats(), agentPhone.errors()).to.include({ successful: 1, failed: 0 });
    });
  });

  it('Asterisk restarted under the plugin: it reconnects by itself and serves the callback stored before, dialling the customer once', async () => {
    await withLab(faultLab, async (lab) => {
      const plugin = lab.plugin as PluginProcess;
      await lab.phone('1001').use(AGENT_ACCEPTING);
      const customer = await lab.customers.use(customerTalking(1000));
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
      await login(lab, '1001');
      const bridged = await lab.observer.waitForCount(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.bridge?.bridge_type === 'mixing' && e.at > restartedAt,
        2,
        45_000,
        'agent and customer bridged on the new Asterisk',
      );
      expect(bridged.map((e) => channelOf(e)).filter(isCustomerLeg)).to.have.length(1);
      const deadline = Date.now() + 30_000;
      let row = await statusOf(lab, before);
      while (row.status !== 'completed' && Date.now() < deadline) {
        await sleep(250);
        row = await statusOf(lab, before);
      }
      expect(row).to.deep.include({ status: 'completed', attempts: 1, claimed_by: null });
      expect(
        lab.observer.find((e) => e.type === 'Dial' && e.raw.dialstatus === '' && isCustomerLeg(e.raw.peer?.id)).length,
        'dials of the customer',
      ).to.equal(1);
      await lab.customers.stop();
      expect(customer.stats(), customer.errors()).to.include({ successful: 1, failed: 0 });
    });
  });
});
