/**
 * The plugin configuration of a fuzz run: `slots` independent corners of one plugin, each with
 * its own agent (phone PJSIP/4<k>, personal number) and two queues, `q<k>` (agent-first) and
 * `c<k>` (customer-first). A scenario runs in one slot, so scenarios in flight side by side never
 * share an agent or a queue, and a scenario replayed alone (`--only K`) runs in the same slot
 * with the same configuration. Every time the configuration allows is short, so that a scenario
 * lasts seconds.
 */
export const FUZZ_ARI_PASSWORD = 'fuzz-ari-pa55word';

/** An agent without a personal number: a direct call to it hears "not assigned". */
export const AGENT_WITHOUT_NUMBER = 'nopn';

export function agentOf(slot: number): { id: string; endpoint: string; personalNumber: string } {
  return { id: `ag${slot}`, endpoint: `PJSIP/${4000 + slot}`, personalNumber: `${5553000 + slot}` };
}

export function queuesOf(slot: number): { agentFirst: string; customerFirst: string } {
  return { agentFirst: `q${slot}`, customerFirst: `c${slot}` };
}

export function fuzzConfig(slots: number): Record<string, unknown> {
  const queue = (id: string, mode: 'agent-first' | 'customer-first'): Record<string, unknown> => ({
    id,
    mode,
    overflow: { maxWaiting: 1 },
    offer: { initialDelaySec: 0.1, intervalSec: 0.5, thresholdPosition: 0 },
    outboundCallerId: { name: 'Fuzz Callback', number: '5550100' },
    maxAttempts: 1,
    retryMinGapSec: 0,
    wrapUpSec: 0,
    guard: { enabled: true, timeoutSec: 0.5 },
    customerFirstMaxWaitSec: 1,
  });
  const queues: Record<string, unknown>[] = [];
  const agents: Record<string, unknown>[] = [];
  for (let k = 0; k < slots; k++) {
    const q = queuesOf(k);
    queues.push(queue(q.agentFirst, 'agent-first'), queue(q.customerFirst, 'customer-first'));
    const a = agentOf(k);
    agents.push({
      id: a.id,
      name: `Agent ${k}`,
      endpoint: a.endpoint,
      personalNumber: a.personalNumber,
      queues: [{ id: q.agentFirst }, { id: q.customerFirst }],
    });
  }
  agents.push({ id: AGENT_WITHOUT_NUMBER, name: 'No Number', endpoint: 'PJSIP/3999', queues: [] });
  return {
    logLevel: 'info',
    queues,
    agents,
    callback: {
      dialTemplate: 'PJSIP/{number}@trunk',
      agentRingTimeoutSec: 1,
      customerRingTimeoutSec: 1,
      // An agent who lets a callback ring out is not offered it again at once (0 would redial in a tight loop).
      declineWindowSec: 2,
      // An attempt whose end the database could not record is settled when its lease expires: soon, here.
      leaseSec: 3,
      previewDecisionSec: 0.6,
      syncIntervalSec: 1,
      timeRulesIntervalSec: 1,
    },
    direct: {
      ringTimeoutSec: 1,
      overflow: true,
      offerIntervalSec: 0.4,
      maxOffers: 2,
      ownerWindowSec: 3,
      retryMinGapSec: 0,
      maxAttempts: 1,
      guard: { enabled: true, timeoutSec: 0.5 },
    },
    database: { statementTimeoutSec: 2, lockTimeoutSec: 0.5 },
    limits: { maxCallers: 1000 },
  };
}
