/**
 * Caller numbers as they arrive in CallerID: formatting varies, and "withheld" has many
 * spellings depending on trunk and provider.
 */

/** Digits only, for `digits:` playback ('+1 (555) 123-4567' -> '15551234567'). */
export function digitsForSpeech(number: string): string {
  return number.replace(/[^0-9]/g, '');
}

/**
 * A number read back digit by digit, one `sound:digits/N` item per digit ('+1 555' ->
 * ['sound:digits/1', 'sound:digits/5', ...]), never one `digits:` item. Measured on Asterisk
 * 22.10.1 (docs/asterisk-facts.md, "A stop during digits"): a stop during a `digits:` item is
 * answered 204 and ignored, the digits are said to the end and the list plays on, while a stop
 * during a `sound:digits/N` item ends the whole list within a few ms. Asterisk's `digits:` plays the
 * same files (`digits/<d>` in the playback's language), so callers hear the same thing, and an
 * agent's press during the read-back, or a restarted process's stop, takes effect at once.
 */
export function digitSounds(number: string): string[] {
  return digitsForSpeech(number)
    .split('')
    .map((d) => `sound:digits/${d}`);
}

const WITHHELD_WORDS = new Set(['anonymous', 'unknown', 'restricted', 'withheld', 'private', 'unavailable']);

/**
 * True when there is no number we could call back. Besides the usual words, anything that is
 * not a plain dialable number (optional leading '+', digits, common separators) counts as
 * withheld: offering a callback to garbage would only produce a failed dial later.
 */
export function isWithheld(callerIdNumber: string | undefined | null): boolean {
  if (callerIdNumber === undefined || callerIdNumber === null) return true;
  const trimmed = callerIdNumber.trim();
  if (trimmed === '') return true;
  if (WITHHELD_WORDS.has(trimmed.toLowerCase())) return true;
  return !/^\+?[0-9 ().-]+$/.test(trimmed) || digitsForSpeech(trimmed) === '';
}

/** Caller-ID name shown to the agent, e.g. 'CB 5551234'; no stray space when the prefix is empty. */
export function displayNameForAgent(prefix: string, number: string): string {
  const p = prefix.trim();
  const n = number.trim();
  if (p === '') return n;
  if (n === '') return p;
  return `${p} ${n}`;
}
