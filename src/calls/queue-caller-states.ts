/**
 * Where a queue caller's call is, and the only ways it moves on. Every verb asks the table
 * before it acts after an await (the caller may have hung up, been connected or moved on
 * meanwhile): a step that is not in the table is refused, so a late verb cannot undo what
 * happened in between (wazo-calld's state classes, as a table).
 */
export type QueueCallerState =
  | 'entering'
  | 'waiting'
  | 'entering_number'
  | 'storing'
  | 'confirming'
  | 'connecting'
  /** The agent answered: caller and agent are being put in one mixing bridge. */
  | 'bridging'
  | 'bridged'
  | 'overflowing'
  | 'transferred'
  | 'ended';

/** What happens to a queue caller, named by what moves its state on. */
export type QueueCallerStep =
  /** On hold with its place: the wait (offers, announcements, overflow) begins. */
  | 'queued'
  /** Press 2 (or 1 with a withheld caller id): the caller types a number. */
  | 'number_entry'
  /** The caller gave up typing, or the booking was refused or failed: it waits on at its place. */
  | 'back_to_waiting'
  /** Press 1, or a typed number confirmed: the booking statement runs. */
  | 'accepted'
  /** The booking is committed (or the number had one already): the caller is told and let go. */
  | 'booked'
  /** Dispatch picked this caller for a free agent: the agent's phone rings. */
  | 'agent_ringing'
  /**
   * The agent did not take it (rang out, busy, or answered and left before the bridge), or the
   * bridge could not be made: the caller keeps its place and waits on.
   */
  | 'agent_missed'
  | 'agent_answered'
  /** Caller and agent are in one mixing bridge: the caller is served. */
  | 'bridge_made'
  /** An overflow verb runs (another queue, an outside number, voicemail, a message). */
  | 'overflow'
  /** The overflow verb could not apply, or moved the caller to another queue. */
  | 'overflow_done'
  /** Connected to the outside number of an `external` overflow verb. */
  | 'transferred'
  | 'end';

/** The table: from each state, the steps it allows and where each leads. `ended` allows none. */
export const QUEUE_CALLER_TRANSITIONS: { readonly [S in QueueCallerState]: Partial<Record<QueueCallerStep, QueueCallerState>> } = {
  entering: { queued: 'waiting', end: 'ended' },
  waiting: {
    number_entry: 'entering_number',
    accepted: 'storing',
    agent_ringing: 'connecting',
    overflow: 'overflowing',
    end: 'ended',
  },
  entering_number: { accepted: 'storing', back_to_waiting: 'waiting', end: 'ended' },
  storing: { booked: 'confirming', back_to_waiting: 'waiting', end: 'ended' },
  confirming: { end: 'ended' },
  connecting: { agent_answered: 'bridging', agent_missed: 'waiting', end: 'ended' },
  bridging: { bridge_made: 'bridged', agent_missed: 'waiting', end: 'ended' },
  bridged: { end: 'ended' },
  overflowing: { overflow_done: 'waiting', transferred: 'transferred', end: 'ended' },
  transferred: { end: 'ended' },
  ended: {},
};

/** The state a step leads to from `state`, or undefined when the table does not allow it. */
export function nextQueueCallerState(state: QueueCallerState, step: QueueCallerStep): QueueCallerState | undefined {
  return QUEUE_CALLER_TRANSITIONS[state][step];
}

/** A queue caller's state, moved on only through the table. */
export class QueueCallerStates {
  private current: QueueCallerState = 'entering';

  get state(): QueueCallerState {
    return this.current;
  }

  /** Takes the step if the table allows it from the current state; says whether it did. */
  step(step: QueueCallerStep): boolean {
    const next = nextQueueCallerState(this.current, step);
    if (next === undefined) return false;
    this.current = next;
    return true;
  }

  is(...states: QueueCallerState[]): boolean {
    return states.includes(this.current);
  }
}
