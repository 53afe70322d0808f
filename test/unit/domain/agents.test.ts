import { expect } from 'chai';
import { DeviceState, isAgentAvailable, pickAgent, queuePriority } from '../../../src/domain/agents';
import { agent } from './fixtures';

const NOW = 10_000;

describe('domain/agents', () => {
  describe('isAgentAvailable', () => {
    it('a logged-in, unpaused, idle agent past wrap-up is available', () => {
      expect(isAgentAvailable(agent('a'), NOW)).to.equal(true);
    });

    it('logged out, paused, or on a plugin call is not available', () => {
      expect(isAgentAvailable(agent('a', { loggedIn: false }), NOW)).to.equal(false);
      expect(isAgentAvailable(agent('a', { paused: true }), NOW)).to.equal(false);
      expect(isAgentAvailable(agent('a', { onPluginCall: true }), NOW)).to.equal(false);
    });

    it('wrap-up blocks until exactly wrapUpUntil', () => {
      expect(isAgentAvailable(agent('a', { wrapUpUntil: NOW + 1 }), NOW)).to.equal(false);
      expect(isAgentAvailable(agent('a', { wrapUpUntil: NOW }), NOW)).to.equal(true);
    });

    it('only NOT_INUSE is free among device states', () => {
      const busy: DeviceState[] = ['INUSE', 'BUSY', 'INVALID', 'UNAVAILABLE', 'RINGING', 'RINGINUSE', 'ONHOLD', 'UNKNOWN'];
      for (const s of busy) expect(isAgentAvailable(agent('a', { deviceState: s }), NOW), s).to.equal(false);
    });

    it('UNKNOWN counts as free only when configured', () => {
      const a = agent('a', { deviceState: 'UNKNOWN' });
      expect(isAgentAvailable(a, NOW, { unknownIsFree: true })).to.equal(true);
      expect(isAgentAvailable(agent('b', { deviceState: 'UNAVAILABLE' }), NOW, { unknownIsFree: true })).to.equal(false);
    });
  });

  describe('pickAgent', () => {
    it('returns undefined with no agents or no member available', () => {
      expect(pickAgent([], 'q1', NOW)).to.equal(undefined);
      expect(pickAgent([agent('a', {}, ['q2']), agent('b', { paused: true })], 'q1', NOW)).to.equal(undefined);
    });

    it('picks the longest idle (smallest idleSince)', () => {
      const agents = [agent('a', { idleSince: 500 }), agent('b', { idleSince: 100 }), agent('c', { idleSince: 300 })];
      expect(pickAgent(agents, 'q1', NOW)?.id).to.equal('b');
    });

    it('breaks idle ties by higher queue priority, then by id', () => {
      const lo = agent('a', { idleSince: 100 });
      const hi = { ...agent('z', { idleSince: 100 }), queues: [{ queueId: 'q1', priority: 5 }] };
      expect(pickAgent([lo, hi], 'q1', NOW)?.id).to.equal('z');
      expect(pickAgent([agent('m', { idleSince: 1 }), agent('b', { idleSince: 1 })], 'q1', NOW)?.id).to.equal('b');
    });

    it('uses the priority for the queue asked about, not another membership', () => {
      const x = {
        ...agent('x'),
        queues: [
          { queueId: 'q1', priority: 1 },
          { queueId: 'q2', priority: 9 },
        ],
      };
      const y = { ...agent('y'), queues: [{ queueId: 'q1', priority: 5 }] };
      expect(pickAgent([x, y], 'q1', NOW)?.id).to.equal('y');
      expect(queuePriority(x, 'q2')).to.equal(9);
      expect(queuePriority(x, 'q3')).to.equal(undefined);
    });

    it('skips excluded and unavailable agents even if they idled longest', () => {
      const agents = [agent('a', { idleSince: 1 }), agent('b', { idleSince: 2, wrapUpUntil: NOW + 5 }), agent('c', { idleSince: 3 })];
      expect(pickAgent(agents, 'q1', NOW, (id) => id === 'a')?.id).to.equal('c');
      expect(pickAgent(agents, 'q1', NOW, () => true)).to.equal(undefined);
    });

    it('passes availability options through', () => {
      const agents = [agent('u', { deviceState: 'UNKNOWN', idleSince: 1 }), agent('n', { idleSince: 2 })];
      expect(pickAgent(agents, 'q1', NOW)?.id).to.equal('n');
      expect(pickAgent(agents, 'q1', NOW, undefined, { unknownIsFree: true })?.id).to.equal('u');
    });
  });
});
