/**
 * Keypress meaning. Exact single-character matches only: Asterisk delivers one digit per
 * ChannelDtmfReceived, so anything else (multi-char, empty, letters, '*', '#') is noise and
 * ignored rather than guessed at. Ignoring never changes call state, so it is the safe default.
 */
export type OfferDigitAction = 'accept' | 'ignore';
export type PreviewDigitAction = 'accept' | 'skip' | 'ignore';

/** Caller hearing a callback offer: 1 accepts. */
export function interpretOfferDigit(digit: string): OfferDigitAction {
  return digit === '1' ? 'accept' : 'ignore';
}

/** Agent previewing a callback before the customer is dialled: 1 accepts, 2 skips. */
export function interpretPreviewDigit(digit: string): PreviewDigitAction {
  if (digit === '1') return 'accept';
  if (digit === '2') return 'skip';
  return 'ignore';
}
