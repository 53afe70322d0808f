import { HANGUP_CAUSE } from '../ari/ari-events';

/**
 * Who ended a direct call, stored as its reason: the caller, the agent (after talking), or the
 * plugin after a message or after confirming a callback.
 */
export type DirectEndReason = 'caller_hung_up' | 'agent_hung_up' | 'ended_after_message' | 'ended_after_confirmation' | 'bridge_failed';

/** Why the agent could not take a direct call, as stored for reporting. */
export type DirectUnavailableReason = 'no_answer' | 'busy' | 'unregistered' | 'logged_out' | 'do_not_disturb' | 'failed';

/** The reason stored when the agent's phone did not take the call, from the leg's hang-up cause. */
export function unavailableReasonOf(cause: number | undefined): DirectUnavailableReason {
  if (cause === HANGUP_CAUSE.USER_BUSY) return 'busy';
  if (cause === HANGUP_CAUSE.NO_ANSWER || cause === HANGUP_CAUSE.NO_USER_RESPONSE) return 'no_answer';
  if (cause === HANGUP_CAUSE.SUBSCRIBER_ABSENT) return 'unregistered';
  return 'failed';
}
