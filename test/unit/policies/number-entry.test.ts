import { expect } from 'chai';
import {
  createNumberEntry,
  NumberEntryAction,
  NumberEntryConfig,
  NumberEntryState,
  NumberEntryStep,
  numberEntryConfig,
  step,
  stepNumberEntry,
  withNumberPolicyDefaults,
} from '../../../src/domain/policies';

const policy = withNumberPolicyDefaults({ deny: ['1876XXXXXXX'] });
const cfg: NumberEntryConfig = { maxTries: 3, minDigits: 10, maxDigits: 14, policy };

/** Feeds keys one by one ('T' = timeout); returns the last step and every action in order. */
function feed(state: NumberEntryState, keys: string): { last: NumberEntryStep; actions: NumberEntryAction[] } {
  let last: NumberEntryStep = { state, actions: [] };
  const actions: NumberEntryAction[] = [];
  for (const k of keys) {
    last = step(last.state, k === 'T' ? { kind: 'timeout' } : { kind: 'digit', digit: k });
    actions.push(...last.actions);
  }
  return { last, actions };
}

const start = (c: NumberEntryConfig = cfg): NumberEntryState => createNumberEntry(c).state;

describe('policies/number-entry', () => {
  it('starts by prompting for the number', () => {
    const s = createNumberEntry(cfg);
    expect(s.actions).to.deep.equal(['prompt_enter']);
    expect(s.state).to.include({ phase: 'entering', typed: '', failedTries: 0 });
  });

  it('digits then # read the normalized number back; 1 accepts it', () => {
    const { last, actions } = feed(start(), '5551234567#');
    expect(actions).to.deep.equal(['read_back']);
    expect(last.number).to.equal('+15551234567');
    expect(last.state.phase).to.equal('confirming');
    const done = step(last.state, { kind: 'digit', digit: '1' });
    expect(done).to.deep.include({ actions: ['accepted'], number: '+15551234567' });
    expect(done.state.phase).to.equal('accepted');
  });

  it('typing stays silent until submitted', () => {
    const s = start();
    const one = step(s, { kind: 'digit', digit: '5' });
    expect(one.actions).to.deep.equal([]);
    expect(one.state.typed).to.equal('5');
    expect(s.typed, 'state is not mutated').to.equal('');
  });

  it("a timeout submits what was typed (like Read()); '1 555…' with the trunk prefix works too", () => {
    const { last, actions } = feed(start(), '15551234567T');
    expect(actions).to.deep.equal(['read_back']);
    expect(last.number).to.equal('+15551234567');
  });

  it('2 at the read-back re-enters without using a try; * does the same', () => {
    for (const key of ['2', '*']) {
      const { last, actions } = feed(start(), `5551234567#${key}5559876543#1`);
      expect(actions, key).to.deep.equal(['read_back', 'prompt_enter', 'read_back', 'accepted']);
      expect(last.number).to.equal('+15559876543');
      expect(last.state.failedTries).to.equal(0);
    }
  });

  it('* clears what was typed and prompts again, without using a try', () => {
    const { last, actions } = feed(start(), '999*5551234567#');
    expect(actions).to.deep.equal(['prompt_enter', 'read_back']);
    expect(last.number).to.equal('+15551234567');
    expect(last.state.failedTries).to.equal(0);
  });

  it('ignores keys that are not keypad digits', () => {
    const { last, actions } = feed(start(), '555A1234B567#');
    expect(actions).to.deep.equal(['read_back']);
    expect(last.number).to.equal('+15551234567');
    expect(step(start(), { kind: 'digit', digit: '55' }).state.typed).to.equal('');
    expect(step(start(), { kind: 'digit', digit: '٥' }).state.typed).to.equal('');
  });

  it('too few digits, nothing typed, or an invalid number are invalid tries', () => {
    const short = feed(start(), '555123#');
    expect(short.actions).to.deep.equal(['prompt_invalid', 'prompt_enter']);
    expect(short.last.rejection).to.equal('too_few_digits');
    expect(short.last.state).to.include({ phase: 'entering', typed: '', failedTries: 1 });
    expect(feed(start(), '#').last.rejection).to.equal('no_input');
    expect(feed(start(), 'T').last.rejection).to.equal('no_input');
    // 10 digits but area code 1xx: not a NANP number.
    expect(feed(start(), '1555123456#').last).to.deep.include({ actions: ['prompt_invalid', 'prompt_enter'], rejection: 'invalid_format' });
  });

  it('digits beyond maxDigits make the entry invalid when it is submitted (the rest is not carried over)', () => {
    const { last, actions } = feed(start(), '555123456789012#');
    expect(actions).to.deep.equal(['prompt_invalid', 'prompt_enter']);
    expect(last.rejection).to.equal('too_many_digits');
    expect(last.state.typed).to.equal('');
    // Exactly maxDigits is not too many: 14 digits with the international prefix.
    const intl = feed(start({ ...cfg, policy: { ...policy, denyInternational: false } }), '01144207946000#');
    expect(intl.actions).to.deep.equal(['read_back']);
    expect(intl.last.number).to.equal('+44207946000');
  });

  it('a number refused by the policy is a try with its own prompt', () => {
    const intl = feed(start(), '01144207946000#');
    expect(intl.actions).to.deep.equal(['prompt_refused', 'prompt_enter']);
    expect(intl.last.rejection).to.equal('international');
    expect(intl.last.state.failedTries).to.equal(1);
    expect(feed(start(), '9005551234#').last.rejection).to.equal('premium');
    expect(feed(start(), '8765551234#').last.rejection).to.equal('denied_pattern');
  });

  it('the third failed try gives up, whatever mix of invalid and refused it was', () => {
    const { last, actions } = feed(start(), '123#9005551234#T');
    expect(actions).to.deep.equal(['prompt_invalid', 'prompt_enter', 'prompt_refused', 'prompt_enter', 'give_up']);
    expect(last.rejection).to.equal('no_input');
    expect(last.state.phase).to.equal('gave_up');
    // Terminal: nothing happens any more.
    expect(feed(last.state, '5551234567#1T').actions).to.deep.equal([]);
  });

  it('a valid entry after failures still succeeds; maxTries is configurable', () => {
    expect(feed(start(), '1#2#5551234567#1').actions).to.deep.equal([
      'prompt_invalid',
      'prompt_enter',
      'prompt_invalid',
      'prompt_enter',
      'read_back',
      'accepted',
    ]);
    expect(feed(start({ ...cfg, maxTries: 1 }), '#').actions).to.deep.equal(['give_up']);
  });

  it('at the read-back, silence or a wrong key reads it back again and uses a try', () => {
    const { last, actions } = feed(start(), '5551234567#T9');
    expect(actions).to.deep.equal(['read_back', 'prompt_invalid', 'read_back', 'prompt_invalid', 'read_back']);
    expect(last.number).to.equal('+15551234567');
    expect(last.state).to.include({ phase: 'confirming', failedTries: 2 });
    const third = step(last.state, { kind: 'digit', digit: '#' });
    expect(third).to.deep.include({ actions: ['give_up'], rejection: 'bad_confirmation' });
    expect(third.number).to.equal(undefined);
    // A non-keypress event at the read-back is ignored.
    expect(step(last.state, { kind: 'digit', digit: '12' }).actions).to.deep.equal([]);
  });

  it('accepted is terminal and keeps the number', () => {
    const { last } = feed(start(), '5551234567#1');
    expect(last.state).to.include({ phase: 'accepted', candidate: '+15551234567' });
    expect(feed(last.state, '2*#T').actions).to.deep.equal([]);
    expect(feed(last.state, '2').last.state.phase).to.equal('accepted');
  });

  it('numberEntryConfig derives digit limits from the policy; stepNumberEntry is step', () => {
    expect(numberEntryConfig(policy)).to.deep.include({ maxTries: 3, minDigits: 10, maxDigits: 18 });
    expect(numberEntryConfig({ ...policy, nationalNumberLength: undefined }, { maxTries: 5 })).to.deep.include({
      maxTries: 5,
      minDigits: 7,
    });
    expect(stepNumberEntry).to.equal(step);
  });

  it('refuses a bad config up front, including bad policy patterns', () => {
    expect(() => createNumberEntry({ ...cfg, maxTries: 0 })).to.throw(RangeError, /maxTries/);
    expect(() => createNumberEntry({ ...cfg, minDigits: 0 })).to.throw(RangeError, /minDigits/);
    expect(() => createNumberEntry({ ...cfg, maxDigits: 9 })).to.throw(RangeError, /maxDigits/);
    expect(() => createNumberEntry({ ...cfg, policy: { ...policy, deny: ['1[9-'] } })).to.throw(RangeError, /unclosed/);
  });
});
