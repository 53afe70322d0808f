/**
 * Fault injection on the simulator's REST side (the call-flow fuzzer, tools/fuzz/): a hook sees
 * every routed request before it is handled and may make it slow, or answer it with an error
 * instead of carrying it out, as an overloaded or refusing Asterisk would. Nothing is injected
 * unless a hook is set (`sim.injectRequestFaults`).
 */
export interface RequestFault {
  /** Held this long before it is handled (or refused). */
  delayMs?: number;
  /** Answered with this status (e.g. 500, 503, 409) and not carried out. */
  status?: number;
  message?: string;
}

export interface FaultableRequest {
  method: string;
  /** Operation nickname, e.g. `channels.play`. */
  operation: string;
  /** URL path as sent, e.g. /ari/channels/123/play. */
  path: string;
  /** Query parameters (originate's `endpoint` and `channelId` travel here). */
  query: Record<string, string>;
}

export type RequestFaultHook = (r: FaultableRequest) => RequestFault | undefined;
