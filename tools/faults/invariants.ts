/**
 * The four invariants of a fault run, counted the same way whatever Asterisk the run used (the
 * simulator in tools/faults/scenarios.ts, a real Asterisk in tools/faults/asterisk-scenarios.ts).
 * Each harness gathers what happened (rows, attempts, customer legs, dials, confirmations, what is
 * still up) from its own sources; the counting rules live here once.
 *
 * - false_confirmations: a caller who heard the confirmation start while no request for the
 *   caller's number is stored;
 * - lost: a request stored before the restart that is gone, or a request that ended cancelled or
 *   expired;
 * - double_dials: a customer leg dialled more than once, a customer leg no stored attempt accounts
 *   for, a dial after an attempt the store knows was answered, or a customer leg created after the
 *   callback was completed;
 * - stuck: a callback still claimed (in_progress, or pending with a claim), or never served
 *   (pending) at the bound, or a channel still up at the end.
 */
export interface CallbackRowSeen {
  id: string;
  customer_number: string;
  status: string;
  claimed_by: string | null;
}

export interface AttemptSeen {
  callback_id: string;
  customer_channel_id: string | null;
  customer_dialed_at: Date | null;
  customer_answered_at: Date | null;
  /** Customer and agent bridged: the conversation the callback promised. */
  bridged_at: Date | null;
}

export interface CustomerLegSeen {
  id: string;
  /** The customer's phone answered (SIP 200). */
  answered: boolean;
  /** When the leg was created (epoch ms), if known. */
  createdAt?: number;
}

export interface InvariantInput {
  /** Request ids stored when the plugin was killed (before the restart). */
  storedBeforeRestart: readonly string[];
  /** Every request at the end. */
  rows: readonly CallbackRowSeen[];
  /** Caller numbers of the calls that heard the confirmation start (one per call). */
  confirmedNumbers: readonly string[];
  attempts: readonly AttemptSeen[];
  customerLegs: readonly CustomerLegSeen[];
  /** Dial requests per channel id (a created leg is dialled once). */
  dialsPerChannel: ReadonlyMap<string, number>;
  /** When each callback was completed (epoch ms), from its history. */
  completedAt?: ReadonlyMap<string, number>;
  /** Channels still up at the end, described. */
  channelsLeft: readonly string[];
}

export interface InvariantCounts {
  lost: number;
  false_confirmations: number;
  double_dials: number;
  stuck: number;
  /** Customer legs answered more than once for one completed callback (reported, not counted: see countInvariants). */
  redials_after_answer: number;
  notes: string[];
}

export function countInvariants(input: InvariantInput): InvariantCounts {
  const notes: string[] = [];
  const { rows, attempts, customerLegs } = input;
  let falseConfirmations = 0;
  for (const n of input.confirmedNumbers) {
    if (!rows.some((r) => r.customer_number === n)) {
      falseConfirmations += 1;
      notes.push(`confirmation heard by ${n} without a stored request`);
    }
  }
  let lost = 0;
  for (const id of input.storedBeforeRestart) {
    if (!rows.some((x) => x.id === id)) {
      lost += 1;
      notes.push(`request ${id} stored before the restart is gone`);
    }
  }
  for (const r of rows.filter((x) => x.status === 'cancelled' || x.status === 'expired')) {
    lost += 1;
    notes.push(`request ${r.id} ended ${r.status}`);
  }
  const stuckRows = rows.filter((r) => r.status === 'in_progress' || (r.status === 'pending' && r.claimed_by !== null)).length;
  const unserved = rows.filter((r) => r.status === 'pending' && r.claimed_by === null).length;
  if (stuckRows) notes.push(`callbacks still claimed at the bound: ${stuckRows}`);
  if (unserved) notes.push(`callbacks still pending at the bound: ${unserved}`);
  if (input.channelsLeft.length) notes.push(`channels left: ${input.channelsLeft.join(', ')}`);
  const stuck = stuckRows + unserved + input.channelsLeft.length;

  let doubleDials = 0;
  for (const [channel, n] of input.dialsPerChannel) {
    if (n > 1) {
      doubleDials += n - 1;
      notes.push(`customer leg ${channel} dialled ${n} times`);
    }
  }
  for (const leg of customerLegs) {
    const attempt = attempts.find((a) => a.customer_channel_id === leg.id);
    if (!attempt) {
      doubleDials += 1;
      notes.push(`customer leg ${leg.id} not accounted for by any attempt`);
      continue;
    }
    const completed = input.completedAt?.get(attempt.callback_id);
    if (completed !== undefined && leg.createdAt !== undefined && leg.createdAt > completed) {
      doubleDials += 1;
      notes.push(`customer leg ${leg.id} dialled after its callback was completed`);
    }
  }
  let redialsAfterAnswer = 0;
  for (const id of new Set(rows.filter((r) => r.status === 'completed').map((r) => r.id))) {
    const mine = attempts.filter((a) => a.callback_id === id);
    // After an attempt the store knows bridged customer and agent, no attempt may dial the
    // customer again. (An answer alone is no conversation: the guard's 1 may not have come.)
    const storedTalk = mine.findIndex((a) => a.bridged_at !== null);
    if (storedTalk >= 0) {
      const after = mine.slice(storedTalk + 1).filter((a) => a.customer_dialed_at !== null).length;
      if (after) notes.push(`callback ${id} dialled ${after} time(s) after a stored conversation`);
      doubleDials += after;
    }
    // A phone that answered while no process could hear it (no guard passed) is asked for the
    // guard's 1 again by the restarted process, which takes the attempt up (PreviewCallSession.
    // resume). Only if it cannot (another instance reclaimed the lease first) is the customer
    // called again on a new attempt: the plugin cannot tell a person from a voicemail that never
    // pressed 1. Reported, not counted.
    const answeredLegs = mine.filter((a) => customerLegs.some((l) => l.id === a.customer_channel_id && l.answered)).length;
    if (answeredLegs > 1) redialsAfterAnswer += answeredLegs - 1;
  }
  return {
    lost,
    false_confirmations: falseConfirmations,
    double_dials: doubleDials,
    stuck,
    redials_after_answer: redialsAfterAnswer,
    notes,
  };
}
