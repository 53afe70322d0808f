import { expect } from 'chai';
import { CallControl } from '../../src/ari/call-control';
import { PROMPTS } from '../../src/calls/prompts';
import { bookCallback, Rig, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';
import { statementOf } from '../helpers/statement-log';

/**
 * The round trips a person waits on, counted on the real plugin (simulator + PostgreSQL): from
 * the caller's 1 to the confirmation's play, from the agent's 1 to the customer leg, and from an
 * agent freeing up to the agent leg. One timeline holds, in the order they happened in this
 * process: the simulator's events as sent, the plugin's SQL statements as sent, and ARI requests
 * as they arrive at the simulator.
 */

/** No background reads (sync, time rules) during a count: only the call's own statements. */
function quietConfig(): Record<string, unknown> {
  const base = testConfigInput();
  return { ...base, callback: { ...(base.callback as Record<string, unknown>), syncIntervalSec: 3600, timeRulesIntervalSec: 3600 } };
}

interface Timeline {
  entries: string[];
  /** Entries after the first one matching `from`, up to (without) the first one matching `to`. */
  between(from: RegExp, to: RegExp): string[];
}

function timeline(rig: Rig): Timeline {
  const entries: string[] = [];
  rig.sim.onEvent((e) => {
    const ev = e.event as { type?: string; digit?: string; device_state?: { name?: string; state?: string } };
    if (ev.type === 'ChannelDtmfReceived') entries.push(`EVENT dtmf ${ev.digit ?? ''}`);
    if (ev.type === 'DeviceStateChanged') entries.push(`EVENT device ${ev.device_state?.name ?? ''} ${ev.device_state?.state ?? ''}`);
  });
  rig.sim.onRequest((r) => entries.push(`ARI ${r.method} ${r.path}${r.path.endsWith('/play') ? ` ${r.query.media ?? ''}` : ''}`));
  rig.plugin.db.on('query', (q: { sql?: unknown }) => {
    const sql = statementOf(q);
    if (sql !== undefined) entries.push(`SQL ${sql}`);
  });
  return {
    entries,
    between(from, to) {
      const start = entries.findIndex((e) => from.test(e));
      const end = entries.findIndex((e, i) => i > start && to.test(e));
      if (start < 0 || end < 0) throw new Error(`timeline has no ${String(from)} ... ${String(to)}:\n${entries.join('\n')}`);
      return entries.slice(start + 1, end);
    },
  };
}

/** CallControl with some methods replaced; the rest are the real ones. */
function withOverrides(base: CallControl, overrides: Partial<CallControl>): CallControl {
  return new Proxy(base, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Resolves when the plugin's database answers a statement matching `sql` (it has committed). */
function statementAnswered(rig: Rig, sql: RegExp, onAnswered: () => void): void {
  const listener = (_response: unknown, q: { sql?: unknown }): void => {
    if (typeof q.sql === 'string' && sql.test(q.sql)) {
      rig.plugin.db.off('query-response', listener);
      onAnswered();
    }
  };
  rig.plugin.db.on('query-response', listener);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('e2e: round trips a person waits on', function () {
  this.timeout(30000);
  const rigs = useRig();

  it("press 1 -> confirmation: one SQL statement, and the offer's stop alongside it", async () => {
    const rig = rigs.set(await startRig({ config: quietConfig() }));
    rig.sim.setMediaDuration(PROMPTS.offer, 5000);
    const call = rig.sim.call({ from: '+15557770001', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    const t = timeline(rig);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    const path = t.between(/^EVENT dtmf 1/, /^ARI POST .*\/play .*callback\/confirm/);
    // The caller's queue entry is closed once the booking is answered, without waiting for it
    // (QueuePlace.close: the callback row already holds the place); it may go out
    // before the play does, but nobody waits on it. Everything else counts.
    const sqlPath = path.filter((e) => e.startsWith('SQL'));
    const entryClose = sqlPath.findIndex((e) => /^SQL update "queue_entries" set "closed_at"/.test(e));
    if (entryClose >= 0) expect(entryClose, 'the entry is closed only after the booking').to.be.greaterThan(0);
    const waitedOn = sqlPath.filter((_, i) => i !== entryClose);
    expect(waitedOn, path.join('\n')).to.have.length(1);
    expect(waitedOn[0]).to.match(/callback_book_batch/);
    expect(
      path.filter((e) => e.startsWith('ARI')),
      path.join('\n'),
    ).to.have.length(1);
    expect(path.filter((e) => e.startsWith('ARI'))[0]).to.match(/^ARI DELETE \/ari\/playbacks\//);
    expect(call.playbacks.find((p) => p.media.includes(PROMPTS.offer))?.stoppedByApp).to.equal(true);
  });

  it("press 1: the booking does not wait for the offer's stop to be answered; the confirmation waits for both", async () => {
    const order: string[] = [];
    let booked: () => void = () => undefined;
    const bookingCommitted = new Promise<void>((resolve) => (booked = resolve));
    const rig = rigs.set(
      await startRig({
        config: quietConfig(),
        wrapControl: (base) =>
          withOverrides(base, {
            // The stop reaches the simulator at once, but its answer is held until the booking
            // has committed. A plugin that awaited the stop before booking would never commit
            // meanwhile: the hold then ends after 3 s and the order below shows it.
            stopPlayback: async (playbackId: string) => {
              order.push('stop sent');
              await base.stopPlayback(playbackId);
              await Promise.race([bookingCommitted, sleep(3000)]);
              order.push('stop answered');
            },
            play: async (channelId: string, media: string[], playbackId: string) => {
              if (media.includes(PROMPTS.confirm)) order.push('confirmation play sent');
              await base.play(channelId, media, playbackId);
            },
          }),
      }),
    );
    rig.sim.setMediaDuration(PROMPTS.offer, 5000);
    const call = rig.sim.call({ from: '+15557770002', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    statementAnswered(rig, /callback_book_batch/i, () => {
      order.push('booking committed');
      booked();
    });
    await call.pressDtmf('1');
    await call.waitFor('hungup', 8000);
    expect(order).to.deep.equal(['stop sent', 'booking committed', 'stop answered', 'confirmation play sent']);
  });

  it("the agent's 1 -> customer leg: one SQL statement; whisper stop and ring alongside it; the leg created after COMMIT", async () => {
    const order: string[] = [];
    let marked: () => void = () => undefined;
    const markCommitted = new Promise<void>((resolve) => (marked = resolve));
    let armed = false; // from the agent's 1 on (the caller's own press 1 is not held)
    const hold = async (label: string, request: Promise<void>): Promise<void> => {
      if (!armed) return request;
      order.push(`${label} sent`);
      await request;
      await Promise.race([markCommitted, sleep(3000)]);
      order.push(`${label} answered`);
    };
    const rig = rigs.set(
      await startRig({
        config: quietConfig(),
        wrapControl: (base) =>
          withOverrides(base, {
            // As above: answers held until the dial is recorded, to show nothing waited on them.
            stopPlayback: (id: string) => hold('whisper stop', base.stopPlayback(id)),
            ring: (id: string) => hold('ring', base.ring(id)),
            createChannel: async (req) => {
              if (armed) order.push('customer leg created');
              await base.createChannel(req);
            },
          }),
      }),
    );
    await bookCallback(rig, '+15557770003');
    rig.sim.endpoint('PJSIP/1001').manual();
    rig.sim.endpoint('PJSIP/15557770003@trunk').manual();
    rig.sim.setMediaDuration(PROMPTS.whisperIntro, 5000);
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agent = await rig.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agent.answer();
    await agent.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    const written: Promise<string | null>[] = [];
    rig.sim.onRequest((req) => {
      if (req.method === 'POST' && req.path === '/ari/channels/create') {
        written.push(
          rig.database
            .db('callback_attempts')
            .whereNull('ended_at')
            .first('customer_channel_id')
            .then((r: { customer_channel_id: string | null } | undefined) => r?.customer_channel_id ?? null),
        );
      }
    });
    const t = timeline(rig);
    armed = true;
    statementAnswered(rig, /update "?callback_attempts"? /i, () => {
      order.push('dial recorded');
      marked();
    });
    await agent.pressDtmf('1');
    const customer = await rig.sim.endpoint('PJSIP/15557770003@trunk').nextLeg(8000);
    expect(written).to.have.length(1);
    expect(await written[0], 'the customer leg id is committed when the leg is created').to.equal(customer.id);
    const path = t.between(/^EVENT dtmf 1/, /^ARI POST \/ari\/channels\/create/);
    expect(
      path.filter((e) => e.startsWith('SQL')),
      path.join('\n'),
    ).to.have.length(1);
    expect(
      path
        .filter((e) => e.startsWith('ARI'))
        .map((e) => e.replace(/\/[^/ ]+\/ring$/, '/{id}/ring').replace(/playbacks\/\S+/, 'playbacks/{id}'))
        .sort(),
    ).to.deep.equal(['ARI DELETE /ari/playbacks/{id}', 'ARI POST /ari/channels/{id}/ring']);
    expect(order.slice(0, 3).sort()).to.deep.equal(['dial recorded', 'ring sent', 'whisper stop sent']);
    expect(order.slice(3)).to.have.members(['whisper stop answered', 'ring answered', 'customer leg created']);
    expect(order[order.length - 1]).to.equal('customer leg created');
  });

  it('an agent frees up -> agent leg: one SQL statement (the claim)', async () => {
    const rig = rigs.set(await startRig({ config: quietConfig() }));
    await bookCallback(rig, '+15557770004');
    // The caller's session has finished tidying up before the count starts: it was its queue's
    // last caller, so the shared holding bridge was destroyed.
    await rig.sim.waitForRequest((r) => r.method === 'DELETE' && r.path === '/ari/bridges/hold.direct-callback.support', 3000);
    rig.sim.endpoint('PJSIP/1001').manual();
    const t = timeline(rig);
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    await rig.sim.endpoint('PJSIP/1001').nextLeg(5000);
    const path = t.between(/^EVENT device PJSIP\/1001 NOT_INUSE/, /^ARI POST \/ari\/channels$/);
    expect(
      path.filter((e) => e.startsWith('SQL')),
      path.join('\n'),
    ).to.have.length(1);
    expect(
      path.filter((e) => e.startsWith('ARI')),
      path.join('\n'),
    ).to.deep.equal([]);
  });
});
