import type { AriSimulator } from '../../tools/simulator/ari-simulator';
import type { FaultableRequest, RequestFault } from '../../tools/simulator/request-faults';

/** What `faultRequests` matches: an operation, and optionally a piece of the path (a bridge's id). */
export interface RequestMatch {
  operation: string;
  pathIncludes?: string;
}

/**
 * The simulator answers the first `times` requests that match with `fault` (a 500, a delay), then
 * carries on as usual: how a story stages an Asterisk that refuses or stalls one request. `count`
 * says how many were faulted, so the story can check the fault happened.
 */
export function faultRequests(
  sim: Pick<AriSimulator, 'injectRequestFaults'>,
  match: RequestMatch,
  times: number,
  fault: RequestFault,
): { readonly count: number } {
  let count = 0;
  const matches = (r: FaultableRequest): boolean =>
    r.operation === match.operation && (match.pathIncludes === undefined || r.path.includes(match.pathIncludes));
  sim.injectRequestFaults((r) => {
    if (count >= times || !matches(r)) return undefined;
    count += 1;
    return fault;
  });
  return {
    get count() {
      return count;
    },
  };
}

/** What a refusing Asterisk answers. */
export const INTERNAL_ERROR: RequestFault = { status: 500, message: 'Internal Server Error' };
