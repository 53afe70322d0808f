import { expect } from 'chai';
import {
  checkNumberPolicy,
  compileDialPattern,
  DEFAULT_NUMBER_POLICY,
  InvalidDialPatternError,
  normalizeNumber,
  NumberPolicyConfig,
  NUMBERING_PLAN_PRESETS,
  validateNumberPolicy,
  withNumberPolicyDefaults,
  assertValidNumberPolicy,
} from '../../../src/domain/policies';

const nanp = withNumberPolicyDefaults();
const uk = withNumberPolicyDefaults({ ...NUMBERING_PLAN_PRESETS.uk });
const fr = withNumberPolicyDefaults({ ...NUMBERING_PLAN_PRESETS.fr });
const none = { pendingForNumber: 0 };

function e164(raw: string, cfg: NumberPolicyConfig): string {
  const n = normalizeNumber(raw, cfg);
  if (!n.ok) throw new Error(`expected ${raw} to normalize, got ${n.reason}`);
  return n.e164;
}

function reason(raw: string, cfg: NumberPolicyConfig): string {
  const n = normalizeNumber(raw, cfg);
  return n.ok ? `ok:${n.e164}` : n.reason;
}

describe('policies/number-policy', () => {
  describe('defaults', () => {
    it('are NANP with international and premium denied and one pending callback per number', () => {
      expect(DEFAULT_NUMBER_POLICY).to.include({
        countryCode: '1',
        nationalPrefix: '1',
        internationalPrefix: '011',
        denyInternational: true,
        denyPremium: true,
        maxPendingPerNumber: 1,
      });
      expect(DEFAULT_NUMBER_POLICY.premiumPrefixes).to.deep.equal(['900', '976']);
      expect(validateNumberPolicy(nanp)).to.deep.equal([]);
      for (const preset of Object.values(NUMBERING_PLAN_PRESETS))
        expect(validateNumberPolicy(withNumberPolicyDefaults({ ...preset }))).to.deep.equal([]);
    });

    it('withNumberPolicyDefaults copies arrays so queues never share (and mutate) one list', () => {
      const a = withNumberPolicyDefaults();
      a.premiumPrefixes.push('555');
      a.deny.push('1X.');
      expect(DEFAULT_NUMBER_POLICY.premiumPrefixes).to.deep.equal(['900', '976']);
      expect(withNumberPolicyDefaults().deny).to.deep.equal([]);
    });
  });

  describe('normalizeNumber', () => {
    it('accepts the usual NANP spellings and yields E.164, national and digits', () => {
      for (const raw of [
        '+1 (555) 123-4567',
        '555-123-4567',
        '(555) 123 4567',
        '555.123.4567',
        '1 555 123 4567',
        '15551234567',
        '011 1 555 123 4567',
        '  5551234567  ',
      ]) {
        const n = normalizeNumber(raw, nanp);
        expect(n, raw).to.deep.equal({ ok: true, e164: '+15551234567', national: '5551234567', digits: '15551234567', domestic: true });
      }
    });

    it('turns the international prefix into E.164 and keeps foreign numbers as they are', () => {
      expect(normalizeNumber('011 44 20 7946 0000', nanp)).to.deep.equal({
        ok: true,
        e164: '+442079460000',
        national: '442079460000',
        digits: '442079460000',
        domestic: false,
      });
      expect(e164('+44 20 7946 0000', nanp)).to.equal('+442079460000');
      expect(e164('0033 6 12 34 56 78', uk)).to.equal('+33612345678');
    });

    it('handles a "0" trunk prefix (UK, FR), the "+44 (0)" habit and a country code without "+"', () => {
      expect(normalizeNumber('020 7946 0000', uk)).to.deep.equal({
        ok: true,
        e164: '+442079460000',
        national: '2079460000',
        digits: '442079460000',
        domestic: true,
      });
      expect(e164('07700 900123', uk)).to.equal('+447700900123');
      expect(e164('+44 (0)20 7946 0000', uk)).to.equal('+442079460000');
      expect(e164('06 12 34 56 78', fr)).to.equal('+33612345678');
      expect(e164('33612345678', fr)).to.equal('+33612345678');
      expect(e164('612345678', fr)).to.equal('+33612345678');
    });

    it('rejects letters, SQL, unicode digits and other characters', () => {
      for (const raw of [
        '555-CALL-NOW',
        "5551234567'; DROP TABLE callbacks;--",
        '٥٥٥١٢٣٤٥٦٧',
        '５５５１２３４５６７',
        '555\u00a0123\u00a04567',
        '555_123_4567',
        '555/123/4567',
        '5551234567#',
        '*5551234567',
        '5551234567\n',
      ]) {
        expect(reason(raw, nanp), JSON.stringify(raw)).to.equal('invalid_characters');
      }
    });

    it('reports empty input, misplaced "+" and impossible numbers', () => {
      for (const raw of ['', '   ', '()', '+', ' - . ']) expect(reason(raw, nanp), JSON.stringify(raw)).to.equal('empty');
      expect(reason('555+1234567', nanp)).to.equal('invalid_format');
      expect(reason('++15551234567', nanp)).to.equal('invalid_format');
      expect(reason('+0 555 123 4567', nanp)).to.equal('invalid_format');
      expect(reason('011 0 555 123 4567', nanp)).to.equal('invalid_format');
      // 10 digits starting with the trunk prefix: not a NANP number (area codes start with 2-9).
      expect(reason('1555123456', nanp)).to.equal('invalid_format');
    });

    it('reports too short and too long against the national length and E.164 limits', () => {
      expect(reason('555-1234', nanp)).to.equal('too_short');
      expect(reason('1', nanp)).to.equal('too_short');
      expect(reason('555 123 45678', nanp)).to.equal('too_long');
      expect(reason('+1 555 123 456', nanp)).to.equal('too_short');
      expect(reason('+1 555 123 45678', nanp)).to.equal('too_long');
      expect(reason('+44 123', nanp)).to.equal('too_short');
      expect(reason('+44 1234 5678 901234', nanp)).to.equal('too_long'); // 16 digits
      expect(reason('011', nanp)).to.equal('too_short');
      expect(reason('+44 1234 5678 90123', nanp)).to.equal('ok:+441234567890123'); // 15 digits: the E.164 maximum
    });

    it('without a national length, only the E.164 bounds apply (and NANP numbers are 10 digits whatever)', () => {
      const loose: NumberPolicyConfig = { ...uk, nationalNumberLength: undefined };
      expect(e164('020 1234', loose)).to.equal('+44201234');
      expect(reason('12', loose)).to.equal('too_short');
      const looseNanp: NumberPolicyConfig = { ...nanp, nationalNumberLength: undefined };
      expect(reason('555 1234', looseNanp)).to.equal('too_short');
      expect(reason('555 666 00012', looseNanp)).to.equal('too_long');
      expect(e164('555 666 0001', looseNanp)).to.equal('+15556660001');
    });

    it('rejects 10,000 characters at once, whatever they are, without scanning them', () => {
      for (const raw of ['5'.repeat(10_000), '('.repeat(10_000), 'a'.repeat(10_000), ' '.repeat(9_999) + '1']) {
        const t0 = process.hrtime.bigint();
        expect(reason(raw, nanp)).to.equal('too_long');
        expect(Number(process.hrtime.bigint() - t0) / 1e6).to.be.below(50);
      }
      expect(reason('5'.repeat(64), nanp)).to.equal('too_long');
      expect(reason(' '.repeat(50) + '5551234567', nanp)).to.equal('ok:+15551234567');
    });
  });

  describe('compileDialPattern', () => {
    it('X, Z, N and literal digits match exactly one digit each, and the length must match', () => {
      const m = compileDialPattern('1555XXXXXXX');
      expect(m('15551234567')).to.equal(true);
      expect(m('1555123456')).to.equal(false);
      expect(m('155512345678')).to.equal(false);
      expect(m('15561234567')).to.equal(false);
      const z = compileDialPattern('1Z');
      expect(z('10')).to.equal(false);
      expect(z('11')).to.equal(true);
      const n = compileDialPattern('1N');
      expect(n('11')).to.equal(false);
      expect(n('12')).to.equal(true);
      expect(n('19')).to.equal(true);
      expect(compileDialPattern('1nxz')('1290')).to.equal(false);
      expect(compileDialPattern('1nxz')('1209')).to.equal(true);
      expect(compileDialPattern('1nxz')('1109')).to.equal(false);
    });

    it('character classes with lists and ranges', () => {
      const m = compileDialPattern('4[1-35-7]');
      expect(['41', '42', '43', '45', '46', '47'].every(m)).to.equal(true);
      expect(['40', '44', '48', '49'].some(m)).to.equal(false);
      expect(compileDialPattern('[09]')('9')).to.equal(true);
      expect(compileDialPattern('[09]')('5')).to.equal(false);
    });

    it("trailing '.' is one or more digits, trailing '!' zero or more", () => {
      const dot = compileDialPattern('44N.');
      expect(dot('442079460000')).to.equal(true);
      expect(dot('442')).to.equal(false);
      expect(dot('4420')).to.equal(true);
      expect(dot('4410')).to.equal(false);
      const bang = compileDialPattern('44N!');
      expect(bang('442')).to.equal(true);
      expect(bang('44')).to.equal(false);
    });

    it("accepts Asterisk's leading '_'", () => {
      expect(compileDialPattern('_1NXX')('1212')).to.equal(true);
    });

    it('never matches non-digits, even under X or a trailing dot', () => {
      const m = compileDialPattern('1X.');
      expect(m('15551234567')).to.equal(true);
      expect(m('1555123456a')).to.equal(false);
      expect(m('+15551234567')).to.equal(false);
      expect(m('1٥')).to.equal(false);
      expect(m('')).to.equal(false);
    });

    it('throws a clear error on a bad pattern', () => {
      const bad: [string, RegExp][] = [
        ['', /empty/],
        ['_', /nothing after/],
        ['1.5', /only allowed at the end/],
        ['1..', /only allowed at the end/],
        ['.', /at least one digit/],
        ['1[2-', /unclosed/],
        ['1[]', /empty "\[\]"/],
        ['1[5-1]', /reversed range/],
        ['1[a]', /only digits/],
        ['1[2-]', /incomplete range/],
        ['+1555', /without "\+"/],
        ['1555 XXX', /unexpected " "/],
        ['1W', /unexpected "W"/],
        ['X'.repeat(300), /longer than/],
      ];
      for (const [p, msg] of bad) {
        expect(() => compileDialPattern(p), p).to.throw(InvalidDialPatternError, msg);
      }
    });

    it('matches in linear time on long inputs (no backtracking)', () => {
      const m = compileDialPattern('1X.');
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 100; i++) m('1' + '9'.repeat(10_000) + 'a');
      expect(Number(process.hrtime.bigint() - t0) / 1e6).to.be.below(500);
    });
  });

  describe('checkNumberPolicy', () => {
    it('allows a plain domestic number', () => {
      expect(checkNumberPolicy('+15551234567', nanp, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('15551234567', nanp, none)).to.deep.equal({ allowed: true });
    });

    it('refuses international numbers by default, and allows them when denyInternational is false', () => {
      expect(checkNumberPolicy('+442079460000', nanp, none)).to.deep.equal({ allowed: false, reason: 'international' });
      expect(checkNumberPolicy('+442079460000', { ...nanp, denyInternational: false }, none)).to.deep.equal({ allowed: true });
    });

    it('refuses domestic premium prefixes (national significant number), not lookalikes', () => {
      expect(checkNumberPolicy('+19005551234', nanp, none)).to.deep.equal({ allowed: false, reason: 'premium' });
      expect(checkNumberPolicy('+19765551234', nanp, none)).to.deep.equal({ allowed: false, reason: 'premium' });
      expect(checkNumberPolicy('+15559001234', nanp, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('+19005551234', { ...nanp, denyPremium: false }, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy(e164('09 0 1234 5678', uk), uk, none)).to.deep.equal({ allowed: false, reason: 'premium' });
      expect(checkNumberPolicy(e164('0 89 12 34 56 7', fr), fr, none)).to.deep.equal({ allowed: false, reason: 'premium' });
    });

    it('premium prefixes only apply to domestic numbers (foreign ones are the international rule)', () => {
      // +90… is Turkey, not a NANP 900 number.
      expect(checkNumberPolicy('+905321234567', { ...nanp, denyInternational: false }, none)).to.deep.equal({ allowed: true });
    });

    it('deny patterns refuse, and deny wins over allow', () => {
      const cfg = { ...nanp, deny: ['1876XXXXXXX'], allow: ['1NXXNXXXXXX'] };
      expect(checkNumberPolicy('+18765551234', cfg, none)).to.deep.equal({ allowed: false, reason: 'denied_pattern' });
      expect(checkNumberPolicy('+12125551234', cfg, none)).to.deep.equal({ allowed: true });
    });

    it('a non-empty allow list refuses what it does not match', () => {
      const cfg = { ...nanp, allow: ['1212NXXXXXX', '1646NXXXXXX'] };
      expect(checkNumberPolicy('+12125551234', cfg, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('+16465551234', cfg, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('+13125551234', cfg, none)).to.deep.equal({ allowed: false, reason: 'not_allowed_pattern' });
    });

    it('an allow pattern does not override the built-in international guard', () => {
      const cfg = { ...nanp, allow: ['44N.'] };
      expect(checkNumberPolicy('+442079460000', cfg, none)).to.deep.equal({ allowed: false, reason: 'international' });
      expect(checkNumberPolicy('+442079460000', { ...cfg, denyInternational: false }, none)).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('+33612345678', { ...cfg, denyInternational: false }, none)).to.deep.equal({
        allowed: false,
        reason: 'not_allowed_pattern',
      });
    });

    it('limits pending callbacks per number (default 1), configurable, Infinity = unlimited', () => {
      expect(checkNumberPolicy('+15551234567', nanp, { pendingForNumber: 1 })).to.deep.equal({
        allowed: false,
        reason: 'too_many_pending',
      });
      const three = { ...nanp, maxPendingPerNumber: 3 };
      expect(checkNumberPolicy('+15551234567', three, { pendingForNumber: 2 })).to.deep.equal({ allowed: true });
      expect(checkNumberPolicy('+15551234567', three, { pendingForNumber: 3 })).to.deep.equal({
        allowed: false,
        reason: 'too_many_pending',
      });
      expect(checkNumberPolicy('+15551234567', { ...nanp, maxPendingPerNumber: Infinity }, { pendingForNumber: 1e6 })).to.deep.equal({
        allowed: true,
      });
    });

    it('reports the most specific reason first: deny pattern, international, premium, allow, pending', () => {
      const cfg = { ...nanp, deny: ['1900.'], allow: ['1212.'] };
      expect(checkNumberPolicy('+19005551234', cfg, { pendingForNumber: 5 })).to.deep.equal({ allowed: false, reason: 'denied_pattern' });
      expect(checkNumberPolicy('+19765551234', cfg, { pendingForNumber: 5 })).to.deep.equal({ allowed: false, reason: 'premium' });
      expect(checkNumberPolicy('+13125551234', cfg, { pendingForNumber: 5 })).to.deep.equal({
        allowed: false,
        reason: 'not_allowed_pattern',
      });
      expect(checkNumberPolicy('+12125551234', cfg, { pendingForNumber: 5 })).to.deep.equal({ allowed: false, reason: 'too_many_pending' });
    });

    it('throws on a config with a bad pattern, naming the list and the problem', () => {
      const cfg = { ...nanp, deny: ['1900.', '1[9-0]'] };
      expect(() => checkNumberPolicy('+15551234567', cfg, none)).to.throw(
        RangeError,
        /deny: invalid dial pattern "1\[9-0\]": reversed range/,
      );
      expect(() => assertValidNumberPolicy({ ...nanp, allow: ['+1X.'] })).to.throw(RangeError, /allow:/);
    });

    it('throws on an argument that is not an E.164 number (normalize first)', () => {
      for (const bad of ['', '+', '555-123-4567', '+1 555 123 4567', '+1234567890123456']) {
        expect(() => checkNumberPolicy(bad, nanp, none), bad).to.throw(RangeError, /not an E\.164/);
      }
    });

    it('validateNumberPolicy lists every problem', () => {
      const errors = validateNumberPolicy({
        ...nanp,
        countryCode: '0',
        nationalPrefix: 'x',
        internationalPrefix: '0x',
        nationalNumberLength: { min: 9, max: 8 },
        premiumPrefixes: ['9a'],
        maxPendingPerNumber: 0,
        allow: ['1..'],
        deny: ['Q'],
      });
      expect(errors).to.have.length(8);
      expect(errors.join('\n')).to.match(/internationalPrefix must be digits/);
      expect(errors.join('\n'))
        .to.match(/countryCode/)
        .and.match(/nationalPrefix/)
        .and.match(/nationalNumberLength/)
        .and.match(/premiumPrefixes/)
        .and.match(/maxPendingPerNumber/)
        .and.match(/allow:/)
        .and.match(/deny:/);
      expect(validateNumberPolicy({ ...nanp, internationalPrefix: '1' })).to.deep.equal([
        'internationalPrefix and nationalPrefix must differ',
      ]);
    });
  });
});
