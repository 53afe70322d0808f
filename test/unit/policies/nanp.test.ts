import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, numberPolicyOf, parseConfig } from '../../../src/config/config';
import {
  allNanpRegions,
  checkNumberPolicy,
  createNumberEntry,
  nanpRegionOf,
  normalizeNumber,
  NumberPolicyConfig,
  NUMBERING_PLAN_PRESETS,
  step,
  validateNumberPolicy,
  withNumberPolicyDefaults,
} from '../../../src/domain/policies';

const nanp = withNumberPolicyDefaults();
const uk = withNumberPolicyDefaults({ ...NUMBERING_PLAN_PRESETS.uk, denyInternational: false });
const none = { pendingForNumber: 0 };

/** What the guard does with a raw number: 'invalid:<reason>', 'refused:<reason>' or 'ok:<e164>'. */
function verdict(raw: string, cfg: NumberPolicyConfig = nanp): string {
  const n = normalizeNumber(raw, cfg);
  if (!n.ok) return `invalid:${n.reason}`;
  const d = checkNumberPolicy(n.e164, cfg, none);
  return d.allowed ? `ok:${n.e164}` : `refused:${d.reason}`;
}

/** Caribbean and other non-US +1 numbers (area code = the region's own NPA). */
const NON_US: [string, string][] = [
  ['+18765550123', 'JM'],
  ['+18095550123', 'DO'],
  ['+18295550123', 'DO'],
  ['+18495550123', 'DO'],
  ['+12425550123', 'BS'],
  ['+12465550123', 'BB'],
  ['+12685550123', 'AG'],
  ['+12845550123', 'VG'],
  ['+13455550123', 'KY'],
  ['+14735550123', 'GD'],
  ['+16495550123', 'TC'],
  ['+17875550123', 'PR'],
  ['+14165550123', 'CA'],
  ['+16045550123', 'CA'],
];

describe('policies/nanp', () => {
  describe('NPA and NXX structure (normalizeNumber)', () => {
    it("refuses 1 + 011 + Niue typed after the trunk prefix, and its '+1' form", () => {
      expect(verdict('10116834002')).to.equal('invalid:invalid_nanp');
      expect(verdict('1 011 683 4002')).to.equal('invalid:invalid_nanp');
      expect(verdict('+10116834002')).to.equal('invalid:invalid_nanp');
      expect(verdict('011 1 011 683 4002')).to.equal('invalid:invalid_nanp');
      // 011 + Niue itself is an international number, refused as such.
      expect(verdict('0116834002')).to.equal('refused:international');
    });

    it('refuses N11 area codes and 0XX/1XX area codes', () => {
      for (const npa of ['211', '311', '411', '511', '611', '711', '811', '911'])
        expect(verdict(`+1${npa}5550123`), npa).to.equal('invalid:invalid_nanp');
      for (const npa of ['011', '021', '099']) expect(verdict(`+1${npa}5550123`), npa).to.equal('invalid:invalid_nanp');
      // A 1XX area code starts with the trunk prefix: already 'invalid_format' in the NANP plan...
      expect(verdict('+11215550123')).to.equal('invalid:invalid_format');
      // ...and 'invalid_nanp' where +1 is foreign.
      expect(verdict('+11215550123', uk)).to.equal('invalid:invalid_nanp');
    });

    it('refuses N11 and 0XX/1XX exchange codes (NXX) under a real area code', () => {
      for (const nxx of ['411', '911', '211', '011', '055', '123', '199'])
        expect(verdict(`+1212${nxx}0123`), nxx).to.equal('invalid:invalid_nanp');
      expect(verdict('+12125550123')).to.equal('ok:+12125550123');
      expect(verdict('+12122000123')).to.equal('ok:+12122000123');
    });

    it('leaves the exchange of the fictional NPA 555 unchecked, so the test numbers stay valid', () => {
      expect(verdict('+15556660001')).to.equal('ok:+15556660001');
      expect(verdict('+15551234567')).to.equal('ok:+15551234567');
      expect(verdict('+15551110002')).to.equal('ok:+15551110002');
      // Decided here: NXX 411 under 555 is accepted too (555 has no exchanges, nothing is billed).
      expect(verdict('+15554110123')).to.equal('ok:+15554110123');
    });

    it('checks every +1 number where +1 is foreign too: 10 digits and the same rules', () => {
      expect(verdict('+10116834002', uk)).to.equal('invalid:invalid_nanp');
      expect(verdict('00 1 911 555 0123', uk)).to.equal('invalid:invalid_nanp');
      expect(verdict('+1 212 555 012', uk)).to.equal('invalid:too_short');
      expect(verdict('+1 212 555 01234', uk)).to.equal('invalid:too_long');
      expect(verdict('+1 212 555 0123', uk)).to.equal('ok:+12125550123');
    });

    it('press 2: a caller typing 1 011 683 4002 hears "invalid", one typing a Jamaican number hears "refused"', () => {
      const cfg = { maxTries: 3, minDigits: 10, maxDigits: 14, policy: nanp };
      const type = (keys: string) => {
        let s = createNumberEntry(cfg);
        for (const k of keys) s = step(s.state, { kind: 'digit', digit: k });
        return s;
      };
      expect(type('10116834002#')).to.deep.include({ actions: ['prompt_invalid', 'prompt_enter'], rejection: 'invalid_nanp' });
      expect(type('18765550123#')).to.deep.include({ actions: ['prompt_refused', 'prompt_enter'], rejection: 'international' });
    });
  });

  describe('+1 regions (checkNumberPolicy)', () => {
    it('the metadata names each region by its area code; numbers of no other region are US', () => {
      for (const [number, region] of NON_US) expect(nanpRegionOf(number.slice(2)), number).to.equal(region);
      expect(nanpRegionOf('2125550123')).to.equal('US');
      expect(nanpRegionOf('5556660001')).to.equal('US');
      expect(nanpRegionOf('9005550123')).to.equal('US');
      expect([...allNanpRegions()]).to.include.members(['US', 'CA', 'JM', 'DO', 'PR', 'VG']);
      expect(allNanpRegions().has('GB')).to.equal(false);
    });

    it('by default only US numbers are domestic: Canada, the Caribbean and the territories are international', () => {
      expect(nanp.nanpRegions).to.deep.equal(['US']);
      for (const [number] of NON_US) expect(verdict(number), number).to.equal('refused:international');
      expect(verdict('+15556660001')).to.equal('ok:+15556660001');
      expect(verdict('+1 (212) 555-0123')).to.equal('ok:+12125550123');
    });

    it('a listed region is domestic, the others stay refused', () => {
      const withCanada = withNumberPolicyDefaults({ nanpRegions: ['US', 'CA'] });
      expect(verdict('+14165550123', withCanada)).to.equal('ok:+14165550123');
      expect(verdict('416 555 0123', withCanada)).to.equal('ok:+14165550123');
      expect(verdict('+18765550123', withCanada)).to.equal('refused:international');
      const withJamaica = withNumberPolicyDefaults({ nanpRegions: ['US', 'JM'] });
      expect(verdict('+18765550123', withJamaica)).to.equal('ok:+18765550123');
      expect(verdict('+14165550123', withJamaica)).to.equal('refused:international');
      // Without US, US numbers are the foreign ones.
      expect(verdict('+12125550123', withNumberPolicyDefaults({ nanpRegions: ['CA'] }))).to.equal('refused:international');
    });

    it('denyInternational: false accepts every region, but premium NPAs stay refused', () => {
      const open = withNumberPolicyDefaults({ denyInternational: false });
      for (const [number] of NON_US) expect(verdict(number, open), number).to.equal(`ok:${number}`);
      expect(verdict('+19005550123', open)).to.equal('refused:premium');
    });

    it('premium 900 and 976 are refused by default, whatever regions are listed', () => {
      expect(verdict('+19005550123')).to.equal('refused:premium');
      expect(verdict('1 976 555 0123')).to.equal('refused:premium');
      const wide = withNumberPolicyDefaults({ nanpRegions: [...allNanpRegions()] });
      expect(verdict('+19005550123', wide)).to.equal('refused:premium');
      expect(verdict('+18765550123', wide)).to.equal('ok:+18765550123');
    });

    it('a deny pattern still wins over a listed region', () => {
      const cfg = withNumberPolicyDefaults({ nanpRegions: ['US', 'CA'], deny: ['1416XXXXXXX'] });
      expect(verdict('+14165550123', cfg)).to.equal('refused:denied_pattern');
      expect(verdict('+16045550123', cfg)).to.equal('ok:+16045550123');
    });

    it('validation: entries must be +1 regions, and the NANP plan needs at least one', () => {
      expect(validateNumberPolicy(withNumberPolicyDefaults({ nanpRegions: ['US', 'CA', 'PR'] }))).to.deep.equal([]);
      for (const bad of [['XX'], ['GB'], ['us'], ['US', '']])
        expect(validateNumberPolicy(withNumberPolicyDefaults({ nanpRegions: bad })).join(), JSON.stringify(bad)).to.match(
          /nanpRegions entries must be \+1 regions/,
        );
      expect(validateNumberPolicy(withNumberPolicyDefaults({ nanpRegions: [] })).join()).to.match(/at least one region/);
      // Another plan ignores the list, so an empty one is no error there.
      expect(validateNumberPolicy(withNumberPolicyDefaults({ ...NUMBERING_PLAN_PRESETS.uk, nanpRegions: [] }))).to.deep.equal([]);
    });
  });

  describe('configuration', () => {
    const env = { ARI_PASSWORD: 'x' };
    const base = {
      ari: { url: 'http://127.0.0.1:8088', user: 'u', app: 'a' },
      queues: [{ id: 'support', overflow: { maxWaiting: 3 } }],
    };
    const withPolicy = (numberPolicy: object) => ({ ...base, queues: [{ ...base.queues[0], numberPolicy }] });

    it('the shipped example refuses Caribbean, Canadian, premium and invalid +1 numbers', () => {
      const raw = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../docker/direct-callback.example.json'), 'utf8')) as unknown;
      const cfg = parseConfig(raw, env);
      expect(cfg.queues.length).to.be.greaterThan(0);
      for (const q of cfg.queues) {
        const policy = numberPolicyOf(q);
        expect(verdict('+18765550123', policy), q.id).to.equal('refused:international');
        expect(verdict('+14165550123', policy), q.id).to.equal('refused:international');
        expect(verdict('+19005550123', policy), q.id).to.equal('refused:premium');
        expect(verdict('10116834002', policy), q.id).to.equal('invalid:invalid_nanp');
        expect(verdict('+15556660001', policy), q.id).to.equal('ok:+15556660001');
      }
    });

    it('numberPolicy.nanpRegions passes through to the queue policy; a bad region is a config error', () => {
      const cfg = parseConfig(withPolicy({ plan: 'nanp', nanpRegions: ['US', 'CA'] }), env);
      const policy = numberPolicyOf(cfg.queues[0]);
      expect(policy.nanpRegions).to.deep.equal(['US', 'CA']);
      expect(verdict('+14165550123', policy)).to.equal('ok:+14165550123');
      expect(numberPolicyOf(parseConfig(base, env).queues[0]).nanpRegions).to.deep.equal(['US']);
      expect(() => parseConfig(withPolicy({ nanpRegions: ['ZZ'] }), env)).to.throw(ConfigError, /nanpRegions/);
    });
  });
});
