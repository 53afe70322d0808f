import { expect } from 'chai';
import { QueueOrder, WorkItem } from '../../../src/domain';
import {
  AgentStateClock,
  buildWallSnapshot,
  WALL_ITEMS_PER_QUEUE,
  WallCallbackInfo,
  wallAgentState,
} from '../../../src/engine/wall-snapshot';
import { WallFeed, localDate } from '../../../src/http/wall-feed';
import { silentLogger } from '../../../src/logging/logger';
import { DayReport } from '../../../src/store/day-report-queries';
import { agent } from '../domain/fixtures';

const T0 = Date.parse('2030-03-04T10:00:00Z');
let seq = 0;
const item = (id: string, kind: WorkItem['kind'], arrivedAt: number, priority = 0): WorkItem => ({
  id,
  queueId: 'q1',
  kind,
  priority,
  arrivedAt,
  seq: ++seq,
});

describe('wallboard: the live snapshot (engine/wall-snapshot.ts)', () => {
  it('counts callers, callbacks due and scheduled, the oldest waits, and lists items in service order with their priority', () => {
    const order = new QueueOrder([
      item('c1', 'caller', T0 - 90_000),
      item('cb1', 'callback', T0 - 600_000),
      item('vip', 'caller', T0 - 5_000, 5),
      item('cb2', 'callback', T0 - 30_000),
      item('c2', 'caller', T0 - 20_000),
    ]);
    const callbacks = new Map<string, WallCallbackInfo>([
      // Requested 4 min ago (the caller arrived 10 min ago): owed for 4 min.
      ['cb1', { requestedAt: T0 - 240_000, dialling: false }],
      // Scheduled in 2 min.
      ['cb2', { requestedAt: T0 - 30_000, notBefore: T0 + 120_000, dialling: false }],
    ]);
    const snap = buildWallSnapshot(
      {
        now: T0,
        queues: [{ id: 'q1', name: 'Support', items: order.items(), estimatedWaitSec: 140, configured: true }],
        callback: (id) => callbacks.get(id),
        agents: [
          agent('a1'),
          agent('a2', { onPluginCall: true }),
          agent('a3', { wrapUpUntil: T0 + 10_000 }),
          agent('a4', { paused: true }),
          agent('a5', { loggedIn: false }),
          agent('a6', {}, ['q2']),
        ],
      },
      new AgentStateClock(),
    );
    const [q] = snap.queues;
    expect(q).to.deep.include({
      id: 'q1',
      name: 'Support',
      callersWaiting: 3,
      callbacksDueNow: 1,
      callbacksScheduled: 1,
      oldestWaitSec: 90,
      oldestOwedSec: 240,
      estimatedWaitSec: 140,
      itemsTotal: 5,
    });
    expect(q?.agents).to.deep.equal({ staffed: 3, free: 1, onCall: 1, wrapUp: 1, paused: 1 });
    expect(q?.items.map((i) => [i.kind, i.priority, i.status, i.waitedSec])).to.deep.equal([
      ['caller', 5, 'waiting', 5],
      ['callback', 0, 'due', 240],
      ['caller', 0, 'waiting', 90],
      ['callback', 0, 'scheduled', 30],
      ['caller', 0, 'waiting', 20],
    ]);
    expect(q?.items[3]?.dueInSec).to.equal(120);
    expect(snap.at).to.equal(new Date(T0).toISOString());
  });

  it('shows a queue head of at most WALL_ITEMS_PER_QUEUE items and hides an empty owed-callbacks queue', () => {
    const items = Array.from({ length: WALL_ITEMS_PER_QUEUE + 5 }, (_, i) => item(`c${i}`, 'caller', T0 - i * 1000));
    const snap = buildWallSnapshot(
      {
        now: T0,
        queues: [
          { id: 'q1', name: 'q1', items, estimatedWaitSec: 0, configured: true },
          { id: 'direct:a1', name: 'callbacks owed by a1', items: [], estimatedWaitSec: 0, configured: false },
          { id: 'q2', name: 'q2', items: [], estimatedWaitSec: 0, configured: true },
        ],
        callback: () => undefined,
        agents: [],
      },
      new AgentStateClock(),
    );
    expect(snap.queues.map((q) => q.id)).to.deep.equal(['q1', 'q2']);
    expect(snap.queues[0]?.items).to.have.length(WALL_ITEMS_PER_QUEUE);
    expect(snap.queues[0]?.itemsTotal).to.equal(WALL_ITEMS_PER_QUEUE + 5);
    expect(snap.queues[0]?.callersWaiting).to.equal(WALL_ITEMS_PER_QUEUE + 5);
  });

  it('names agent states in order: logged out, paused, on a call (plugin or phone), wrap-up, free, unavailable', () => {
    expect(wallAgentState(agent('a', { loggedIn: false, paused: true }), T0)).to.equal('logged_out');
    expect(wallAgentState(agent('a', { paused: true, onPluginCall: true }), T0)).to.equal('paused');
    expect(wallAgentState(agent('a', { deviceState: 'INUSE' }), T0)).to.equal('on_call');
    expect(wallAgentState(agent('a', { deviceState: 'RINGING', wrapUpUntil: T0 + 1 }), T0)).to.equal('on_call');
    expect(wallAgentState(agent('a', { wrapUpUntil: T0 + 1 }), T0)).to.equal('wrap_up');
    expect(wallAgentState(agent('a'), T0)).to.equal('free');
    expect(wallAgentState(agent('a', { deviceState: 'UNAVAILABLE' }), T0)).to.equal('unavailable');
  });

  it('times each state from the change it saw; a state first seen, or seen after a gap, is marked unknown-since', () => {
    const clock = new AgentStateClock(5000);
    const at = (now: number, state: 'free' | 'on_call') => clock.observe(new Map([['a1', state]]), now).get('a1');
    expect(at(T0, 'free')).to.deep.equal({ sinceMs: T0, known: false });
    expect(at(T0 + 1000, 'free')).to.deep.equal({ sinceMs: T0, known: false });
    expect(at(T0 + 2000, 'on_call')).to.deep.equal({ sinceMs: T0 + 2000, known: true });
    expect(at(T0 + 3000, 'on_call')).to.deep.equal({ sinceMs: T0 + 2000, known: true });
    // Nobody watched for a minute: the agent may have changed state and back.
    expect(at(T0 + 63_000, 'on_call')).to.deep.equal({ sinceMs: T0 + 63_000, known: false });
  });
});

function dayReport(date: string, calls: number): DayReport {
  const figures = {
    callersEntered: 0,
    callsAnswered: calls,
    abandoned: 0,
    offersMade: 0,
    offersAccepted: 0,
    callbacksRequested: 0,
    callbacksCompleted: 0,
    callbacksFailed: 0,
    callbacksCancelled: 0,
    failedReasons: {},
    serviceLevel: { withinSec: 60, eligible: 0, met: 0, share: null },
  };
  return {
    date,
    timeZone: 'UTC',
    from: `${date}T00:00:00.000Z`,
    to: `${date}T00:00:00.000Z`,
    serviceLevelSec: 60,
    total: figures,
    queues: [],
    hours: [],
    agents: [{ agentId: 'a1', calls, directCalls: 1, callbacks: 2 }],
    generatedAt: new Date(T0).toISOString(),
  };
}

describe('wallboard: one producer for every viewer (http/wall-feed.ts)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function stubAdmin(opts: { failDay?: boolean } = {}) {
    const counts = { snapshots: 0, dayReports: 0 };
    const admin = {
      now: () => Date.now(),
      wallSnapshot: () => {
        counts.snapshots += 1;
        return {
          at: new Date().toISOString(),
          queues: [],
          agents: [agent('a1')].map((a) => ({
            id: a.id,
            name: a.name,
            queues: ['q1'],
            state: 'free' as const,
            inStateSec: 0,
            inStateKnown: true,
          })),
        };
      },
      dayReport: async (q: { date: string }) => {
        counts.dayReports += 1;
        await sleep(5);
        if (opts.failDay) throw new Error('database down');
        return dayReport(q.date, 3);
      },
    };
    return { admin, counts };
  }

  it('three viewers get the same frames from one run a tick and one day-report read', async () => {
    const { admin, counts } = stubAdmin();
    const feed = new WallFeed(admin, { timeZone: 'UTC', serviceLevelSec: 60, tickMs: 40, dayRefreshMs: 60_000 }, silentLogger());
    const got: string[][] = [[], [], []];
    const stops = got.map((list) => feed.subscribe((t) => list.push(t)));
    await sleep(400);
    for (const stop of stops) stop();
    const ticks = counts.snapshots;
    // About 10 ticks of 40 ms, plus the frame published when the day report arrived; never one per viewer.
    expect(ticks).to.be.within(2, 400 / 40 + 2);
    expect(feed.runs).to.equal(ticks);
    // Each viewer got every frame (the later ones the latest at once instead of the first): one build, three sends.
    expect(got.map((list) => list.length)).to.deep.equal([ticks, ticks, ticks]);
    expect(counts.dayReports).to.equal(1);
    expect(feed.dayReads).to.equal(1);
    // Every viewer saw the same text (the latest frame at once, then each frame as it was made).
    expect(got[1]?.slice(-3)).to.deep.equal(got[0]?.slice(-3));
    expect(got[2]?.slice(-3)).to.deep.equal(got[0]?.slice(-3));
    const last = JSON.parse((got[0]?.at(-1) ?? '').replace(/^event: wall\ndata: /, '')) as {
      agents: { callsToday: number; callbacksToday: number }[];
      day: { total: { callsAnswered: number } };
    };
    expect(last.agents[0]).to.deep.include({ callsToday: 4, callbacksToday: 2 });
    expect(last.day.total.callsAnswered).to.equal(3);
    // Nobody watches: nothing runs.
    await sleep(150);
    expect(counts.snapshots).to.equal(ticks);
  });

  it('a failing day report is read again only after the refresh interval and marks the frame stale', async () => {
    const { admin, counts } = stubAdmin({ failDay: true });
    const feed = new WallFeed(admin, { timeZone: 'UTC', serviceLevelSec: 60, tickMs: 20, dayRefreshMs: 60_000 }, silentLogger());
    const frames: string[] = [];
    const stop = feed.subscribe((t) => frames.push(t));
    await sleep(200);
    stop();
    expect(counts.dayReports).to.equal(1);
    expect(frames.at(-1)).to.include('"day":null').and.include('"dayStale":true');
  });

  it('names the day in the configured time zone', () => {
    // 23:30 UTC on 4 March is already 5 March in Tokyo and still 4 March in New York.
    const at = Date.parse('2030-03-04T23:30:00Z');
    expect(localDate(at, 'UTC')).to.equal('2030-03-04');
    expect(localDate(at, 'Asia/Tokyo')).to.equal('2030-03-05');
    expect(localDate(at, 'America/New_York')).to.equal('2030-03-04');
  });
});
