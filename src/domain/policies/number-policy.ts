/**
 * Toll-fraud guard for callback numbers: which numbers the system agrees to dial at its own
 * expense. Two steps, both pure:
 *
 *   1. normalizeNumber(raw, cfg) turns what a caller typed or what CallerID said into E.164,
 *      rejecting anything that is not a plain phone number (letters, SQL, non-ASCII digits, huge
 *      input). One linear pass over at most MAX_RAW_NUMBER_LENGTH characters, no regex. A +1
 *      number must also be a well-formed NANP number ('invalid_nanp', rules in nanp.ts).
 *   2. checkNumberPolicy(e164, cfg, ctx) applies the queue's rules, in this order (the first
 *      failing rule is the reason):
 *        deny patterns       -> 'denied_pattern'      (deny always wins over allow)
 *        denyInternational   -> 'international'       (country code differs from cfg.countryCode,
 *                                                      or a +1 region not in cfg.nanpRegions)
 *        denyPremium         -> 'premium'             (domestic number starting with a premium prefix)
 *        allow patterns      -> 'not_allowed_pattern' (an empty allow list allows everything)
 *        maxPendingPerNumber -> 'too_many_pending'    (ctx.pendingForNumber >= max)
 *      The last rule needs the database. At press 1 and in the API the booking statement
 *      (src/store/booking-store.ts) counts the open callbacks and applies this same comparison,
 *      in the round trip that stores the request; the other rules run here first, with
 *      pendingForNumber 0.
 *      The built-in international/premium guards are deny rules too: an allow pattern cannot
 *      override them. To accept selected foreign destinations, set denyInternational: false and
 *      list the countries you accept in `allow` (e.g. ['33N.', '32N.']).
 *
 * Allow and deny lists are dial patterns such as '1555XXXXXXX' or '44N.', matched against the
 * E.164 digits without '+'; their syntax is in the header of dial-pattern.ts. Patterns are
 * compiled once per config object (validated, throws InvalidDialPatternError); configs are
 * treated as immutable once used.
 *
 * Premium prefixes are national-significant prefixes (after the country code, without the
 * national trunk prefix). Defaults and presets are starting points, not a tariff database:
 *   NANP: 900 (premium), 976 (legacy pay-per-call exchange).
 *   NANP regions: Canada and the Caribbean and other +1 countries (e.g. 876 Jamaica, 809/829/849
 *   Dominican Republic, 284 BVI) share country code 1 but are billed as international, and the
 *   Caribbean NPAs are classic toll-fraud destinations. With countryCode '1', only the regions in
 *   nanpRegions (default ['US']) are domestic; the others are 'international' (nanp.ts says how a
 *   number's region is found). Add 'CA' for Canada; denyInternational: false accepts them all.
 *   UK (+44): 9 (09xx premium rate), 70 (070 personal numbers, a known fraud vector), 871/872/873.
 *   FR (+33): 89 (089x premium), 81 and 82 (special-tariff 081x/082x).
 *   DE (+49): 900 (premium), 137 (mass-call), 118 (directory enquiries).
 */

import { compileDialPattern, isAsciiDigit } from './dial-pattern';
import { NANP_COUNTRY_CODE, NANP_MAIN_REGION, nanpNumberProblem, nanpRegionOf, nanpRegionsError } from './nanp';

// Re-exported so './number-policy' (and the policies index) stays the one import for the whole guard.
export { compileDialPattern, InvalidDialPatternError, MAX_DIAL_PATTERN_LENGTH } from './dial-pattern';

export interface NumberPolicyConfig {
  /** Country calling code of the system's home country, digits only, e.g. '1', '44', '33'. */
  countryCode: string;
  /** National trunk prefix, e.g. '1' for NANP, '0' for UK/FR/DE; '' when there is none. */
  nationalPrefix: string;
  /** International dialling prefix, e.g. '011' (NANP) or '00'; '' when there is none. */
  internationalPrefix: string;
  /** Length of domestic national significant numbers (NANP 10-10); unchecked when absent. */
  nationalNumberLength?: { min: number; max: number };
  /** Dial patterns a number must match (any of them); empty = all numbers allowed. */
  allow: string[];
  /** Dial patterns that are refused whatever `allow` says. */
  deny: string[];
  /** Refuse numbers outside cfg.countryCode (default true), and +1 regions not in nanpRegions. */
  denyInternational: boolean;
  /**
   * With countryCode '1': the +1 regions (ISO 3166 codes, e.g. 'US', 'CA', 'PR') that count as
   * domestic; numbers of the other +1 regions are international. Ignored for other country codes.
   */
  nanpRegions: string[];
  /** Refuse domestic numbers starting with one of premiumPrefixes (default true). */
  denyPremium: boolean;
  /** National-significant prefixes of premium-rate numbers (see the presets above). */
  premiumPrefixes: string[];
  /** Open callbacks allowed per number at a time (default 1); Infinity = unlimited. */
  maxPendingPerNumber: number;
}

/** Default: North American Numbering Plan. */
export const DEFAULT_NUMBER_POLICY: Readonly<NumberPolicyConfig> = Object.freeze({
  countryCode: '1',
  nationalPrefix: '1',
  internationalPrefix: '011',
  nationalNumberLength: Object.freeze({ min: 10, max: 10 }),
  allow: [],
  deny: [],
  denyInternational: true,
  nanpRegions: [NANP_MAIN_REGION],
  denyPremium: true,
  premiumPrefixes: ['900', '976'],
  maxPendingPerNumber: 1,
});

type NumberingPlan = Pick<
  NumberPolicyConfig,
  'countryCode' | 'nationalPrefix' | 'internationalPrefix' | 'nationalNumberLength' | 'premiumPrefixes'
>;

/** Numbering-plan presets to spread into a queue's policy (documented in the file header). */
export const NUMBERING_PLAN_PRESETS: Readonly<Record<'nanp' | 'uk' | 'fr' | 'de', Readonly<NumberingPlan>>> = {
  nanp: {
    countryCode: '1',
    nationalPrefix: '1',
    internationalPrefix: '011',
    nationalNumberLength: { min: 10, max: 10 },
    premiumPrefixes: ['900', '976'],
  },
  uk: {
    countryCode: '44',
    nationalPrefix: '0',
    internationalPrefix: '00',
    nationalNumberLength: { min: 9, max: 10 },
    premiumPrefixes: ['9', '70', '871', '872', '873'],
  },
  fr: {
    countryCode: '33',
    nationalPrefix: '0',
    internationalPrefix: '00',
    nationalNumberLength: { min: 9, max: 9 },
    premiumPrefixes: ['81', '82', '89'],
  },
  de: {
    countryCode: '49',
    nationalPrefix: '0',
    internationalPrefix: '00',
    nationalNumberLength: { min: 6, max: 13 },
    premiumPrefixes: ['900', '137', '118'],
  },
};

/** A full config from the defaults plus per-queue overrides (arrays are copied, not shared). */
export function withNumberPolicyDefaults(overrides: Partial<NumberPolicyConfig> = {}): NumberPolicyConfig {
  const merged = { ...DEFAULT_NUMBER_POLICY, ...overrides };
  return {
    ...merged,
    nationalNumberLength: merged.nationalNumberLength ? { ...merged.nationalNumberLength } : undefined,
    allow: [...merged.allow],
    deny: [...merged.deny],
    nanpRegions: [...merged.nanpRegions],
    premiumPrefixes: [...merged.premiumPrefixes],
  };
}

// ---------------------------------------------------------------------------------------------
// Normalization

/** Longer raw input is rejected as 'too_long' before it is even scanned. */
export const MAX_RAW_NUMBER_LENGTH = 64;
/** ITU-T E.164: at most 15 digits including the country code. */
export const E164_MAX_DIGITS = 15;
/** Shortest E.164 number we accept (small countries have 4-digit subscriber numbers). */
export const E164_MIN_DIGITS = 7;

/** 'invalid_nanp': a +1 number whose area code (NPA) or exchange (NXX) breaks the NANP rules (nanp.ts). */
export type NormalizeFailureReason = 'empty' | 'invalid_characters' | 'invalid_format' | 'invalid_nanp' | 'too_short' | 'too_long';

export type NormalizedNumber =
  | {
      ok: true;
      /** '+15551234567' */
      e164: string;
      /** National significant number for domestic numbers ('5551234567'); equals `digits` for foreign ones. */
      national: string;
      /** E.164 without '+' ('15551234567'): what dial patterns match. */
      digits: string;
      /** True when the country code is cfg.countryCode. */
      domestic: boolean;
    }
  | { ok: false; reason: NormalizeFailureReason };

function fail(reason: NormalizeFailureReason): NormalizedNumber {
  return { ok: false, reason };
}

function lengthVerdict(len: number, min: number, max: number): 'too_short' | 'too_long' | null {
  if (len < min) return 'too_short';
  if (len > max) return 'too_long';
  return null;
}

/**
 * Raw caller input or CallerID to E.164. Accepted: ASCII digits, spaces, '-', '.', '(', ')' as
 * separators, and one '+' before the first digit. Interpretation, first match wins:
 *   '+CC…'                       international form;
 *   cfg.internationalPrefix + …  international form ('011 44 20…', '00 33 6…');
 *   otherwise a domestic number: national prefix stripped when what remains has a national
 *   length ('1 555…' NANP, '06…' FR), else taken as-is when it has a national length ('555…'),
 *   else a leading country code without '+' is recognised ('33612345678').
 * A domestic number written '+44 (0)20…' has its stray national prefix removed. 'invalid_format'
 * is a '+' that is not first or repeated, a country code starting with 0, or a domestic national
 * number starting with the national prefix. Every +1 number, domestic or foreign, must be
 * NPA-NXX-XXXX with the NANP rules ('invalid_nanp': '1 011 683 4002', '+1 011 683 4002').
 */
export function normalizeNumber(raw: string, cfg: NumberPolicyConfig): NormalizedNumber {
  if (typeof raw !== 'string') return fail('empty');
  if (raw.length > MAX_RAW_NUMBER_LENGTH) return fail('too_long');
  let digits = '';
  let plus = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (isAsciiDigit(c)) digits += raw[i];
    else if (c === 43 /* + */) {
      if (plus || digits !== '') return fail('invalid_format');
      plus = true;
    } else if (c !== 32 && c !== 45 && c !== 46 && c !== 40 && c !== 41) return fail('invalid_characters'); // ' ' - . ( )
  }
  if (digits === '') return fail('empty');

  const range = cfg.nationalNumberLength;
  const fitsNational = (n: string): boolean => range === undefined || (n.length >= range.min && n.length <= range.max);

  let international: string | null = null;
  if (plus) international = digits;
  else if (cfg.internationalPrefix !== '' && digits.startsWith(cfg.internationalPrefix)) {
    international = digits.slice(cfg.internationalPrefix.length);
    if (international === '') return fail('too_short');
  }

  if (international !== null) {
    if (international[0] === '0') return fail('invalid_format');
    if (cfg.countryCode !== '' && international.startsWith(cfg.countryCode)) {
      let national = international.slice(cfg.countryCode.length);
      // '+44 (0)20 …': drop a stray trunk prefix only when that is what makes the length right.
      if (!fitsNational(national) && cfg.nationalPrefix !== '' && national.startsWith(cfg.nationalPrefix)) {
        const stripped = national.slice(cfg.nationalPrefix.length);
        if (fitsNational(stripped)) national = stripped;
      }
      return domesticResult(national, cfg);
    }
    const verdict = lengthVerdict(international.length, E164_MIN_DIGITS, E164_MAX_DIGITS);
    if (verdict) return fail(verdict);
    if (international.startsWith(NANP_COUNTRY_CODE)) {
      const nanp = nanpNumberProblem(international.slice(NANP_COUNTRY_CODE.length));
      if (nanp) return fail(nanp);
    }
    return { ok: true, e164: `+${international}`, national: international, digits: international, domestic: false };
  }

  // Domestic forms.
  if (cfg.nationalPrefix !== '' && digits.startsWith(cfg.nationalPrefix)) {
    const stripped = digits.slice(cfg.nationalPrefix.length);
    if (stripped !== '' && fitsNational(stripped)) return domesticResult(stripped, cfg);
  }
  if (fitsNational(digits)) return domesticResult(digits, cfg);
  if (cfg.countryCode !== '' && digits.startsWith(cfg.countryCode)) {
    const rest = digits.slice(cfg.countryCode.length);
    if (rest !== '' && fitsNational(rest)) return domesticResult(rest, cfg);
  }
  return domesticResult(digits, cfg); // reports the length problem
}

function domesticResult(national: string, cfg: NumberPolicyConfig): NormalizedNumber {
  const range = cfg.nationalNumberLength;
  if (national === '') return fail('too_short');
  if (range) {
    const verdict = lengthVerdict(national.length, range.min, range.max);
    if (verdict) return fail(verdict);
  }
  const digits = cfg.countryCode + national;
  const verdict = lengthVerdict(digits.length, E164_MIN_DIGITS, E164_MAX_DIGITS);
  if (verdict) return fail(verdict);
  // A national significant number never starts with the trunk prefix (NANP area codes are 2-9,
  // UK/FR/DE numbers lose their 0): '1555…' as a 10-digit NANP number is garbage, not a number.
  if (cfg.nationalPrefix !== '' && national.startsWith(cfg.nationalPrefix)) return fail('invalid_format');
  if (cfg.countryCode === NANP_COUNTRY_CODE) {
    const nanp = nanpNumberProblem(national);
    if (nanp) return fail(nanp);
  }
  return { ok: true, e164: `+${digits}`, national, digits, domestic: true };
}

// ---------------------------------------------------------------------------------------------
// Policy

export type NumberPolicyRefusal = 'denied_pattern' | 'international' | 'premium' | 'not_allowed_pattern' | 'too_many_pending';
export type NumberPolicyDecision = { allowed: true } | { allowed: false; reason: NumberPolicyRefusal };

interface CompiledNumberPolicy {
  allow: ((digits: string) => boolean)[];
  deny: ((digits: string) => boolean)[];
}

const compiledCache = new WeakMap<NumberPolicyConfig, CompiledNumberPolicy>();

function isDigitString(s: unknown): s is string {
  if (typeof s !== 'string' || s === '') return false;
  for (let i = 0; i < s.length; i++) if (!isAsciiDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Config errors, empty when the config is usable (patterns compiled, fields sane). */
export function validateNumberPolicy(cfg: NumberPolicyConfig): string[] {
  const errors: string[] = [];
  if (!isDigitString(cfg.countryCode) || cfg.countryCode[0] === '0' || cfg.countryCode.length > 3)
    errors.push(`countryCode must be 1-3 digits not starting with 0, got ${JSON.stringify(cfg.countryCode)}`);
  if (cfg.nationalPrefix !== '' && !isDigitString(cfg.nationalPrefix))
    errors.push(`nationalPrefix must be digits or '', got ${JSON.stringify(cfg.nationalPrefix)}`);
  if (cfg.internationalPrefix !== '' && !isDigitString(cfg.internationalPrefix))
    errors.push(`internationalPrefix must be digits or '', got ${JSON.stringify(cfg.internationalPrefix)}`);
  if (cfg.internationalPrefix !== '' && cfg.internationalPrefix === cfg.nationalPrefix)
    errors.push('internationalPrefix and nationalPrefix must differ');
  const r = cfg.nationalNumberLength;
  if (
    r !== undefined &&
    !(Number.isInteger(r.min) && Number.isInteger(r.max) && r.min >= 1 && r.min <= r.max && r.max <= E164_MAX_DIGITS)
  ) {
    errors.push(`nationalNumberLength must be integers with 1 <= min <= max <= ${E164_MAX_DIGITS}, got ${JSON.stringify(r)}`);
  }
  const regionsError = nanpRegionsError(cfg.nanpRegions, cfg.countryCode);
  if (regionsError) errors.push(regionsError);
  for (const p of cfg.premiumPrefixes)
    if (!isDigitString(p)) errors.push(`premiumPrefixes entries must be digits, got ${JSON.stringify(p)}`);
  const m = cfg.maxPendingPerNumber;
  if (!(m === Infinity || (Number.isInteger(m) && m >= 1)))
    errors.push(`maxPendingPerNumber must be an integer >= 1 or Infinity, got ${m}`);
  for (const [list, patterns] of [
    ['allow', cfg.allow],
    ['deny', cfg.deny],
  ] as const) {
    for (const p of patterns) {
      try {
        compileDialPattern(p);
      } catch (e) {
        errors.push(`${list}: ${(e as Error).message}`);
      }
    }
  }
  return errors;
}

/** Validates and compiles (once per config object); throws RangeError listing every problem. */
export function assertValidNumberPolicy(cfg: NumberPolicyConfig): void {
  compiled(cfg);
}

function compiled(cfg: NumberPolicyConfig): CompiledNumberPolicy {
  const hit = compiledCache.get(cfg);
  if (hit) return hit;
  const errors = validateNumberPolicy(cfg);
  if (errors.length > 0) throw new RangeError(`invalid number policy: ${errors.join('; ')}`);
  const c = { allow: cfg.allow.map(compileDialPattern), deny: cfg.deny.map(compileDialPattern) };
  compiledCache.set(cfg, c);
  return c;
}

/**
 * Applies the queue's rules to a normalized number ('+15551234567'; the '+' is optional).
 * Throws RangeError for a config error or an e164 argument that is not '+' and digits
 * (normalize first: that is a programming error, not a refusal).
 */
export function checkNumberPolicy(e164: string, cfg: NumberPolicyConfig, ctx: { pendingForNumber: number }): NumberPolicyDecision {
  const policy = compiled(cfg);
  const digits = typeof e164 === 'string' && e164.startsWith('+') ? e164.slice(1) : e164;
  if (!isDigitString(digits) || digits.length > E164_MAX_DIGITS)
    throw new RangeError(`checkNumberPolicy: not an E.164 number: ${JSON.stringify(e164)}`);
  if (policy.deny.some((m) => m(digits))) return { allowed: false, reason: 'denied_pattern' };
  const domestic = digits.startsWith(cfg.countryCode);
  const national = digits.slice(cfg.countryCode.length);
  if (cfg.denyInternational && !domestic) return { allowed: false, reason: 'international' };
  if (cfg.denyInternational && cfg.countryCode === NANP_COUNTRY_CODE && !cfg.nanpRegions.includes(nanpRegionOf(national)))
    return { allowed: false, reason: 'international' };
  if (cfg.denyPremium && domestic) {
    if (cfg.premiumPrefixes.some((p) => national.startsWith(p))) return { allowed: false, reason: 'premium' };
  }
  if (policy.allow.length > 0 && !policy.allow.some((m) => m(digits))) return { allowed: false, reason: 'not_allowed_pattern' };
  if (ctx.pendingForNumber >= cfg.maxPendingPerNumber) return { allowed: false, reason: 'too_many_pending' };
  return { allowed: true };
}
