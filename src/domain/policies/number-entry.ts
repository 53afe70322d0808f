import {
  checkNumberPolicy,
  NormalizeFailureReason,
  normalizeNumber,
  NumberPolicyConfig,
  NumberPolicyRefusal,
  assertValidNumberPolicy,
} from './number-policy';

/**
 * "Press 2 to be called back at a different number": the caller types a number, hears it read
 * back and confirms. A pure state machine: feed it one DTMF digit or a timeout at a time, play
 * the returned actions in order, keep the returned state.
 *
 *   createNumberEntry(cfg)                 -> phase 'entering', actions ['prompt_enter']
 *
 *   entering:  0-9      append (past maxDigits the entry is marked too long, judged on '#')
 *              '*'      clear what was typed              -> ['prompt_enter']   (not a try)
 *              '#'      submit
 *              timeout  submit what was typed; nothing typed counts as an invalid try
 *              other    ignored (A-D, multi-character, '')
 *     submit:  valid    -> 'confirming', ['read_back'], number = the E.164 to read back
 *              invalid  (no digits, < minDigits, > maxDigits, normalizeNumber fails)
 *                       -> ['prompt_invalid', 'prompt_enter']
 *              refused  (checkNumberPolicy: deny/international/premium/allow patterns)
 *                       -> ['prompt_refused', 'prompt_enter']
 *   confirming: '1'     -> 'accepted', ['accepted'], number
 *              '2' '*'  re-enter: -> 'entering', ['prompt_enter']  (not a try)
 *              timeout or any other digit -> ['prompt_invalid', 'read_back'] (an invalid try)
 *   accepted / gave_up: terminal, every input -> no actions.
 *
 * Tries: each invalid or refused submission and each bad confirmation uses one try. The caller
 * has maxTries tries: the maxTries-th failure ends with ['give_up'] instead of a re-prompt
 * (maxTries 3 = the first attempt plus two re-prompts). `rejection` says why, for logs.
 *
 * The pending-callbacks limit is not checked here (it needs the store): checkNumberPolicy runs
 * with pendingForNumber 0, and booking re-checks the accepted number with the real count.
 */

export type NumberEntryAction = 'prompt_enter' | 'read_back' | 'prompt_invalid' | 'prompt_refused' | 'give_up' | 'accepted';
export type NumberEntryPhase = 'entering' | 'confirming' | 'accepted' | 'gave_up';
export type NumberEntryRejection =
  | 'no_input'
  | 'too_few_digits'
  | 'too_many_digits'
  | 'bad_confirmation'
  | NormalizeFailureReason
  | Exclude<NumberPolicyRefusal, 'too_many_pending'>;

export interface NumberEntryConfig {
  /** Failed tries before giving up (default 3). */
  maxTries: number;
  /** Fewest digits accepted on '#' (default: the policy's national minimum, else 7). */
  minDigits: number;
  /** Most digits that may be typed (default: international prefix + 15). */
  maxDigits: number;
  policy: NumberPolicyConfig;
}

export const DEFAULT_NUMBER_ENTRY_MAX_TRIES = 3;

/** Defaults derived from the queue's number policy, with overrides. */
export function numberEntryConfig(
  policy: NumberPolicyConfig,
  overrides: Partial<Omit<NumberEntryConfig, 'policy'>> = {},
): NumberEntryConfig {
  return {
    maxTries: overrides.maxTries ?? DEFAULT_NUMBER_ENTRY_MAX_TRIES,
    minDigits: overrides.minDigits ?? policy.nationalNumberLength?.min ?? 7,
    maxDigits: overrides.maxDigits ?? policy.internationalPrefix.length + 15,
    policy,
  };
}

export interface NumberEntryState {
  readonly config: NumberEntryConfig;
  readonly phase: NumberEntryPhase;
  /** Digits typed so far (kept to maxDigits; `overflowed` records that more were typed). */
  readonly typed: string;
  readonly overflowed: boolean;
  readonly failedTries: number;
  /** E.164 being confirmed, or accepted. */
  readonly candidate?: string;
}

export type NumberEntryInput = { kind: 'digit'; digit: string } | { kind: 'timeout' };

export interface NumberEntryStep {
  state: NumberEntryState;
  actions: NumberEntryAction[];
  /** With 'read_back' and 'accepted': the E.164 number. */
  number?: string;
  /** With 'prompt_invalid', 'prompt_refused' and 'give_up': why. */
  rejection?: NumberEntryRejection;
}

/** Starts an entry; throws RangeError on a bad config (including bad policy patterns). */
export function createNumberEntry(config: NumberEntryConfig): NumberEntryStep {
  const { maxTries, minDigits, maxDigits } = config;
  if (!(Number.isInteger(maxTries) && maxTries >= 1))
    throw new RangeError(`number entry: maxTries must be an integer >= 1, got ${maxTries}`);
  if (!(Number.isInteger(minDigits) && minDigits >= 1))
    throw new RangeError(`number entry: minDigits must be an integer >= 1, got ${minDigits}`);
  if (!(Number.isInteger(maxDigits) && maxDigits >= minDigits))
    throw new RangeError(`number entry: maxDigits must be an integer >= minDigits, got ${maxDigits}`);
  assertValidNumberPolicy(config.policy);
  return { state: { config, phase: 'entering', typed: '', overflowed: false, failedTries: 0 }, actions: ['prompt_enter'] };
}

function isKeypadDigit(d: string): boolean {
  return d.length === 1 && d >= '0' && d <= '9';
}

function unchanged(state: NumberEntryState): NumberEntryStep {
  return { state, actions: [] };
}

/** One failed try: re-prompt with `prompts`, or give up when the tries are used up. */
function failTry(
  state: NumberEntryState,
  rejection: NumberEntryRejection,
  prompts: NumberEntryAction[],
  next: Partial<NumberEntryState>,
): NumberEntryStep {
  const failedTries = state.failedTries + 1;
  if (failedTries >= state.config.maxTries) {
    return {
      state: { ...state, phase: 'gave_up', typed: '', overflowed: false, candidate: undefined, failedTries },
      actions: ['give_up'],
      rejection,
    };
  }
  return { state: { ...state, ...next, failedTries }, actions: prompts, rejection };
}

const RESTART_ENTRY: Partial<NumberEntryState> = { phase: 'entering', typed: '', overflowed: false, candidate: undefined };

function submit(state: NumberEntryState): NumberEntryStep {
  const { typed, overflowed, config } = state;
  const invalid = (r: NumberEntryRejection): NumberEntryStep => failTry(state, r, ['prompt_invalid', 'prompt_enter'], RESTART_ENTRY);
  if (overflowed) return invalid('too_many_digits');
  if (typed === '') return invalid('no_input');
  if (typed.length < config.minDigits) return invalid('too_few_digits');
  const n = normalizeNumber(typed, config.policy);
  if (!n.ok) return invalid(n.reason);
  const verdict = checkNumberPolicy(n.e164, config.policy, { pendingForNumber: 0 });
  if (!verdict.allowed) {
    // too_many_pending cannot happen with pendingForNumber 0 (maxPendingPerNumber >= 1).
    const reason = verdict.reason === 'too_many_pending' ? 'denied_pattern' : verdict.reason;
    return failTry(state, reason, ['prompt_refused', 'prompt_enter'], RESTART_ENTRY);
  }
  return {
    state: { ...state, phase: 'confirming', typed: '', overflowed: false, candidate: n.e164 },
    actions: ['read_back'],
    number: n.e164,
  };
}

export function step(state: NumberEntryState, input: NumberEntryInput): NumberEntryStep {
  switch (state.phase) {
    case 'accepted':
    case 'gave_up':
      return unchanged(state);
    case 'entering': {
      if (input.kind === 'timeout') return submit(state);
      const d = input.digit;
      if (d === '#') return submit(state);
      if (d === '*') return { state: { ...state, typed: '', overflowed: false }, actions: ['prompt_enter'] };
      if (!isKeypadDigit(d)) return unchanged(state);
      if (state.overflowed || state.typed.length >= state.config.maxDigits) return { state: { ...state, overflowed: true }, actions: [] };
      return { state: { ...state, typed: state.typed + d }, actions: [] };
    }
    case 'confirming': {
      const candidate = state.candidate as string;
      if (input.kind === 'digit') {
        if (input.digit === '1') return { state: { ...state, phase: 'accepted' }, actions: ['accepted'], number: candidate };
        if (input.digit === '2' || input.digit === '*') return { state: { ...state, ...RESTART_ENTRY }, actions: ['prompt_enter'] };
        if (input.digit.length !== 1) return unchanged(state); // not a keypress at all
      }
      const r = failTry(state, 'bad_confirmation', ['prompt_invalid', 'read_back'], {});
      return r.state.phase === 'confirming' ? { ...r, number: candidate } : r;
    }
  }
}

/** Same as step, under a name that cannot clash in a wider barrel export. */
export const stepNumberEntry = step;
