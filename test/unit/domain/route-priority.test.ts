import { expect } from 'chai';
import { planAssignments, PendingCallback } from '../../../src/domain/dispatch';
import { QueueOrder } from '../../../src/domain/queue-order';
import { callerPriority, isItemPriority, ITEM_PRIORITY_MAX, ITEM_PRIORITY_MIN, WorkItem } from '../../../src/domain/work-item';
import { agent } from './fixtures';

/**
 * Priority per route (issue 22): the order is priority, then original arrival. A VIP is served
 * before earlier normal callers; a callback keeps its caller's priority and arrival, and never
 * gets ahead of a caller of the same priority who arrived earlier.
 */

const NORMAL = 0;
const VIP = 10;
let seq = 0;
const caller = (id: string, arrivedAt: number, priority = NORMAL): WorkItem => ({
  id,
  queueId: 'q1',
  kind: 'caller',
  priority,
  arrivedAt,
  seq: ++seq,
});
/** What booking does with a caller's item (session-context convertToCallback): same priority, arrival, seq. */
const booked = (from: WorkItem, id: string): WorkItem => ({ ...from, id, kind: 'callback' });

/** Who an agent freeing up now is given, one at a time, until the queue is empty. */
function serviceOrder(order: QueueOrder, callbacks: readonly string[]): string[] {
  const served: string[] = [];
  const pending = new Map<string, PendingCallback>(
    callbacks.map((id) => [id, { itemId: id, queueId: 'q1', declinedBy: [], inFlight: false }]),
  );
  while (order.size > 0) {
    const [next] = planAssignments({
      now: 10_000,
      queues: [{ queueId: 'q1', order }],
      callbacks: pending,
      agents: [agent('a')],
      agentsReserved: new Set(),
    });
    if (!next)
      throw new Error(
        `nobody planned; left: ${order
          .items()
          .map((i) => i.id)
          .join(',')}`,
      );
    served.push(next.itemId);
    order.remove(next.itemId);
  }
  return served;
}

describe('domain: priority per route', () => {
  it('callerPriority: the route sets it when it has one, else the queue decides; nothing is added', () => {
    expect(callerPriority(0, undefined)).to.equal(0);
    expect(callerPriority(3, undefined)).to.equal(3);
    expect(callerPriority(0, VIP)).to.equal(VIP);
    // A route may also lower it (a "low" line), and it replaces, never adds to, the queue's.
    expect(callerPriority(5, -2)).to.equal(-2);
    expect(callerPriority(5, 0)).to.equal(0);
  });

  it('isItemPriority: whole numbers within the documented range only', () => {
    for (const ok of [0, 1, -1, ITEM_PRIORITY_MIN, ITEM_PRIORITY_MAX]) expect(isItemPriority(ok), String(ok)).to.equal(true);
    for (const bad of [0.5, NaN, Infinity, ITEM_PRIORITY_MIN - 1, ITEM_PRIORITY_MAX + 1])
      expect(isItemPriority(bad), String(bad)).to.equal(false);
  });

  it('a VIP caller arriving last is served before earlier normal callers', () => {
    const order = new QueueOrder([caller('n1', 100), caller('n2', 200), caller('n3', 300), caller('vip', 400, VIP)]);
    expect(order.position('vip')).to.equal(1);
    expect(serviceOrder(order, [])).to.deep.equal(['vip', 'n1', 'n2', 'n3']);
  });

  it('two VIPs keep their own arrival order between them, both ahead of normal callers', () => {
    const order = new QueueOrder([caller('n1', 100), caller('vip2', 500, VIP), caller('vip1', 400, VIP)]);
    expect(order.items().map((i) => i.id)).to.deep.equal(['vip1', 'vip2', 'n1']);
  });

  it('a callback never jumps ahead of a caller of the same priority who arrived earlier', () => {
    const early = caller('early', 100);
    const booker = caller('booker', 200);
    const late = caller('late', 300);
    const order = new QueueOrder([early, booker, late]);
    // The booker presses 1: its item leaves, the callback takes exactly its place.
    order.remove(booker.id);
    order.add(booked(booker, 'cb'));
    expect(order.items().map((i) => i.id)).to.deep.equal(['early', 'cb', 'late']);
    // Served in that order: the earlier caller first, then the callback, then the later caller.
    expect(serviceOrder(order, ['cb'])).to.deep.equal(['early', 'cb', 'late']);
  });

  it('a callback booked by an earlier normal caller is served before later normal callers, after a later VIP', () => {
    const booker = caller('booker', 100);
    const order = new QueueOrder([booked(booker, 'cb'), caller('later1', 200), caller('later2', 300), caller('vip', 400, VIP)]);
    expect(serviceOrder(order, ['cb'])).to.deep.equal(['vip', 'cb', 'later1', 'later2']);
  });

  it("a callback keeps its caller's priority: a VIP's callback stays ahead of earlier normal callers", () => {
    const vip = caller('vip', 500, VIP);
    const order = new QueueOrder([caller('n1', 100), caller('n2', 200), vip]);
    order.remove(vip.id);
    const cb = booked(vip, 'vip-cb');
    order.add(cb);
    expect(order.get('vip-cb')?.priority).to.equal(VIP);
    expect(order.get('vip-cb')?.arrivedAt).to.equal(500);
    expect(serviceOrder(order, ['vip-cb'])).to.deep.equal(['vip-cb', 'n1', 'n2']);
  });

  it('a normal callback gains nothing over a VIP who arrived after it', () => {
    const order = new QueueOrder([booked(caller('n', 100), 'cb'), caller('vip', 900, VIP)]);
    expect(order.items().map((i) => [i.id, i.priority])).to.deep.equal([
      ['vip', VIP],
      ['cb', NORMAL],
    ]);
  });
});
