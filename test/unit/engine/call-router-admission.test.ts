import { expect } from 'chai';
import { CallRouter } from '../../../src/engine/call-router';
import { QueueCallerSession } from '../../../src/calls/queue-caller-session';
import type { CallContext, ChannelSession } from '../../../src/calls/call-context';
import type { StasisStartEvent } from '../../../src/ari/ari-events';
import { silentLogger } from '../../../src/logging/logger';

/**
 * CallRouter keeps a count of the distinct sessions bound (engine/call-router.ts), so that
 * admission does not copy every bound session on each arrival: a session bound by several
 * channels counts once and until its last channel is unbound; a channel bound again to another
 * session releases the first; at a cap the exact count decides (an ended session bound still
 * does not count). Sessions are stand-ins of the session classes admission counts.
 */
type Sent = { op: string; channelId: string; value?: string };

function router(limits: { process?: number; queue?: number }): { router: CallRouter; sent: Sent[] } {
  const sent: Sent[] = [];
  const control = {
    setChannelVariable: (channelId: string, _name: string, value: string) => {
      sent.push({ op: 'setChannelVariable', channelId, value });
      return Promise.resolve();
    },
    continueInDialplan: (channelId: string) => {
      sent.push({ op: 'continueInDialplan', channelId });
      return Promise.resolve();
    },
    hangup: (channelId: string) => {
      sent.push({ op: 'hangup', channelId });
      return Promise.resolve();
    },
  };
  const ctx = {
    control,
    logger: silentLogger(),
    config: { ari: { app: 'dcb' }, limits: { maxCallers: limits.process }, routes: {} },
  } as unknown as CallContext;
  const book = { queue: (id: string) => (id === 'q' ? { config: { id: 'q', maxCallers: limits.queue, priority: 0 } } : undefined) };
  const r = new CallRouter(ctx, book as never, {} as never, { registerCaller: () => undefined } as never, {} as never, () => 1);
  return { router: r, sent };
}

/** A queue caller session as admission sees it: its class, its state and its queue. */
function queueCaller(state: string, queueId = 'q'): ChannelSession {
  const s = Object.create(QueueCallerSession.prototype) as object;
  Object.assign(s, { states: { state }, queue: { id: queueId } });
  return s as ChannelSession;
}
const other = (): ChannelSession => ({ kind: 'other', onEvent: () => undefined });

function arrival(channelId: string): StasisStartEvent {
  return {
    type: 'StasisStart',
    application: 'dcb',
    timestamp: '2026-12-07T00:00:00.000+0000',
    args: ['queue', 'q'],
    channel: { id: channelId, name: 'PJSIP/x', state: 'Ring', caller: { name: '', number: '100' }, language: 'en' },
  } as unknown as StasisStartEvent;
}
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('CallRouter: bound sessions counted as they are bound, admission exact at a cap', () => {
  it('a session bound by two channels counts once, until its last channel is unbound', () => {
    const { router: r } = router({});
    const s = queueCaller('waiting');
    r.bind('a', s);
    r.bind('b', s);
    r.bind('a', s); // bound again by the same channel: no change
    expect(r.liveSessions).to.equal(1);
    r.unbind('a');
    expect(r.liveSessions).to.equal(1);
    expect([r.isBound('a'), r.isBound('b')]).to.deep.equal([false, true]);
    r.unbind('b');
    r.unbind('b'); // unbound twice: no change
    expect(r.liveSessions).to.equal(0);
  });

  it('a channel bound again to another session releases the first', () => {
    const { router: r } = router({});
    const first = queueCaller('waiting');
    r.bind('a', first);
    r.bind('a', other());
    expect(r.liveSessions).to.equal(1);
    expect(r.boundChannelIds()).to.deep.equal(['a']);
  });

  it('at the process cap the next caller goes back to the dialplan (FULL); below it, it is taken', async () => {
    const { router: r, sent } = router({ process: 2 });
    r.bind('h1', queueCaller('waiting'));
    r.bind('h2', queueCaller('waiting'));
    r.bind('h2-leg', other()); // not a held caller: does not count
    r.route(arrival('new-1'));
    await settle();
    expect(sent.filter((s) => s.channelId === 'new-1').map((s) => s.value ?? s.op)).to.deep.equal(['FULL', 'continueInDialplan']);
    r.unbind('h1');
    r.route(arrival('new-2'));
    await settle();
    expect(sent.some((s) => s.channelId === 'new-2' && s.value === 'FULL')).to.equal(false);
  });

  it('at the queue cap, an ended session still bound does not count (the exact count decides)', async () => {
    const { router: r, sent } = router({ queue: 2 });
    r.bind('h1', queueCaller('waiting'));
    r.bind('h2', queueCaller('ended'));
    r.route(arrival('new-1'));
    await settle();
    expect(sent.some((s) => s.channelId === 'new-1' && s.value === 'FULL')).to.equal(false);
    r.bind('h3', queueCaller('waiting', 'other-queue'));
    r.bind('h4', queueCaller('waiting'));
    r.route(arrival('new-2'));
    await settle();
    expect(sent.filter((s) => s.channelId === 'new-2').map((s) => s.value ?? s.op)).to.deep.equal(['FULL', 'continueInDialplan']);
  });
});
