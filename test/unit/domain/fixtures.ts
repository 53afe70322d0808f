import { AgentState } from '../../../src/domain/agents';

/** A free, logged-in agent serving the given queues (priority 0) unless overridden. */
export function agent(id: string, over: Partial<AgentState> = {}, queues: string[] = ['q1']): AgentState {
  return {
    id,
    name: `Agent ${id}`,
    endpoint: `PJSIP/${id}`,
    queues: queues.map((queueId) => ({ queueId, priority: 0 })),
    loggedIn: true,
    paused: false,
    deviceState: 'NOT_INUSE',
    onPluginCall: false,
    wrapUpUntil: 0,
    idleSince: 0,
    ...over,
  };
}
