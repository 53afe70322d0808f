/**
 * An agent's feature codes: the agent dials a code on the desk phone (`*51` in the sample
 * dialplan), the dialplan sends the call to `Stasis(<app>,agent-login,${CHANNEL(endpoint)})`, and
 * the plugin changes the agent's presence, confirms and hangs up. Which number leads there is the
 * dialplan's business; the plugin knows the entry kinds below.
 */
export const FEATURE_CODE_KINDS = ['agent-login', 'agent-logout', 'agent-pause', 'agent-unpause'] as const;

export type FeatureCodeKind = (typeof FEATURE_CODE_KINDS)[number];

export function isFeatureCodeKind(kind: string | undefined): kind is FeatureCodeKind {
  return (FEATURE_CODE_KINDS as readonly (string | undefined)[]).includes(kind);
}

/** What each code changes: log-in and pause are independent (a paused agent stays logged in). */
export function featureCodeChange(kind: FeatureCodeKind): { loggedIn?: boolean; paused?: boolean } {
  switch (kind) {
    case 'agent-login':
      return { loggedIn: true };
    case 'agent-logout':
      return { loggedIn: false };
    case 'agent-pause':
      return { paused: true };
    case 'agent-unpause':
      return { paused: false };
  }
}

/**
 * The agent a feature code is for. The sample dialplan passes `${CHANNEL(endpoint)}`, the PJSIP
 * endpoint the phone authenticated as (`1001`), rather than the caller ID a phone may set to
 * anything; a dialplan may also pass an agent id. So the target is matched against each agent's
 * `endpoint` (`PJSIP/1001`: the whole name, or the name after the technology) first, then against
 * the agent ids. An empty target (a channel without an endpoint, e.g. Local) matches nobody.
 */
export function featureCodeAgent<A extends { id: string; endpoint: string }>(agents: readonly A[], target: string): A | undefined {
  if (target === '') return undefined;
  const byEndpoint = agents.find((a) => a.endpoint === target || a.endpoint.slice(a.endpoint.indexOf('/') + 1) === target);
  return byEndpoint ?? agents.find((a) => a.id === target);
}
