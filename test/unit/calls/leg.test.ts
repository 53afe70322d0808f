import { expect } from 'chai';
import { AriChannel, AriEvent, ChannelState } from '../../../src/ari/ari-events';
import { AriRequestError, CallControl } from '../../../src/ari/call-control';
import { ManualClock } from '../../../src/domain/clock';
import { Leg, LEG_TRANSITIONS, LegNotInStasis, LegPair, LegState, legStateOn } from '../../../src/calls/leg';

/**
 * The Leg against a fake ARI control that, like the real Asterisk (trace k), answers a dial with
 * 409 "Channel not in Stasis application" until the channel's StasisStart has been delivered.
 */
class FakeControl {
  readonly requests: string[] = [];
  readonly inStasis = new Set<string>();
  constructor(private readonly clock: ManualClock) {}
  async createChannel(req: { channelId: string }): Promise<void> {
    this.requests.push(`create ${req.channelId}`);
  }
  async originate(req: { channelId: string }): Promise<void> {
    this.requests.push(`originate ${req.channelId}`);
  }
  async dial(channelId: string): Promise<void> {
    this.requests.push(`dial ${channelId} at ${this.clock.now()}`);
    if (!this.inStasis.has(channelId)) throw new AriRequestError('Channel not in Stasis application', 'conflict', 'dial');
  }
  async hangup(channelId: string): Promise<void> {
    this.requests.push(`hangup ${channelId}`);
  }
}

const chan = (id: string, state: ChannelState = 'Down'): AriChannel => ({ id, name: `PJSIP/x-${id}`, state }) as AriChannel;
const stasisStart = (id: string, state: ChannelState = 'Down'): AriEvent => ({ type: 'StasisStart', channel: chan(id, state), args: [] });
const up = (id: string): AriEvent => ({ type: 'ChannelStateChange', channel: chan(id, 'Up') });
const destroyed = (id: string, cause = 16): AriEvent => ({ type: 'ChannelDestroyed', channel: chan(id), cause, cause_txt: '' });
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function rig(): { clock: ManualClock; control: FakeControl; leg: (id: string) => Leg } {
  const clock = new ManualClock(0);
  const control = new FakeControl(clock);
  return { clock, control, leg: (id) => new Leg({ control: control as unknown as CallControl, clock }, id, 1000) };
}

describe('Leg: one channel from created to gone', () => {
  it('the transition table: every target is a state, gone is final, and legStateOn never leaves the table', () => {
    const states = Object.keys(LEG_TRANSITIONS) as LegState[];
    for (const s of states) for (const t of LEG_TRANSITIONS[s]) expect(states).to.include(t);
    expect(LEG_TRANSITIONS.gone).to.deep.equal([]);
    const events = [stasisStart('c'), stasisStart('c', 'Up'), up('c'), destroyed('c')];
    for (const s of states)
      for (const e of events) {
        const next = legStateOn(s, e);
        if (next) expect(LEG_TRANSITIONS[s], `${s} on ${e.type}`).to.include(next.to);
      }
  });

  it('dial() waits for StasisStart: no dial is sent in the window after the create, and none gets 409', async () => {
    const { clock, control, leg: make } = rig();
    const leg = make('cust-1');
    await leg.create({ endpoint: 'PJSIP/5551234@trunk', appArgs: ['customer', 'cb'] });
    expect(leg.state).to.equal('created');
    const dialled = leg.dial(30);
    await flush();
    clock.advance(4);
    expect(control.requests, 'nothing sent before StasisStart').to.deep.equal(['create cust-1']);
    control.inStasis.add('cust-1');
    expect(leg.onEvent(stasisStart('cust-1'))).to.equal(true);
    await dialled;
    expect(control.requests).to.deep.equal(['create cust-1', 'dial cust-1 at 4']);
    expect(leg.state).to.equal('dialling');
    leg.onEvent(up('cust-1'));
    expect(leg.state).to.equal('answered');
  });

  it('a StasisStart that came before the create answered counts: the dial goes at once', async () => {
    const { control, leg: make } = rig();
    const leg = make('cust-2');
    control.inStasis.add('cust-2');
    leg.onEvent(stasisStart('cust-2'));
    await leg.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    expect(leg.state).to.equal('in_stasis');
    await leg.dial(30);
    expect(leg.state).to.equal('dialling');
  });

  it('no StasisStart within the bound: dial() fails with a reason and sends no dial', async () => {
    const { clock, control, leg: make } = rig();
    const leg = make('cust-3');
    await leg.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    const dialled = leg.dial(30).then(
      () => 'dialled',
      (e: unknown) => e,
    );
    await flush();
    clock.advance(1000);
    const r = await dialled;
    expect(r).to.be.instanceOf(LegNotInStasis);
    expect((r as LegNotInStasis).reason).to.equal('no_stasis_start');
    expect(control.requests).to.deep.equal(['create cust-3']);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('hung up while its create is under way: hung up once the create answers, and never dialled', async () => {
    const { control, leg: make } = rig();
    let answer!: () => void;
    control.createChannel = async (req: { channelId: string }): Promise<void> => {
      control.requests.push(`create ${req.channelId}`);
      await new Promise<void>((r) => (answer = r));
    };
    const leg = make('cust-slow');
    const created = leg.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    await flush();
    // The attempt ends (the agent hung up) while Asterisk has not answered the create.
    await leg.hangup();
    expect(control.requests, 'nothing to hang up yet').to.deep.equal(['create cust-slow']);
    answer();
    await created;
    expect(control.requests).to.deep.equal(['create cust-slow', 'hangup cust-slow']);
    control.inStasis.add('cust-slow');
    leg.onEvent(stasisStart('cust-slow'));
    const r = await leg.dial(30).then(
      () => 'dialled',
      (e: unknown) => e,
    );
    expect(r).to.be.instanceOf(LegNotInStasis);
    expect((r as LegNotInStasis).reason).to.equal('gone');
    expect(control.requests, 'no dial after the hang-up').to.deep.equal(['create cust-slow', 'hangup cust-slow']);
  });

  it('hung up while its originate is under way: hung up once the originate answers', async () => {
    const { control, leg: make } = rig();
    let answer!: () => void;
    control.originate = async (req: { channelId: string }): Promise<void> => {
      control.requests.push(`originate ${req.channelId}`);
      await new Promise<void>((r) => (answer = r));
    };
    const leg = make('agent-slow');
    const originated = leg.originate({ endpoint: 'PJSIP/1001', appArgs: [], timeoutSec: 30 });
    await flush();
    await leg.hangup();
    answer();
    await originated;
    expect(control.requests).to.deep.equal(['originate agent-slow', 'hangup agent-slow']);
  });

  it('an originated leg is answered only by its StasisStart (its ChannelStateChange Up comes first)', async () => {
    const { leg: make } = rig();
    const leg = make('agent-1');
    let answered = 0;
    leg.on('answered', () => answered++);
    await leg.originate({ endpoint: 'PJSIP/1001', appArgs: [], timeoutSec: 30 });
    expect(leg.state).to.equal('originating');
    leg.onEvent(up('agent-1'));
    expect(leg.state).to.equal('originating');
    leg.onEvent(stasisStart('agent-1', 'Up'));
    expect(leg.state).to.equal('answered');
    leg.onEvent({ type: 'ChannelEnteredBridge', bridge: { id: 'b' }, channel: chan('agent-1', 'Up') });
    leg.onEvent({ type: 'ChannelLeftBridge', bridge: { id: 'b' }, channel: chan('agent-1', 'Up') });
    expect(leg.state).to.equal('answered');
    expect(answered, 'answered is told once').to.equal(1);
  });

  it('gone: on a far-end hangup request or ChannelDestroyed, not on our own soft hangup; hung up once', async () => {
    const { control, leg: make } = rig();
    const leg = make('c4');
    await leg.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    leg.onEvent({ type: 'ChannelHangupRequest', channel: chan('c4'), cause: 32, soft: true });
    expect(leg.isGone).to.equal(false);
    await leg.hangup();
    await leg.hangup();
    expect(control.requests.filter((r) => r.startsWith('hangup'))).to.have.length(1);
    leg.onEvent(destroyed('c4', 19));
    expect(leg.isGone).to.equal(true);
    expect(leg.cause).to.equal(19);
    expect(leg.onEvent(destroyed('other'))).to.equal(false);
  });
});

describe('LegPair: when one leg goes, the other is handled by one rule', () => {
  it('hang_up: the survivor is hung up; the second going changes nothing', async () => {
    const { control, leg: make } = rig();
    const a = make('a');
    const b = make('b');
    await a.originate({ endpoint: 'PJSIP/1001', appArgs: [], timeoutSec: 30 });
    await b.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    const pair = new LegPair(a, b, () => 'hang_up');
    b.onEvent(destroyed('b', 17));
    await pair.survivorHandled();
    expect(pair.firstGone).to.equal(b);
    expect(control.requests.filter((r) => r.startsWith('hangup'))).to.deep.equal(['hangup a']);
    a.onEvent(destroyed('a'));
    await pair.hangUpBoth();
    expect(control.requests.filter((r) => r.startsWith('hangup'))).to.deep.equal(['hangup a']);
  });

  it('told and hung up: the survivor hears why first, then is hung up', async () => {
    const { control, leg: make } = rig();
    const a = make('a');
    const b = make('b');
    await a.originate({ endpoint: 'PJSIP/1001', appArgs: [], timeoutSec: 30 });
    await b.create({ endpoint: 'PJSIP/1@trunk', appArgs: [] });
    const pair = new LegPair(a, b, (gone, cause) =>
      gone === b ? { first: async (s) => void control.requests.push(`tell ${s.channelId} cause ${cause}`) } : 'hang_up',
    );
    b.onEvent({ type: 'ChannelHangupRequest', channel: chan('b'), cause: 17 });
    await pair.survivorHandled();
    expect(control.requests.slice(-2)).to.deep.equal(['tell a cause 17', 'hangup a']);
  });

  it('neither gone: hangUpBoth hangs up each leg that exists, and none that was never created', async () => {
    const { control, leg: make } = rig();
    const a = make('a');
    const b = make('b');
    await a.originate({ endpoint: 'PJSIP/1001', appArgs: [], timeoutSec: 30 });
    await new LegPair(a, b, () => 'hang_up').hangUpBoth();
    expect(control.requests.filter((r) => r.startsWith('hangup'))).to.deep.equal(['hangup a']);
  });
});
