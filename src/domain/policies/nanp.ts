/**
 * The North American Numbering Plan (country code +1), as far as the toll-fraud guard needs it:
 *
 *   Structure (numberPolicy's normalizeNumber): a +1 national number is NPA-NXX-XXXX, 10 digits.
 *     NPA (area code)             [2-9]XX, not N11 (211..911): '011…' and '1…' are dialling
 *                                 prefixes, N11 are service codes. '1 011 683 4002' typed after the
 *                                 trunk prefix is 1 + 011 + Niue, not a US number.
 *     NXX (central office code)   [2-9]XX, not N11.
 *     Exception: NPA 555 is no area code (never assigned, no exchange behind it, so nothing it
 *     dials can be billed); it is the fictional area of the documentation, the simulator and the
 *     tests, whose numbers ('+1 555 123 4567', '+1 555 111 0002') have NXX that real NPAs forbid.
 *     Under NPA 555 the NXX is not checked.
 *
 *   Region (numberPolicy's checkNumberPolicy): +1 is shared by 25 regions. Calls to Canada are
 *   domestic-rate for most US carriers; calls to the Caribbean (876 Jamaica, 809/829/849 Dominican
 *   Republic, 284 BVI, 473 Grenada, 649 Turks and Caicos…) are billed as international and are
 *   the classic callback-fraud destinations. Which region an NPA belongs to comes from Google's
 *   libphonenumber metadata (libphonenumber-js, kept current upstream), not from a table here: a
 *   region with its own area codes has them as "leading digits" (JM: 658|876), Canada is told
 *   apart by its number patterns (so a Canadian number that fits none of them would count as US;
 *   Canada is domestic-rate, the risk is small). A number the metadata gives to no region (unassigned area codes,
 *   the fictional 555, 976) counts as US, the plan's main region. US territories (PR 787/939,
 *   VI 340, GU 671, AS 684, MP 670) are regions of their own there too, refused until listed.
 */

// libphonenumber-js: Google's libphonenumber metadata for JavaScript, so NANP regions are not a hand-kept table.
import { getCountries, getCountryCallingCode, parsePhoneNumberFromString } from 'libphonenumber-js';

export const NANP_COUNTRY_CODE = '1';
/** NPA-NXX-XXXX. */
export const NANP_NATIONAL_LENGTH = 10;
/** The fictional area code whose NXX is not checked (see the file header). */
export const FICTIONAL_NPA = '555';
/** The region a +1 number belongs to when the metadata names none; the default domestic region. */
export const NANP_MAIN_REGION = 'US';

/** What is wrong with a 10-digit +1 national number, or null when it is a well-formed one. */
export type NanpStructureProblem = 'npa' | 'nxx';
/** The normalize failures a +1 number can add (NormalizeFailureReason in number-policy.ts). */
export type NanpNumberProblem = 'too_short' | 'too_long' | 'invalid_nanp';

function isNanpCode(code: string): boolean {
  // [2-9]XX and not N11: the N11 codes are 211..911, i.e. the last two digits are '11'.
  return code.length === 3 && code[0] >= '2' && code[0] <= '9' && !(code[1] === '1' && code[2] === '1');
}

/** NPA and NXX rules for a national number of NANP_NATIONAL_LENGTH ASCII digits. */
export function nanpStructureProblem(national: string): NanpStructureProblem | null {
  const npa = national.slice(0, 3);
  if (!isNanpCode(npa)) return 'npa';
  if (npa !== FICTIONAL_NPA && !isNanpCode(national.slice(3, 6))) return 'nxx';
  return null;
}

/** A +1 national number is 10 digits whatever a policy's nationalNumberLength says, with valid NPA and NXX. */
export function nanpNumberProblem(national: string): NanpNumberProblem | null {
  if (national.length < NANP_NATIONAL_LENGTH) return 'too_short';
  if (national.length > NANP_NATIONAL_LENGTH) return 'too_long';
  return nanpStructureProblem(national) ? 'invalid_nanp' : null;
}

/** ISO 3166 code of the region a well-formed +1 national number belongs to ('US', 'CA', 'JM'…). */
export function nanpRegionOf(national: string): string {
  return parsePhoneNumberFromString(`+${NANP_COUNTRY_CODE}${national}`)?.country ?? NANP_MAIN_REGION;
}

let regionsCache: ReadonlySet<string> | undefined;

/** Every region of +1 in the metadata: what a policy's nanpRegions may list. */
export function allNanpRegions(): ReadonlySet<string> {
  regionsCache ??= new Set(getCountries().filter((c) => getCountryCallingCode(c) === NANP_COUNTRY_CODE));
  return regionsCache;
}

/** A policy's nanpRegions: +1 regions of the metadata, at least one when the plan is NANP; else the error. */
export function nanpRegionsError(nanpRegions: unknown, countryCode: string): string | null {
  const regions = allNanpRegions();
  if (!Array.isArray(nanpRegions) || nanpRegions.some((r) => typeof r !== 'string' || !regions.has(r)))
    return `nanpRegions entries must be +1 regions (${[...regions].join(', ')}), got ${JSON.stringify(nanpRegions)}`;
  if (countryCode === NANP_COUNTRY_CODE && nanpRegions.length === 0)
    return `nanpRegions must list at least one region, e.g. ["${NANP_MAIN_REGION}"] (an empty list refuses every number)`;
  return null;
}
