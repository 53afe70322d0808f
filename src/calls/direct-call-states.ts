/**
 * Where a call to an agent's personal number is, and the only ways it moves on. The session asks
 * the table before it acts after an await (the caller or the agent may have hung up meanwhile):
 * a step the table refuses means the call moved on, so a late step cannot undo what happened in
 * between (a booking confirmed to a caller who hung up, an agent bridged to a caller gone).
 */
export type DirectCallState =
  /** The start: the agent's phone is about to ring or rings (or is known unavailable: not rung). */
  | 'ringing_agent'
  /** The agent answered: caller and agent are being put in one mixing bridge. */
  | 'connecting'
  | 'bridged'
  /** The agent could not take it: the caller is offered a callback owed by the agent. */
  | 'offering'
  /** Press 1: the owed callback's booking statement runs. */
  | 'storing'
  /** The caller hears a last prompt (the message, or the confirmation) and is hung up. */
  | 'closing'
  | 'ended';

/** What happens to a direct call, named by what moves its state on. */
export type DirectCallStep =
  | 'agent_answered'
  /** Caller and agent are in one mixing bridge. */
  | 'bridge_made'
  /**
   * The agent cannot take it (also: answered and left before the bridge, or the bridge was
   * refused) and a callback can be offered (direct overflow, a callable caller id).
   */
  | 'offer'
  /** The agent cannot take it and no callback can be offered: the system message, then the end. */
  | 'message'
  /** Press 1 during the offers. */
  | 'accepted'
  /** Offered enough times: the system message, then the end. */
  | 'offers_done'
  /** The booking failed or was refused: the offers go on. */
  | 'back_to_offering'
  /** The booking is committed (or the caller had one already): the caller is told. */
  | 'booked'
  /** The number gate refused the caller id: the caller is told it cannot be called back. */
  | 'number_refused'
  | 'end';

/** The table: from each state, the steps it allows and where each leads. `ended` allows none. */
export const DIRECT_CALL_TRANSITIONS: { readonly [S in DirectCallState]: Partial<Record<DirectCallStep, DirectCallState>> } = {
  ringing_agent: { agent_answered: 'connecting', offer: 'offering', message: 'closing', end: 'ended' },
  connecting: { bridge_made: 'bridged', offer: 'offering', message: 'closing', end: 'ended' },
  bridged: { end: 'ended' },
  offering: { accepted: 'storing', offers_done: 'closing', end: 'ended' },
  storing: { booked: 'closing', number_refused: 'closing', back_to_offering: 'offering', end: 'ended' },
  closing: { end: 'ended' },
  ended: {},
};

/** The state a step leads to from `state`, or undefined when the table does not allow it. */
export function nextDirectCallState(state: DirectCallState, step: DirectCallStep): DirectCallState | undefined {
  return DIRECT_CALL_TRANSITIONS[state][step];
}

/** A direct call's state, moved on only through the table. */
export class DirectCallStates {
  private current: DirectCallState = 'ringing_agent';

  get state(): DirectCallState {
    return this.current;
  }

  /** Takes the step if the table allows it from the current state; says whether it did. */
  step(step: DirectCallStep): boolean {
    const next = nextDirectCallState(this.current, step);
    if (next === undefined) return false;
    this.current = next;
    return true;
  }

  is(...states: DirectCallState[]): boolean {
    return states.includes(this.current);
  }
}
