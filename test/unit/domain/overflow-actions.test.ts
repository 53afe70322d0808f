import { expect } from 'chai';
import { actionInForce, formatOverflowAction, mayMoveTo, OverflowStep, parseOverflowAction } from '../../../src/domain/overflow-actions';

describe('domain/overflow-actions', () => {
  describe('parseOverflowAction', () => {
    it('reads every action and writes it back the same', () => {
      for (const text of ['callback', 'queue:sales', 'external:+15551234567', 'voicemail:1001@default', 'message:callback/closed']) {
        const r = parseOverflowAction(text);
        expect(r.ok, text).to.equal(true);
        if (r.ok) expect(formatOverflowAction(r.action)).to.equal(text);
      }
    });
    it('refuses unknown actions and bad arguments with a message naming them', () => {
      const cases: [string, RegExp][] = [
        ['transfer:5551234', /not an overflow action/],
        ['queue:', /not an overflow action/],
        ['queue:bad id', /queue id/],
        ['external:5551234x', /external number/],
        ['voicemail:a b', /mailbox/],
        ['message:../../etc/passwd', /sound/],
        ['message:sound:x', /sound/],
      ];
      for (const [text, err] of cases) {
        const r = parseOverflowAction(text);
        expect(r.ok, text).to.equal(false);
        if (!r.ok) expect(r.error).to.match(err);
      }
    });
  });

  describe('actionInForce: an escalation ladder, the last step that holds wins', () => {
    const ladder: OverflowStep[] = [
      { when: { maxWaiting: 3 }, action: { kind: 'callback' } },
      { when: { waitedSec: 600 }, action: { kind: 'voicemail', mailbox: '100' } },
    ];
    const state = { waitingCount: 1, estimatedWaitSec: 0, waitedSec: 0, outOfHours: false };
    it('nothing holds: no action', () => {
      expect(actionInForce(ladder, state)).to.equal(undefined);
    });
    it('the first condition: the callback offer', () => {
      expect(actionInForce(ladder, { ...state, waitingCount: 3 })).to.deep.equal({
        index: 0,
        action: { kind: 'callback' },
        reasons: ['waiting_count'],
      });
    });
    it('past the second condition: voicemail, whatever the first says', () => {
      expect(actionInForce(ladder, { ...state, waitingCount: 3, waitedSec: 600 })?.action).to.deep.equal({
        kind: 'voicemail',
        mailbox: '100',
      });
      expect(actionInForce(ladder, { ...state, waitingCount: 1, waitedSec: 601 })?.reasons).to.deep.equal(['waited']);
    });
    it('out of hours and the estimated wait are conditions too', () => {
      const steps: OverflowStep[] = [
        { when: { maxEstimatedWaitSec: 300 }, action: { kind: 'queue', queueId: 'sales' } },
        { when: { outOfHours: true }, action: { kind: 'message', sound: 'callback/closed' } },
      ];
      expect(actionInForce(steps, { ...state, estimatedWaitSec: 300 })?.action.kind).to.equal('queue');
      expect(actionInForce(steps, { ...state, outOfHours: true })?.reasons).to.deep.equal(['out_of_hours']);
      expect(actionInForce(steps, { ...state, estimatedWaitSec: 299 })).to.equal(undefined);
    });
  });

  it('mayMoveTo: never back into a queue the caller left, and only a few moves', () => {
    expect(mayMoveTo('sales', ['support'])).to.equal(true);
    expect(mayMoveTo('support', ['support', 'sales'])).to.equal(false);
    expect(mayMoveTo('d', ['a', 'b', 'c', 'x'])).to.equal(false);
  });
});
