import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { AriClientCallControl } from '../../src/ari/ari-client-adapter';
import { AriConnection } from '../../src/ari/ari-connection';
import { AriEvent } from '../../src/ari/ari-events';
import { AsteriskServer } from '../../tools/asterisk-lab/asterisk-server';
import { ARI_APP, connectAri, describeOnAsterisk, startBareAsterisk } from './lab-suite';

/**
 * What the reconciler relies on after a WebSocket gap (src/engine/reconciler.ts, step 2): it asks
 * `GET /playbacks/{id}` whether a prompt requested before the gap is still there, instead of
 * stopping it (a stop cut a confirmation short, and is ignored during `digits:` anyway). Measured
 * here on the real Asterisk through the product's adapter: 200 while the playback plays, 404
 * ("Playback not found", read as false) once its PlaybackFinished has been sent.
 *
 * The channel: a Local channel originated from the CLI into the Stasis app; its other half runs
 * the sample's `unassigned-number` context (Answer, a prompt, Hangup), which keeps it up a few
 * seconds.
 */
describeOnAsterisk('real Asterisk: GET /playbacks/{id} tells a playing prompt from an ended one', function () {
  this.timeout(60_000);
  let asterisk: AsteriskServer | undefined;
  let conn: AriConnection | undefined;

  after(async () => {
    await conn?.stop();
    await asterisk?.stop({ keep: false });
  });

  it('200 while it plays, 404 (false) after its PlaybackFinished', async () => {
    asterisk = await startBareAsterisk();
    const app = ARI_APP;
    const events: AriEvent[] = [];
    const waitFor = async (pred: (e: AriEvent) => boolean, ms: number, what: string): Promise<AriEvent> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${what} in ${ms} ms; events: ${events.map((e) => e.type).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    conn = await connectAri(asterisk);
    conn.on('event', (e: AriEvent) => void events.push(e));
    const control = new AriClientCallControl(conn, app);

    await asterisk.cli(`channel originate Local/5550199@unassigned-number application Stasis ${app},probe`);
    const start = await waitFor((e) => e.type === 'StasisStart', 10_000, 'StasisStart');
    const channelId = (start as Extract<AriEvent, { type: 'StasisStart' }>).channel.id;
    const playbackId = `probe-${randomBytes(4).toString('hex')}`;
    await control.play(channelId, ['sound:callback/connecting'], playbackId);
    await waitFor((e) => e.type === 'PlaybackStarted' && e.playback.id === playbackId, 5_000, 'PlaybackStarted');
    expect(await control.playbackExists(playbackId), 'while it plays').to.equal(true);
    await waitFor((e) => e.type === 'PlaybackFinished' && e.playback.id === playbackId, 15_000, 'PlaybackFinished');
    expect(await control.playbackExists(playbackId), 'after its PlaybackFinished').to.equal(false);
    expect(await control.playbackExists('probe-never-existed'), 'an id Asterisk never had').to.equal(false);
    await control.hangup(channelId).catch(() => undefined);
  });
});
