import { QueueConfig } from '../config/config';
import { digitsForSpeech } from '../domain';
import { CallContext } from './call-context';

/**
 * Defence in depth at the dial string (issue 19): wherever a customer's number becomes
 * `callback.dialTemplate`, it is checked against the queue's number policy once more, so that a
 * number stored by a path that skipped the gate (an old row, a policy tightened since) is never
 * dialled. Dispatch already refuses such callbacks before anyone is rung (engine/number-gate.ts);
 * this is the last word before a channel is created.
 */

/** The outcome an attempt ends with when the gate refused its number at the dial. */
export const NUMBER_REFUSED = 'number_refused';

/** A leg asked to dial a number the gate refuses: nothing was created or dialled. */
export class NumberRefusedAtDial extends Error {
  constructor(readonly reason: string) {
    super(`number refused by the queue number policy at dial time: ${reason}`);
    this.name = 'NumberRefusedAtDial';
  }
}

/** The endpoint to dial for this number, or why the queue's policy refuses it. */
export function gatedEndpoint(
  ctx: Pick<CallContext, 'config' | 'policy'>,
  queue: QueueConfig,
  customerNumber: string,
): { ok: true; endpoint: string } | { ok: false; reason: string } {
  const check = ctx.policy.checkTransferNumber(queue, customerNumber);
  if (!check.ok) return check;
  return { ok: true, endpoint: ctx.config.callback.dialTemplate.replace('{number}', digitsForSpeech(check.e164)) };
}

/** How an attempt whose customer leg could not be dialled ends. */
export function dialFailureOutcome(error: unknown): typeof NUMBER_REFUSED | 'failed' {
  return error instanceof NumberRefusedAtDial ? NUMBER_REFUSED : 'failed';
}
