/**
 * Dial patterns for the number policy's allow and deny lists (number-policy.ts): a small,
 * Asterisk-dialplan-like language compiled into a linear matcher, so a queue's config cannot
 * smuggle in a catastrophic regex.
 *
 * Syntax (matched against the E.164 digits WITHOUT '+'):
 *   0-9 literal digit; X = 0-9; Z = 1-9; N = 2-9 (X/Z/N case-insensitive);
 *   [1-5], [135], [1-35-7] = one digit of the set; a trailing '.' = one or more further digits,
 *   a trailing '!' = zero or more. An optional leading '_' (as written in extensions.conf) is
 *   accepted. Without '.'/'!' the pattern matches numbers of exactly its length.
 *   Examples: '1555XXXXXXX' (NANP 555 numbers), '44N.' (UK geographic and mobile), '1900.'.
 */

/** True for the char code of an ASCII digit; also used by number normalization, which must refuse other Unicode digits. */
export function isAsciiDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export class InvalidDialPatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly detail: string,
  ) {
    super(`invalid dial pattern ${JSON.stringify(pattern)}: ${detail}`);
    this.name = 'InvalidDialPatternError';
  }
}

/** Patterns longer than this are refused (E.164 has at most 15 digits; classes add characters). */
export const MAX_DIAL_PATTERN_LENGTH = 256;

const ALL_DIGITS = 0b1111111111;
const DIGIT_MASK = (from: number, to: number): number => {
  let m = 0;
  for (let d = from; d <= to; d++) m |= 1 << d;
  return m;
};

/**
 * Compiles a dial pattern (syntax in the file header) into a matcher over E.164 digits without
 * '+'. Matching is one linear pass (a bit mask per position, no regex, no backtracking); input
 * containing anything but ASCII digits never matches. Throws InvalidDialPatternError.
 */
export function compileDialPattern(pattern: string): (digits: string) => boolean {
  if (typeof pattern !== 'string' || pattern === '') throw new InvalidDialPatternError(String(pattern), 'empty pattern');
  if (pattern.length > MAX_DIAL_PATTERN_LENGTH)
    throw new InvalidDialPatternError(pattern.slice(0, 32) + '…', `longer than ${MAX_DIAL_PATTERN_LENGTH} characters`);
  const masks: number[] = [];
  let tail: 'none' | 'one_or_more' | 'zero_or_more' = 'none';
  let i = pattern[0] === '_' ? 1 : 0;
  if (i === pattern.length) throw new InvalidDialPatternError(pattern, 'nothing after "_"');
  while (i < pattern.length) {
    const ch = pattern[i];
    const code = pattern.charCodeAt(i);
    if (tail !== 'none') throw new InvalidDialPatternError(pattern, `"${pattern[i - 1]}" is only allowed at the end (position ${i - 1})`);
    if (isAsciiDigit(code)) masks.push(1 << (code - 48));
    else if (ch === 'X' || ch === 'x') masks.push(ALL_DIGITS);
    else if (ch === 'Z' || ch === 'z') masks.push(DIGIT_MASK(1, 9));
    else if (ch === 'N' || ch === 'n') masks.push(DIGIT_MASK(2, 9));
    else if (ch === '.' || ch === '!') {
      if (masks.length === 0) throw new InvalidDialPatternError(pattern, `"${ch}" needs at least one digit before it`);
      tail = ch === '.' ? 'one_or_more' : 'zero_or_more';
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) throw new InvalidDialPatternError(pattern, `unclosed "[" at position ${i}`);
      masks.push(parseClass(pattern, pattern.slice(i + 1, close), i));
      i = close;
    } else if (ch === '+') {
      throw new InvalidDialPatternError(pattern, 'patterns match E.164 digits without "+" (write 1555XXXXXXX, not +1555XXXXXXX)');
    } else {
      throw new InvalidDialPatternError(
        pattern,
        `unexpected ${JSON.stringify(ch)} at position ${i} (digits, X, Z, N, [..], trailing . or ! only)`,
      );
    }
    i++;
  }
  const fixed = masks.length;
  return (digits: string): boolean => {
    if (typeof digits !== 'string') return false;
    const n = digits.length;
    if (tail === 'none' ? n !== fixed : tail === 'one_or_more' ? n <= fixed : n < fixed) return false;
    for (let k = 0; k < n; k++) {
      const c = digits.charCodeAt(k);
      if (!isAsciiDigit(c)) return false;
      if (k < fixed && (masks[k] & (1 << (c - 48))) === 0) return false;
    }
    return true;
  };
}

function parseClass(pattern: string, body: string, at: number): number {
  if (body === '') throw new InvalidDialPatternError(pattern, `empty "[]" at position ${at}`);
  let mask = 0;
  for (let j = 0; j < body.length; j++) {
    const c = body.charCodeAt(j);
    if (!isAsciiDigit(c)) throw new InvalidDialPatternError(pattern, `only digits and ranges allowed inside "[...]" at position ${at}`);
    if (body[j + 1] === '-') {
      const e = body.charCodeAt(j + 2);
      if (!isAsciiDigit(e)) throw new InvalidDialPatternError(pattern, `incomplete range inside "[...]" at position ${at}`);
      if (e < c) throw new InvalidDialPatternError(pattern, `reversed range ${body.slice(j, j + 3)} at position ${at}`);
      mask |= DIGIT_MASK(c - 48, e - 48);
      j += 2;
    } else mask |= 1 << (c - 48);
  }
  return mask;
}
