import { expect } from 'chai';
import { AriChannel, AriEvent } from '../../../src/ari/ari-events';
import { AriRequestError, CallControl } from '../../../src/ari/call-control';
import { AppConfig } from '../../../src/config/config';
import { Logger } from '../../../src/logging/logger';
import { CallbackStore } from '../../../src/store/callback-store';
import { ChannelSession } from '../../../src/calls/call-context';
import { ReconcileHost, Reconciler } from '../../../src/engine/reconciler';
import { watchPlays } from '../../../src/engine/play-watch';

/**
 * The reconciler against the events that race it: a channel that ends between the listing and
 * its adoption, a leg of ours answered while the WebSocket was down, and a prompt whose
 * PlaybackStarted and PlaybackFinished were both lost in the gap.
 */
const APP = 'dcb';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function channel(id: string, state: string, appData?: string): AriChannel {
  return {
    id,
    name: `PJSIP/${id}`,
    state,
    caller: { name: '', number: '5551000' },
    connected: { name: '', number: '' },
    ...(appData ? { dialplan: { context: 'x', exten: 's', priority: 1, app_name: 'Stasis', app_data: appData } } : {}),
  } as AriChannel;
}

const ended = (id: string): AriEvent => ({ type: 'StasisEnd', channel: channel(id, 'Down') });

interface Rig {
  reconciler: Reconciler;
  control: CallControl;
  events: AriEvent[];
  logs: string[];
  bound: Set<string>;
  adopted: string[];
  requests: string[];
  listing: { promise: Promise<AriChannel[]>; resolve: (v: AriChannel[]) => void };
  inStasis: string[];
  /** Playbacks Asterisk still has (GET /playbacks/{id} answers 200). */
  playingOnAsterisk: Set<string>;
  adoption?: Promise<void>;
}

function rig(): Rig {
  const r = {
    events: [] as AriEvent[],
    logs: [] as string[],
    bound: new Set<string>(),
    adopted: [] as string[],
    requests: [] as string[],
    listing: deferred<AriChannel[]>(),
    inStasis: [] as string[],
    playingOnAsterisk: new Set<string>(),
  } as Rig;
  const gone = (op: string): never => {
    throw new AriRequestError('Playback not found', 'not_found', op);
  };
  const control = {
    listChannels: () => r.listing.promise,
    applicationChannelIds: () => Promise.resolve(r.inStasis),
    listBridges: () => Promise.resolve([]),
    stopPlayback: (id: string) => {
      r.requests.push(`stop ${id}`);
      return Promise.resolve().then(() => gone('stopPlayback'));
    },
    // Asked after a gap: every playback the tests name has ended on Asterisk unless kept.
    playbackExists: (id: string) => {
      r.requests.push(`get ${id}`);
      return Promise.resolve(r.playingOnAsterisk.has(id));
    },
    destroyBridge: () => Promise.resolve(),
    hangup: (id: string) => {
      r.requests.push(`hangup ${id}`);
      return Promise.resolve();
    },
    play: (channelId: string, _media: string[], playbackId: string) => {
      r.requests.push(`play ${channelId} ${playbackId}`);
      return Promise.resolve();
    },
  } as unknown as CallControl;
  const note = (msg: string): void => void r.logs.push(msg);
  const logger = { info: note, warn: note, debug: () => undefined, error: note } as unknown as Logger;
  const host: ReconcileHost = {
    config: { ari: { app: APP }, queues: [{ id: 'q1', guard: { enabled: false } }] } as unknown as AppConfig,
    control,
    store: { listOpen: () => Promise.resolve([]) } as unknown as CallbackStore,
    logger,
    boundChannelIds: () => [...r.bound],
    handleEvent: (e) => void r.events.push(e),
    bind: (id: string, _s: ChannelSession) => void r.bound.add(id),
    unbind: (id: string) => void r.bound.delete(id),
    callbackAttemptEnded: () => undefined,
    dispatchSoon: () => undefined,
    adoptQueueCaller: async (ch) => {
      r.adopted.push(ch.id);
      await r.adoption;
      r.bound.add(ch.id);
    },
    resumePreview: () => Promise.resolve(false),
  };
  r.control = control;
  r.reconciler = new Reconciler(host);
  return r;
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

describe('reconciler: events that race a reconciliation (engine/reconciler.ts)', () => {
  it('does not adopt a caller whose StasisEnd arrived after the listing was taken', async () => {
    const r = rig();
    r.inStasis = ['caller-1'];
    const run = r.reconciler.reconcile();
    await tick();
    // The listing is in flight; the caller hangs up and its StasisEnd arrives now (nobody owns it).
    r.reconciler.observe(ended('caller-1'));
    r.listing.resolve([channel('caller-1', 'Up', `${APP},queue,q1`)]);
    const report = await run;

    expect(r.adopted).to.deep.equal([]);
    expect(report.adoptedCallers).to.equal(0);
    expect(r.logs).to.include('reconcile: channel ended after the listing; not adopted');
    expect(r.requests.filter((q) => q.startsWith('hangup'))).to.deep.equal([]);
  });

  it('does not adopt a caller and its agent leg as a pair when they ended after the listing', async () => {
    const r = rig();
    const agentLeg = `agent-${APP}-00000000-0000-4000-8000-000000000001`;
    r.inStasis = ['caller-p', agentLeg];
    const run = r.reconciler.reconcile();
    await tick();
    // The call ends (the caller hangs up, the agent leg follows) while the listing is in flight.
    r.reconciler.observe(ended('caller-p'));
    r.reconciler.observe(ended(agentLeg));
    r.listing.resolve([channel('caller-p', 'Up', `${APP},queue,q1`), channel(agentLeg, 'Up', `${APP},agent-live,caller-p`)]);
    const report = await run;

    expect(report.pairsBridged, 'no pair kept connected').to.equal(0);
    expect([...r.bound], 'nothing routed to a new session').to.deep.equal([]);
    expect(r.adopted).to.deep.equal([]);
  });

  it('delivers the end of a caller that hung up while it was adopted to its new session', async () => {
    const r = rig();
    r.inStasis = ['caller-2'];
    const adoption = deferred<void>();
    r.adoption = adoption.promise;
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel('caller-2', 'Up', `${APP},queue,q1`)]);
    while (r.adopted.length === 0) await tick();
    // Its StasisEnd arrives while the new queue session is being set up (not yet bound): lost to it.
    r.reconciler.observe(ended('caller-2'));
    adoption.resolve();
    const report = await run;

    expect(r.adopted).to.deep.equal(['caller-2']);
    expect(report.sessionsClosed).to.equal(1);
    expect(r.events.map((e) => `${e.type} ${(e as { channel?: { id: string } }).channel?.id}`)).to.deep.equal([
      'ChannelHangupRequest caller-2',
      'StasisEnd caller-2',
      'ChannelDestroyed caller-2',
    ]);
    expect(r.logs).to.include('reconcile: channel ended while it was adopted; closing it out');
  });

  it('closes out nothing when an adopted caller did not end during the run', async () => {
    const r = rig();
    r.inStasis = ['caller-3'];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel('caller-3', 'Up', `${APP},queue,q1`)]);
    const report = await run;
    expect(r.adopted).to.deep.equal(['caller-3']);
    expect(report.sessionsClosed).to.equal(0);
    expect(r.events).to.deep.equal([]);
  });

  it('delivers a late StasisStart to a leg of ours answered while the WebSocket was down', async () => {
    const r = rig();
    const agentLeg = `agent-${APP}-1111`;
    const previewLeg = `cb-agent-${APP}-2222`;
    const seenLeg = `agent-${APP}-3333`;
    const foreign = 'caller-4';
    // Sessions bind their legs before originating; only seenLeg's StasisStart got through.
    for (const id of [agentLeg, previewLeg, seenLeg, foreign]) r.bound.add(id);
    r.reconciler.observe({ type: 'StasisStart', channel: channel(seenLeg, 'Up'), args: [] });
    r.inStasis = [agentLeg, previewLeg, seenLeg, foreign];
    const run = r.reconciler.reconcile();
    r.listing.resolve([
      channel(agentLeg, 'Up', `${APP},agent,caller-4`),
      channel(previewLeg, 'Up', `${APP},agent,cb1`),
      channel(seenLeg, 'Up', `${APP},agent,caller-9`),
      channel(foreign, 'Up', `${APP},queue,q1`),
    ]);
    const report = await run;

    const starts = r.events.filter((e) => e.type === 'StasisStart').map((e) => (e as { channel: AriChannel }).channel.id);
    expect(starts).to.deep.equal([agentLeg, previewLeg]);
    expect(report.answersDelivered).to.equal(2);
    expect(r.logs).to.include('reconcile: a leg of ours answered in the event gap; its StasisStart is delivered');

    // Delivered once: the next reconciliation (another gap) does not deliver it again.
    r.listing = deferred();
    const again = r.reconciler.reconcile();
    r.listing.resolve([channel(agentLeg, 'Up', `${APP},agent,caller-4`)]);
    expect((await again).answersDelivered).to.equal(0);
  });

  it('delivers the lost answer (ChannelStateChange Up) of a created customer leg, in Stasis before it was dialled', async () => {
    const r = rig();
    const customerLeg = `cb-customer-${APP}-5555`;
    const ringing = `cb-customer-${APP}-6666`;
    for (const id of [customerLeg, ringing]) {
      r.bound.add(id);
      // Created legs enter Stasis Down, before the dial; their answer is a state change.
      r.reconciler.observe({ type: 'StasisStart', channel: channel(id, 'Down'), args: [] });
    }
    r.inStasis = [customerLeg, ringing];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel(customerLeg, 'Up', `${APP},customer,cb1`), channel(ringing, 'Ringing', `${APP},customer,cb2`)]);
    const report = await run;

    expect(r.events.map((e) => [e.type, (e as { channel: AriChannel }).channel.id])).to.deep.equal([['ChannelStateChange', customerLeg]]);
    expect(report.answersDelivered).to.equal(1);
    expect(r.logs).to.include('reconcile: a leg of ours answered in the event gap; its answer is delivered');
  });

  it('does not deliver a StasisStart for a leg of ours still ringing', async () => {
    const r = rig();
    const ringing = `agent-${APP}-5555`;
    r.bound.add(ringing);
    r.inStasis = [];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel(ringing, 'Ringing')]);
    const report = await run;
    expect(report.answersDelivered).to.equal(0);
    expect(r.events.filter((e) => e.type === 'StasisStart')).to.deep.equal([]);
  });

  it('settles a prompt requested before the gap whose PlaybackStarted and PlaybackFinished were both lost', async () => {
    const r = rig();
    const caller = 'caller-5';
    r.bound.add(caller);
    r.reconciler.observe({ type: 'StasisStart', channel: channel(caller, 'Up'), args: [] });
    const control = watchPlays(r.control, () => r.reconciler);
    await control.play(caller, ['sound:agent-unavailable'], `${caller}-pb3`);
    // No PlaybackStarted/PlaybackFinished ever arrives; the WebSocket comes back and reconciles.
    r.inStasis = [caller];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel(caller, 'Up', `${APP},queue,q1`)]);
    const report = await run;

    expect(report.playbacksSettled).to.equal(1);
    const finished = r.events.filter((e) => e.type === 'PlaybackFinished');
    expect(finished.map((e) => (e as { playback: { id: string; target_uri: string } }).playback)).to.deep.equal([
      { id: `${caller}-pb3`, media_uri: '', target_uri: `channel:${caller}`, state: 'done' },
    ]);
  });

  it('forgets a play Asterisk refused, and the plays of a channel that ended', async () => {
    const r = rig();
    const caller = 'caller-6';
    r.bound.add(caller);
    r.reconciler.observe({ type: 'StasisStart', channel: channel(caller, 'Up'), args: [] });
    r.reconciler.playRequested(`${caller}-pb0`, caller);
    r.reconciler.playRefused(`${caller}-pb0`);
    r.reconciler.playRequested('gone-1-pb0', 'gone-1');
    r.reconciler.observe(ended('gone-1'));
    r.inStasis = [caller];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel(caller, 'Up', `${APP},queue,q1`), channel('gone-1', 'Up')]);
    const report = await run;
    expect(report.playbacksSettled).to.equal(0);
    expect(r.requests.filter((q) => q.startsWith('stop') || q.startsWith('get'))).to.deep.equal([]);
  });

  it('leaves a prompt still playing after the gap alone: asked (GET), never stopped, no end made up', async () => {
    const r = rig();
    const caller = 'caller-7';
    r.bound.add(caller);
    r.reconciler.observe({ type: 'StasisStart', channel: channel(caller, 'Up'), args: [] });
    r.reconciler.observe({
      type: 'PlaybackStarted',
      playback: { id: `${caller}-pb1`, media_uri: 'sound:confirm', target_uri: `channel:${caller}`, state: 'playing' },
    });
    r.playingOnAsterisk.add(`${caller}-pb1`);
    r.inStasis = [caller];
    const run = r.reconciler.reconcile();
    r.listing.resolve([channel(caller, 'Up', `${APP},queue,q1`)]);
    const report = await run;
    expect(report.playbacksSettled).to.equal(0);
    expect(r.requests).to.deep.equal([`get ${caller}-pb1`]);
    expect(r.events.filter((e) => e.type === 'PlaybackFinished')).to.deep.equal([]);
  });
});

describe("watchPlays: the sessions' CallControl tells the reconciler of each play (engine/play-watch.ts)", () => {
  class FakeControl {
    readonly calls: string[] = [];
    constructor(private readonly refuse: boolean) {}
    play(channelId: string, media: string[], playbackId: string, lang?: string): Promise<void> {
      this.calls.push(`play ${channelId} ${media.join('+')} ${playbackId} ${lang ?? '-'}`);
      return this.refuse ? Promise.reject(new AriRequestError('Channel not found', 'not_found', 'play')) : Promise.resolve();
    }
    // Uses `this`: a method called through the proxy must keep its target.
    hangup(channelId: string): Promise<void> {
      this.calls.push(`hangup ${channelId}`);
      return Promise.resolve();
    }
  }
  const watcher = (): { seen: string[]; playRequested: (p: string, c: string) => void; playRefused: (p: string) => void } => {
    const seen: string[] = [];
    return { seen, playRequested: (p, c) => void seen.push(`requested ${p} ${c}`), playRefused: (p) => void seen.push(`refused ${p}`) };
  };

  it('tells of a play before its request goes out, and passes the request through', async () => {
    const fake = new FakeControl(false);
    const w = watcher();
    const control = watchPlays(fake as unknown as CallControl, () => w);
    const order: string[] = [];
    const origPlay = fake.play.bind(fake);
    fake.play = (...a) => {
      order.push(`sent; watcher had ${w.seen.length}`);
      return origPlay(...a);
    };
    await control.play('ch-1', ['sound:a', 'sound:b'], 'ch-1-pb0', 'fr');
    expect(w.seen).to.deep.equal(['requested ch-1-pb0 ch-1']);
    expect(order).to.deep.equal(['sent; watcher had 1']);
    expect(fake.calls).to.deep.equal(['play ch-1 sound:a+sound:b ch-1-pb0 fr']);
  });

  it('tells of a refused play and passes the refusal on', async () => {
    const fake = new FakeControl(true);
    const w = watcher();
    const control = watchPlays(fake as unknown as CallControl, () => w);
    const err = await control.play('ch-2', ['sound:a'], 'ch-2-pb1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AriRequestError);
    expect(w.seen).to.deep.equal(['requested ch-2-pb1 ch-2', 'refused ch-2-pb1']);
  });

  it('passes every other method through with its `this` intact', async () => {
    const fake = new FakeControl(false);
    const w = watcher();
    const control = watchPlays(fake as unknown as CallControl, () => w);
    // Detached on purpose: the proxy hands out methods bound to their target.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { hangup } = control;
    await hangup('ch-3');
    await control.hangup('ch-4');
    expect(fake.calls).to.deep.equal(['hangup ch-3', 'hangup ch-4']);
    expect(w.seen).to.deep.equal([]);
  });
});
