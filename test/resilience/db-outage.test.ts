import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { startRig, Rig } from '../helpers/plugin-harness';
import { cutDatabase, restoreDatabase } from '../helpers/database-faults';
import { sleep, until } from './in-process-rig';

/**
 * PostgreSQL unreachable for the plugin: its backends are terminated and new connections refused
 * (ALTER DATABASE ... ALLOW_CONNECTIONS false). Live calls keep flowing through the in-memory
 * queue, no confirmation is given, and once the database is back the pool reconnects by itself.
 */

describe('resilience: PostgreSQL outage', function () {
  this.timeout(60000);
  let rig: Rig | undefined;
  let cut: string | undefined;

  afterEach(async () => {
    if (cut) await restoreDatabase(cut).catch(() => undefined);
    cut = undefined;
    await rig?.stop();
    rig = undefined;
  });

  it('during the outage: no confirmation, the caller stays queued and reaches an agent; afterwards callbacks work again', async () => {
    rig = await startRig();
    const r = rig;
    const name = r.database.scratch.name;
    const early = r.sim.call({ from: '+15558880001', to: 'queue:support' });
    await early.entered();
    await early.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    cut = name;
    await cutDatabase(name);
    // 1 during the outage: the store fails, the caller is told so and keeps the place.
    await early.pressDtmf('1');
    await early.waitForPlayback((m) => m === PROMPTS.storeFailed, 10000);
    expect(early.playbacks.some((p) => p.media.includes(PROMPTS.confirm))).to.equal(false);
    expect(early.alive).to.equal(true);
    expect(r.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
    // A live caller is still connected to a free agent while the database is down.
    r.sim.endpoint('PJSIP/1001').answersAfter(100);
    r.sim.endpoint('PJSIP/1001').setDeviceState(null);
    await r.waitForMilestone('caller_connected', (d) => d.channelId === early.id, 8000);
    const leg = r.sim.endpoint('PJSIP/1001').legs[0];
    expect(leg?.displayedCaller.number).to.equal('+15558880001');
    leg?.hangup();
    await early.waitFor('hungup', 5000);
    // Back: the pool reconnects without a restart, and 1 is stored and confirmed again.
    await restoreDatabase(name);
    cut = undefined;
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    const later = r.sim.call({ from: '+15558880002', to: 'queue:support' });
    await later.entered();
    await later.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    let stored = false;
    for (let i = 0; i < 10 && !stored; i++) {
      await later.pressDtmf('1');
      await sleep(700);
      stored = later.playbacks.some((p) => p.media.includes(PROMPTS.confirm));
      if (!stored)
        await until('another offer', () => later.playbacks.filter((p) => p.media.includes(PROMPTS.offer)).length > i + 1, 5000).catch(
          () => undefined,
        );
    }
    expect(stored, 'a callback is confirmed after the database came back').to.equal(true);
    await later.waitFor('hungup', 5000);
    const open = await r.store.listOpen();
    expect(open.map((c) => c.customerNumber)).to.deep.equal(['+15558880002']);
    expect(r.logLines.some((l) => l.includes('callback could not be stored'))).to.equal(true);
  });
});
