import { Writable } from 'node:stream';
import { AppConfig, parseConfig } from '../../src/config/config';
import { storyConfig } from '../../tools/support/story-config';
import { CallMilestone } from '../../src/calls/call-context';
import { createLogger } from '../../src/logging/logger';
import { startPlugin, RunningPlugin } from '../../src/plugin';
import { CallbackStore } from '../../src/store/callback-store';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { freshDatabase, TestDatabase } from './database';
import { PROMPTS } from '../../src/calls/prompts';
import { CallControl } from '../../src/ari/call-control';

/**
 * One end-to-end rig: the ARI simulator (real api-docs, spec-checked requests), a fresh
 * PostgreSQL database, and the real plugin connected through the unmodified ari-client.
 */
export interface Milestone {
  name: CallMilestone;
  data: Record<string, unknown>;
  atMs: number;
}

export interface Rig {
  sim: AriSimulator;
  plugin: RunningPlugin;
  store: CallbackStore;
  database: TestDatabase;
  config: AppConfig;
  milestones: Milestone[];
  logLines: string[];
  waitForMilestone(name: CallMilestone, pred?: (data: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Milestone>;
  stop(): Promise<void>;
}

export const TEST_ARI_PASSWORD = 'sim-secret-pa55word';

/** Queue support, two agents, fast timings (offers within a second). Override per test. */
export function testConfigInput(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...storyConfig({ callback: { agentRingTimeoutSec: 2, customerRingTimeoutSec: 2, declineWindowSec: 60, previewDecisionSec: 5 } }),
    ...over,
  };
}

export async function startRig(
  opts: {
    config?: Record<string, unknown>;
    agentsBusy?: boolean;
    timing?: Record<string, number>;
    env?: NodeJS.ProcessEnv;
    wrapControl?: (control: CallControl) => CallControl;
  } = {},
): Promise<Rig> {
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: TEST_ARI_PASSWORD,
    timing: { defaultSoundMs: 150, perDigitMs: 10, ...(opts.timing ?? {}) },
  });
  // The agents' phones are configured endpoints before the plugin starts, as on a real Asterisk.
  for (const e of ['PJSIP/1001', 'PJSIP/1002']) sim.endpoint(e);
  if (opts.agentsBusy !== false) {
    // Agents start on other calls so that callers wait; tests free them when the story needs it.
    sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    sim.endpoint('PJSIP/1002').setDeviceState('INUSE');
  }
  const database = await freshDatabase();
  const config = parseConfig(opts.config ?? testConfigInput(), {
    ...opts.env,
    ARI_URL: sim.url,
    ARI_PASSWORD: TEST_ARI_PASSWORD,
    DATABASE_URL: database.url,
    INSTANCE_ID: 'test-1',
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', stream: sink });
  const plugin = await startPlugin(config, logger, { wrapControl: opts.wrapControl });
  const milestones: Milestone[] = [];
  const t0 = Date.now();
  const waiters: { name: CallMilestone; pred?: (d: Record<string, unknown>) => boolean; resolve: (m: Milestone) => void }[] = [];
  plugin.app.on('milestone', (name, data) => {
    const m = { name, data, atMs: Date.now() - t0 };
    milestones.push(m);
    for (const w of [...waiters]) {
      if (w.name === name && (!w.pred || w.pred(data))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    sim,
    plugin,
    store: new CallbackStore(database.db),
    database,
    config,
    milestones,
    logLines,
    waitForMilestone(name, pred, timeoutMs = 5000) {
      const seen = milestones.find((m) => m.name === name && (!pred || pred(m.data)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { name, pred, resolve: (m: Milestone) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`milestone ${name} not reached in ${timeoutMs} ms; seen: ${milestones.map((m) => m.name).join(', ')}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop() {
      await plugin.stop();
      await sim.stop();
      await database.close();
    },
  };
}

/** The test configuration with the first queue's settings overridden. */
export function queueConfig(over: Record<string, unknown>): Record<string, unknown> {
  const base = testConfigInput();
  const [q] = base.queues as Record<string, unknown>[];
  return { ...base, queues: [{ ...q, ...over }] };
}

/** A caller books a callback in queue support (offer heard, 1 pressed, confirmed, hung up). */
export async function bookCallback(r: Pick<Rig, 'sim' | 'store'>, number: string): Promise<string> {
  const call = r.sim.call({ from: number, to: 'queue:support' });
  await call.entered();
  await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
  await call.pressDtmf('1');
  await call.waitFor('hungup', 5000);
  const cb = (await r.store.listOpen()).find((o) => o.customerNumber === number);
  if (!cb) throw new Error(`callback for ${number} not stored`);
  return cb.id;
}

/**
 * Mocha wiring for a suite of call stories: stops the rig after each test and fails the test if
 * the plugin made any request the ARI spec forbids or the simulator sent an invalid event.
 */
export function useRig(): { get: () => Rig; set: (r: Rig) => Rig } {
  let rig: Rig | undefined;
  afterEach(async () => {
    if (!rig) return;
    const current = rig;
    rig = undefined;
    const violations = current.sim.violations;
    const eventViolations = current.sim.eventViolations;
    await current.stop();
    if (violations.length > 0) throw new Error(`ARI spec violations: ${JSON.stringify(violations)}`);
    if (eventViolations.length > 0) throw new Error(`invalid events: ${JSON.stringify(eventViolations)}`);
  });
  return {
    get: () => {
      if (!rig) throw new Error('no rig started');
      return rig;
    },
    set: (r: Rig) => (rig = r),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
