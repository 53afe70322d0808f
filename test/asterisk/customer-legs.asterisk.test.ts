import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { AriClientCallControl } from '../../src/ari/ari-client-adapter';
import { AriConnection } from '../../src/ari/ari-connection';
import { AriEvent } from '../../src/ari/ari-events';
import { AriRequestError } from '../../src/ari/call-control';
import { systemClock } from '../../src/domain/clock';
import { Leg } from '../../src/calls/leg';
import { createLogger } from '../../src/logging/logger';
import { AsteriskServer } from '../../tools/asterisk-lab/asterisk-server';
import { ARI_APP, connectAri, describeOnAsterisk, startBareAsterisk } from './lab-suite';

/**
 * Issue 18, defect 2: "200 customer legs are dialled with no 409". What the rule is about is one
 * request order (create, StasisStart, dial), so the legs are made directly through the product's
 * ARI adapter (AriConnection + AriClientCallControl, ari-client as in production) and its Leg, not
 * through 200 preview stories: a story adds an agent, a whisper and a bridge around the same
 * create and dial, and takes ~10 s each. The legs are dialled to the trunk, where nothing
 * answers (as in trace k), in bursts of 10 at once so that Asterisk is busy and the window between
 * the create's answer and StasisStart is wider (trace k: 7 of 60 dials sent at once were refused);
 * each is hung up once its dial was accepted. Checked: no dial answered anything but 204, and no
 * dial left before its leg's StasisStart had reached the process.
 */
const LEGS = 200;
/** Legs created at once (a busy Asterisk widens the window; 50 at once made ari-client re-send creates). */
const BURST = 10;

describeOnAsterisk('real Asterisk: customer legs through Leg are dialled with no 409', function () {
  this.timeout(240_000);
  let asterisk: AsteriskServer | undefined;
  let conn: AriConnection | undefined;

  after(async () => {
    await conn?.stop();
    await asterisk?.stop({ keep: false });
  });

  it('200 legs created and dialled at once in bursts of 10: every dial accepted after StasisStart', async () => {
    asterisk = await startBareAsterisk({ rtpPorts: 100 });
    const logger = createLogger({ silent: true });
    const app = ARI_APP;
    conn = await connectAri(asterisk, logger);
    const legs = new Map<string, Leg>();
    // When each leg's StasisStart reached the process, and when its dial left: the rule itself.
    const stasisStartAt = new Map<string, number>();
    const dialSentAt = new Map<string, number>();
    conn.on('event', (e: AriEvent) => {
      if (e.type === 'StasisStart') stasisStartAt.set(e.channel.id, performance.now());
      for (const leg of legs.values()) if (leg.onEvent(e)) return;
    });
    const adapter = new AriClientCallControl(conn, app);
    // Every dial's answer as the adapter classified it: what Asterisk said to each dial sent.
    const dialAnswers: string[] = [];
    const control = Object.create(adapter) as AriClientCallControl;
    control.dial = (channelId: string, timeoutSec: number) => {
      dialSentAt.set(channelId, performance.now());
      return adapter.dial(channelId, timeoutSec).then(
        () => void dialAnswers.push('accepted'),
        (e: unknown) => {
          dialAnswers.push(e instanceof AriRequestError ? `${e.kind}: ${e.message}` : String(e));
          throw e;
        },
      );
    };
    const failures: string[] = [];
    for (let burst = 0; burst < LEGS / BURST; burst++) {
      await Promise.all(
        Array.from({ length: BURST }, async (_, i) => {
          const id = `cb-customer-${app}-legs-${burst}-${i}`;
          const leg = new Leg({ control, clock: systemClock }, id);
          legs.set(id, leg);
          try {
            await leg.create({
              endpoint: 'PJSIP/5559876@trunk',
              appArgs: ['customer', `legs-${burst}-${i}`],
              variables: { 'CONNECTEDLINE(num)': '5550100', 'CONNECTEDLINE(name)': 'Support Callback', CALLBACK_ID: id },
            });
            await leg.dial(5);
          } catch (e) {
            failures.push(`${id}: ${String(e)}`);
          } finally {
            await leg.hangup();
          }
        }),
      );
    }
    expect(dialAnswers.filter((a) => a !== 'accepted')).to.deep.equal([]);
    expect(failures).to.deep.equal([]);
    expect(dialAnswers).to.have.length(LEGS);
    // Luck cannot pass this one: with the old order (dial at the create's answer) one run here
    // met 7 refused dials in 200, two others none, but every run sends dials before their StasisStart.
    const early = [...dialSentAt].filter(([id, at]) => !(at >= (stasisStartAt.get(id) ?? Infinity))).map(([id]) => id);
    expect(early, 'dials sent before their StasisStart').to.deep.equal([]);
  });
});
