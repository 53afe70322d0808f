import { alreadyExists, isGone } from '../ari/call-control';
import { CallContext } from './call-context';
import { Leg } from './leg';

/** How many times a bridge that Asterisk refused is tried while the agent waits on the line. */
const BRIDGE_TRIES = 2;

/**
 * A direct call's caller answered and put with the agent's answered leg in one mixing bridge. A
 * refusal (a 500) is tried once more; a channel gone, the agent's leg gone or `stillWanted` false
 * stops the tries. Resolves with the last error, or undefined when both are in the bridge.
 */
export async function bridgeDirectCall(
  ctx: Pick<CallContext, 'control'>,
  call: { callerId: string; agentLeg: Leg; bridgeId: string; name: string },
  stillWanted: () => boolean,
): Promise<Error | undefined> {
  const { control } = ctx;
  let error: Error | undefined;
  for (let i = 0; i < BRIDGE_TRIES && stillWanted() && !call.agentLeg.isGone; i++) {
    try {
      await control.answer(call.callerId);
      await control.createBridge(call.bridgeId, 'mixing', call.name).catch((e: unknown) => {
        if (!alreadyExists(e)) throw e; // made by the try before
      });
      await control.addToBridge(call.bridgeId, [call.callerId, call.agentLeg.channelId]);
      return undefined;
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      if (isGone(e)) break;
    }
  }
  return error ?? (call.agentLeg.isGone ? new Error('agent leg gone before the bridge') : undefined);
}
