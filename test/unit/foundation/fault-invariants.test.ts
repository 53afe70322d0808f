import { expect } from 'chai';
import { countInvariants, InvariantInput } from '../../../tools/faults/invariants';
import { adoptionChecks, adoptionViolations, AdoptionChecks } from '../../../tools/faults/asterisk-scenarios';
import { ObservedEvent } from '../../../tools/asterisk-lab/observer';
import { PluginLogLine } from '../../../tools/support/plugin-process';

/**
 * The fault runs report zeros; these prove each counter and each re-adoption rule can report
 * something else (a counter that cannot count would make every fault run pass).
 */
const clean: InvariantInput = {
  storedBeforeRestart: ['cb-1'],
  rows: [{ id: 'cb-1', customer_number: '+15550001001', status: 'completed', claimed_by: null }],
  confirmedNumbers: ['+15550001001'],
  attempts: [
    {
      callback_id: 'cb-1',
      customer_channel_id: 'leg-1',
      customer_dialed_at: new Date(1000),
      customer_answered_at: new Date(2000),
      bridged_at: new Date(2500),
    },
  ],
  customerLegs: [{ id: 'leg-1', answered: true, createdAt: 1000 }],
  dialsPerChannel: new Map([['leg-1', 1]]),
  completedAt: new Map([['cb-1', 5000]]),
  channelsLeft: [],
};

const zero = { lost: 0, false_confirmations: 0, double_dials: 0, stuck: 0 };
const counts = (input: InvariantInput) => {
  const c = countInvariants(input);
  return { lost: c.lost, false_confirmations: c.false_confirmations, double_dials: c.double_dials, stuck: c.stuck };
};

describe('faults: the four invariants are counted', () => {
  it('a clean run counts nothing', () => {
    expect(counts(clean)).to.deep.equal(zero);
  });

  it('a confirmation heard without a stored request is a false confirmation', () => {
    expect(counts({ ...clean, confirmedNumbers: ['+15550001001', '+15550009999'] })).to.deep.equal({ ...zero, false_confirmations: 1 });
  });

  it('a request gone after the restart, or ended cancelled or expired, is lost', () => {
    expect(counts({ ...clean, storedBeforeRestart: ['cb-1', 'cb-2'] }).lost).to.equal(1);
    expect(counts({ ...clean, rows: [{ ...clean.rows[0], status: 'expired' }] }).lost).to.equal(1);
  });

  it('a leg dialled twice, a leg no attempt accounts for, a dial after a stored conversation, a leg created after completion: each a double dial', () => {
    expect(counts({ ...clean, dialsPerChannel: new Map([['leg-1', 2]]) }).double_dials).to.equal(1);
    expect(counts({ ...clean, customerLegs: [...clean.customerLegs, { id: 'leg-x', answered: false }] }).double_dials).to.equal(1);
    const redial = {
      callback_id: 'cb-1',
      customer_channel_id: 'leg-2',
      customer_dialed_at: new Date(3000),
      customer_answered_at: null,
      bridged_at: null,
    };
    const legs = [...clean.customerLegs, { id: 'leg-2', answered: false, createdAt: 3000 }];
    expect(counts({ ...clean, attempts: [...clean.attempts, redial], customerLegs: legs }).double_dials).to.equal(1);
    // Answered but never bridged (the guard's 1 never came): calling again is the retry, not a double dial.
    const answeredOnly = { ...clean.attempts[0], bridged_at: null };
    expect(counts({ ...clean, attempts: [answeredOnly, redial], customerLegs: legs }).double_dials).to.equal(0);
    expect(counts({ ...clean, customerLegs: [{ id: 'leg-1', answered: true, createdAt: 6000 }] }).double_dials).to.equal(1);
  });

  it('a claimed or unserved callback, or a channel left up, is stuck', () => {
    expect(counts({ ...clean, rows: [{ ...clean.rows[0], status: 'in_progress', claimed_by: 'p1' }] }).stuck).to.equal(1);
    expect(counts({ ...clean, rows: [{ ...clean.rows[0], status: 'pending' }] }).stuck).to.equal(1);
    expect(counts({ ...clean, channelsLeft: ['PJSIP/trunk-00000001(Up)'] }).stuck).to.equal(1);
  });
});

describe('faults: the re-adoption rules on a real Asterisk are checked', () => {
  const kept: AdoptionChecks = {
    adopted: ['c1'],
    confirmed_again: [],
    adopted_pairs: 0,
    answers: 0,
    slow_requests: [],
    max_request_ms: 20,
    unjustified_hangups: [],
    holding_bridges_reused: 1,
    holding_bridge_reentered: [],
    old_prompts_stopped: 1,
    first_request_ms: 1500,
  };

  it('all kept: no violation', () => {
    expect(adoptionViolations(kept)).to.deep.equal([]);
  });

  it('an answer re-sent, a request that waited, a hang-up without reason, a holding bridge not reused: each reported', () => {
    expect(adoptionViolations({ ...kept, answers: 1 })).to.have.length(1);
    expect(adoptionViolations({ ...kept, slow_requests: ['answer c1 6700 ms'] })).to.have.length(1);
    expect(adoptionViolations({ ...kept, unjustified_hangups: ['c1'] })).to.have.length(1);
    expect(adoptionViolations({ ...kept, holding_bridges_reused: 0 })).to.have.length(1);
    expect(adoptionViolations({ ...kept, holding_bridge_reentered: ['c1'] })).to.have.length(1);
  });

  describe('read from the plugin log and Asterisk events', () => {
    const since = Date.parse('2026-11-27T10:00:00.000Z');
    const at = (ms: number): string => new Date(since + ms).toISOString();
    const adopted: PluginLogLine = {
      message: 'reconcile: adopting a caller left in Stasis into its queue again',
      channelId: 'c1',
      timestamp: at(100),
    };
    const bridgeEvent = (type: string, ms: number): ObservedEvent => ({
      type,
      at: since + ms,
      receivedAt: since + ms,
      raw: {
        channel: { id: 'c1', name: 'PJSIP/trunk-1', state: 'Up' },
        bridge: { id: 'hold.direct-callback.support', bridge_type: 'holding', channels: [] },
      },
    });
    const request = (op: string, target: string, result: string, ms: number): PluginLogLine => ({
      message: 'ari request',
      op,
      target,
      result,
      ms: 2,
      timestamp: at(ms),
    });

    it('kept in its holding bridge, no leave and enter: reused, nothing re-entered', () => {
      const c = adoptionChecks(
        { lines: [adopted, { message: 'adopted caller kept in its holding bridge', callId: 'c1', timestamp: at(120) }] },
        [],
        since,
      );
      expect(c.holding_bridges_reused).to.equal(1);
      expect(c.holding_bridge_reentered).to.deep.equal([]);
    });

    it('added again to the bridge it was in: Asterisk takes it out and puts it back, reported', () => {
      const lines = [adopted, request('addToBridge', 'hold.direct-callback.support c1', 'ok', 130)];
      const c = adoptionChecks({ lines }, [bridgeEvent('ChannelLeftBridge', 128), bridgeEvent('ChannelEnteredBridge', 129)], since);
      expect(c.holding_bridges_reused).to.equal(1);
      expect(c.holding_bridge_reentered).to.deep.equal(['c1']);
      expect(adoptionViolations(c)).to.have.length(1);
    });

    it('leaving the holding bridge for good (hung up, or to an agent) is no re-entry', () => {
      const c = adoptionChecks(
        { lines: [adopted, { message: 'adopted caller kept in its holding bridge', callId: 'c1', timestamp: at(120) }] },
        [bridgeEvent('ChannelEnteredBridge', -5000), bridgeEvent('ChannelLeftBridge', 9000)],
        since,
      );
      expect(c.holding_bridge_reentered).to.deep.equal([]);
    });
  });
});
