import { expect } from 'chai';
import path from 'node:path';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { PluginProcess } from '../../tools/support/plugin-process';
import { PROMPTS } from '../../src/calls/prompts';
import { adoptionChecks } from '../../tools/faults/asterisk-scenarios';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Hot standby on the real Asterisk (issue 12): two plugin processes with the same config on one
 * Asterisk; only the leader of the group's PostgreSQL advisory lock has the Stasis app. The
 * leader is killed with -9 while the offer prompt plays to a held caller. The standby must take
 * the app, adopt the caller where it waits (same queue entry, same place), stop the dead
 * process's prompt by its id, and serve the caller's 1 with a confirmation after the commit.
 * The simulator run (`npm run faults -- --standby`) repeats this ten times for the figures;
 * this is the one that says the real Asterisk agrees.
 */
describeOnAsterisk('real Asterisk: hot standby', function () {
  this.timeout(120_000);

  it('the leader killed -9 while the offer plays: the standby takes over, the caller keeps the place and books after the takeover', async () => {
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskStoryConfig({ agents: [] }) }, async (lab) => {
      const leader = lab.plugin as PluginProcess;
      const standby = PluginProcess.start({
        configFile: lab.configFile,
        env: lab.pluginEnv({ INSTANCE_ID: 'lab-standby' }),
        logFile: path.join(lab.dir, 'standby.log'),
      });
      try {
        await standby.waitForLog(
          (l) => /another process leads this group/.test(String(l.message)),
          30_000,
          'the standby waiting for the lead',
        );
        const number = '+15551239001';
        // Presses 1 at 10 s: after the takeover, while the standby serves.
        const caller = await lab.call(DID.support, { from: number, steps: [{ wait: 10_000 }, { dtmf: '1' }, { waitForBye: 40_000 }] });
        const ch = (await lab.observer.waitFor((e) => e.raw.channel?.caller?.number === number, 20_000, `a channel from ${number}`)).raw
          .channel?.id as string;
        const offer = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer,
          20_000,
          'the offer playing',
        );
        const placeBefore = (await lab.db('queue_entries').where({ channel_id: ch }).whereNull('closed_at')) as {
          id: string;
          arrived_at: Date;
          seq: string;
          instance_id: string;
        }[];
        expect(placeBefore, 'the caller has a stored place').to.have.length(1);
        expect(placeBefore[0]?.instance_id).to.equal('lab');

        const killedAt = Date.now();
        leader.kill();
        await leader.exited;
        await standby.waitForLog((l) => l.message === 'leading the standby group', 15_000, 'the standby leading');
        const ledAt = Date.now();
        await standby.ready(15_000);
        // The dead process's prompt, stopped by the standby by its deterministic id: Asterisk's own
        // timestamp of the standby's first act on the adopted caller.
        const stopped = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackFinished' && channelOf(e) === ch && e.raw.playback?.id === offer.raw.playback?.id,
          15_000,
          "the dead leader's offer stopped",
        );
        const confirm = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm,
          30_000,
          'the confirmation from the standby',
        );

        const rows = (await lab.db('callback_requests').where({ customer_number: number })) as {
          status: string;
          requested_at: Date;
          arrived_at: Date;
        }[];
        expect(rows, 'one stored callback').to.have.length(1);
        expect(new Date(rows[0]?.requested_at).getTime(), 'committed before the confirmation').to.be.at.most(confirm.at + 1);
        expect(new Date(rows[0]?.arrived_at).getTime(), "the callback keeps the caller's arrival").to.equal(
          new Date(placeBefore[0]?.arrived_at).getTime(),
        );
        // The entry is closed alongside the confirmation, not before it (nobody waits on it).
        let entry = (await lab.db('queue_entries').where({ id: placeBefore[0]?.id }).first()) as {
          instance_id: string;
          close_reason: string | null;
          seq: string;
        };
        for (let i = 0; i < 50 && entry.close_reason === null; i++) {
          await new Promise((r) => setTimeout(r, 100));
          entry = (await lab.db('queue_entries').where({ id: placeBefore[0]?.id }).first()) as typeof entry;
        }
        expect(entry.instance_id, 'adopted by the standby').to.equal('lab-standby');
        expect(entry.seq, 'same place').to.equal(placeBefore[0]?.seq);
        expect(entry.close_reason).to.equal('callback_booked');
        // Never hung up by the takeover: the only hang-up is after the confirmation.
        const hangups = lab.observer.find((e) => e.type === 'ChannelHangupRequest' && channelOf(e) === ch);
        expect(
          hangups.every((h) => h.at >= confirm.at),
          'no hang-up before the confirmation',
        ).to.equal(true);
        // Kept in its holding bridge by the standby: never taken out and put back (a break in the music).
        expect(standby.lines.some((l) => l.message === 'adopted caller kept in its holding bridge' && l.callId === ch)).to.equal(true);
        expect(adoptionChecks(standby, lab.observer.events, killedAt).holding_bridge_reentered).to.deep.equal([]);
        expect(await caller.finished(40_000), `SIPp: ${caller.errors()}`).to.equal(0);
        expect(caller.stats()).to.include({ successful: 1, failed: 0 });
        console.log(
          `      (takeover on the real Asterisk: kill -9 -> standby leads ${ledAt - killedAt} ms -> the dead leader's prompt stopped ${stopped.at - killedAt} ms)`,
        );
      } finally {
        await standby.stop();
      }
    });
  });
});
