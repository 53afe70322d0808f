import { Writable } from 'node:stream';
import { expect } from 'chai';
import { parseConfig } from '../../src/config/config';
import { ManualClock } from '../../src/domain/clock';
import { SOURCE_CALL_BOUND_MS } from '../../src/domain/source-call-hold';
import { AgentDirectory } from '../../src/engine/agent-directory';
import { QueueBook } from '../../src/engine/queue-book';
import { createLogger } from '../../src/logging/logger';
import { CallbackStore } from '../../src/store/callback-store';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { testConfigInput } from '../helpers/plugin-harness';

/**
 * The source-call rule across processes: an instance that does not hold the caller's channel
 * (another instance, or this one restarted) learns the call's end from the row
 * (source_call_ended_at, sql/008), and without it waits at most the bound after the booking.
 */
describe('a callback waits for its source call, as another instance sees it (real PostgreSQL)', () => {
  let t: TestDatabase;
  let store: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
  });
  after(async () => t.close());

  function otherInstance(now: number): { book: QueueBook; clock: ManualClock } {
    const config = parseConfig(testConfigInput(), { ARI_URL: 'http://127.0.0.1:1', ARI_PASSWORD: 'x', DATABASE_URL: t.url });
    const clock = new ManualClock(now);
    const quiet = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
    return { book: new QueueBook(config, new AgentDirectory(config.agents, now), clock, quiet), clock };
  }

  it('held until the row records the end of the call; a row read before that does not hold it again', async () => {
    const booked = await store.requestCallback(callbackRequest({ sourceChannelId: 'caller-on-A', customerNumber: '+15551230001' }));
    if (booked.kind !== 'stored') throw new Error(booked.kind);
    expect(booked.callback.sourceCallEndedAt).to.equal(null);
    const { book } = otherInstance(booked.callback.requestedAt.getTime() + 1000);
    book.addCallback(booked.callback);
    expect(book.heldBySourceCalls(booked.callback.requestedAt.getTime() + 1000)).to.deep.equal([booked.callback.id]);
    const [ended] = await store.markSourceCallEnded([booked.callback.id]);
    expect(ended?.sourceCallEndedAt).to.be.instanceOf(Date);
    book.updateCallback(ended);
    expect(book.heldBySourceCalls(booked.callback.requestedAt.getTime() + 1000)).to.deep.equal([]);
    book.updateCallback(booked.callback);
    expect(book.heldBySourceCalls(booked.callback.requestedAt.getTime() + 1000)).to.deep.equal([]);
    expect(await store.markSourceCallEnded([booked.callback.id]), 'recorded once').to.deep.equal([]);
    const reread = await store.get(booked.callback.id);
    expect(reread?.sourceCallEndedAt?.getTime()).to.equal(ended?.sourceCallEndedAt?.getTime());
  });

  it('the end never recorded (the holding process died): held only until the bound after the booking', async () => {
    const booked = await store.requestCallback(callbackRequest({ sourceChannelId: 'caller-on-dead-A', customerNumber: '+15551230002' }));
    if (booked.kind !== 'stored') throw new Error(booked.kind);
    const at = booked.callback.requestedAt.getTime();
    const { book } = otherInstance(at);
    book.addCallback(booked.callback);
    expect(book.heldBySourceCalls(at + SOURCE_CALL_BOUND_MS - 1)).to.deep.equal([booked.callback.id]);
    expect(book.heldBySourceCalls(at + SOURCE_CALL_BOUND_MS)).to.deep.equal([]);
  });

  it('an API callback (no source call) is never held', async () => {
    const booked = await store.requestCallback(callbackRequest({ sourceChannelId: null, customerNumber: '+15551230003' }));
    if (booked.kind !== 'stored') throw new Error(booked.kind);
    const { book } = otherInstance(booked.callback.requestedAt.getTime());
    book.addCallback(booked.callback);
    expect(book.heldBySourceCalls(booked.callback.requestedAt.getTime())).to.deep.equal([]);
  });
});
