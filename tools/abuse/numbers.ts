/**
 * What the abuse run counts as a number that must never be dialled at the system's expense, and
 * the seeded numbers its attacks use.
 *
 * The classifier is deliberately independent of the product's number policy (it judges the
 * product, so it must not share its code): it reads the digits of a trunk leg's dial string and
 * applies the NANP rules (NPA and NXX start with 2-9, no N11, no N9X/37X/96X NPAs, 900 premium,
 * the non-US +1 countries international) plus "anything after 011 is international".
 */

/** NPAs of +1 countries other than the US and Canada: billed as international calls. */
export const NON_US_NANP_NPAS: ReadonlySet<string> = new Set([
  '242', // Bahamas
  '246', // Barbados
  '264', // Anguilla
  '268', // Antigua and Barbuda
  '284', // British Virgin Islands
  '345', // Cayman Islands
  '441', // Bermuda
  '473', // Grenada
  '649', // Turks and Caicos
  '658', // Jamaica
  '664', // Montserrat
  '721', // Sint Maarten
  '758', // Saint Lucia
  '767', // Dominica
  '784', // Saint Vincent
  '809', // Dominican Republic
  '829', // Dominican Republic
  '849', // Dominican Republic
  '868', // Trinidad and Tobago
  '869', // Saint Kitts and Nevis
  '876', // Jamaica
]);

/** NANP premium-rate NPAs. */
const PREMIUM_NPAS: ReadonlySet<string> = new Set(['900']);

export type NumberClass = 'domestic' | 'premium' | 'international' | 'caribbean' | 'invalid';

/** The class of a number as a trunk would bill it, from the digits dialled (a leading + ignored). */
export function classifyDialled(raw: string): NumberClass {
  const digits = raw.replace(/[^0-9]/g, '');
  const trimmed = raw.trim();
  if (digits.startsWith('011') || (trimmed.startsWith('+') && !trimmed.startsWith('+1'))) return 'international';
  let national: string;
  if (digits.length === 11 && digits.startsWith('1')) national = digits.slice(1);
  else if (digits.length === 10) national = digits;
  else return digits.length > 11 ? 'international' : 'invalid';
  const npa = national.slice(0, 3);
  const nxx = national.slice(3, 6);
  if (!/^[2-9]/.test(npa) || !/^[2-9]/.test(nxx)) return 'invalid';
  if (npa.slice(1) === '11' || nxx.slice(1) === '11') return 'invalid';
  if (npa[1] === '9' || npa.startsWith('37') || npa.startsWith('96')) return 'invalid';
  if (PREMIUM_NPAS.has(npa)) return 'premium';
  if (NON_US_NANP_NPAS.has(npa)) return 'caribbean';
  return 'domestic';
}

/** The number inside a dial string such as `PJSIP/19005550123@trunk`, or undefined (an agent's phone). */
export function trunkNumber(endpointName: string): string | undefined {
  const m = /^[A-Za-z0-9]+\/([^@]+)@/.exec(endpointName);
  return m?.[1];
}

/** A seed of its own for each attack (FNV-1a of its name): its numbers do not depend on which attacks ran before. */
export function attackSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: a small seeded generator, so that every run tries the same numbers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOME_NPAS = ['212', '312', '415', '617', '713', '206', '303', '404'];

/**
 * Fresh valid domestic numbers in E.164, never repeated within a run: every attack calls from and
 * types numbers of its own, so that attacks sharing a plugin do not meet each other's limits.
 */
export class NumberSource {
  /** `used` may be shared by several sources: numbers stay unique across all of them. */
  constructor(
    private readonly random: () => number,
    private readonly used = new Set<string>(),
  ) {}

  domestic(): string {
    for (;;) {
      const npa = HOME_NPAS[Math.floor(this.random() * HOME_NPAS.length)] ?? '212';
      const nxx = String(200 + Math.floor(this.random() * 790));
      if (nxx.slice(1) === '11' || nxx === '555' || nxx === '976') continue;
      const line = String(Math.floor(this.random() * 10000)).padStart(4, '0');
      const n = `+1${npa}${nxx}${line}`;
      if (this.used.has(n) || classifyDialled(n) !== 'domestic') continue;
      this.used.add(n);
      return n;
    }
  }
}
