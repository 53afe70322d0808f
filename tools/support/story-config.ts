/**
 * The plugin configuration used for stories on the ARI simulator: the tests, the fault harness
 * and the benchmark. One overflowing queue with fast offers, the queue's outbound caller id, and
 * agents on that queue; each user overrides only what its story needs. The result is raw input
 * for parseConfig, so every override is validated like an administrator's file.
 */
export interface StoryConfigOptions {
  queueId?: string;
  /** Agents as [id, name, endpoint]; default Ann on PJSIP/1001 and Bob on PJSIP/1002. */
  agents?: readonly (readonly [string, string, string])[];
  queue?: Record<string, unknown>;
  callback?: Record<string, unknown>;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export function storyConfig(opts: StoryConfigOptions = {}): Record<string, unknown> {
  const queueId = opts.queueId ?? 'support';
  const agents = opts.agents ?? [
    ['a1001', 'Ann', 'PJSIP/1001'],
    ['a1002', 'Bob', 'PJSIP/1002'],
  ];
  return {
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    queues: [
      {
        id: queueId,
        overflow: { maxWaiting: 1 },
        offer: { initialDelaySec: 0.2, intervalSec: 0.6, thresholdPosition: 0 },
        outboundCallerId: { name: 'Support Callback', number: '5550100' },
        maxAttempts: 3,
        retryMinGapSec: 0,
        wrapUpSec: 0,
        ...opts.queue,
      },
    ],
    agents: agents.map(([id, name, endpoint]) => ({ id, name, endpoint, queues: [{ id: queueId }] })),
    callback: { dialTemplate: 'PJSIP/{number}@trunk', ...opts.callback },
  };
}
