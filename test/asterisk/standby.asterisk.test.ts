import { expect } from 'chai';
import { channelOf } from '../../src/asterisk-lab/observer';
import { PluginProcess } from '../../src/asterisk-lab/plugin-process';
import { PROMPTS } from '../../src/calls/prompts';
import { adoptionChecks, asteriskFaultsConfig, callerChannel, callerPressingOne } from '../../src/faults/asterisk-scenarios';
import { describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Hot standby on a real Asterisk (issue 12): the leader of a standby group is killed with -9 while
 * a prompt plays to a held caller; the standby takes the lead and adopts the caller by the same
 * rules as a restarted process (src/faults/asterisk-scenarios.ts, adoptionChecks). Its own file so
 * the kill -9 stories in faults.asterisk.test.ts stay within their time budget.
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
