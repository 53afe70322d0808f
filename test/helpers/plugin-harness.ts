import { Writable } from 'node:stream';
import { AppConfig, parseConfig } from '../../src/config/config';
import { storyConfig } from '../../tools/support/story-config';
import { CallMilestone } from '../../src/calls/call-context';
import { createLogger, Logger } from '../../src/logging/logger';
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

/** The ARI simulator the tests' plugin logs in to: its user and password, short sounds and digits. */
export async function startTestSimulator(
  opts: { timing?: Record<string, number>; asteriskId?: string; busyEndpoints?: string[] } = {},
): Promise<AriSimulator> {
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: TEST_ARI_PASSWORD,
    ...(opts.asteriskId ? { asteriskId: opts.asteriskId } : {}),
    // A created leg enters Stasis 5 ms after the create's answer, as on a loaded real Asterisk
    // (trace k: 0.5-80 ms): every story meets the window in which a dial answers 409. The
    // simulator's own default (0) stays that of traces c and f7, which its trace replays check.
    timing: { defaultSoundMs: 150, perDigitMs: 10, createToStasisMs: 5, ...(opts.timing ?? {}) },
  });
  // Agents on other calls, so that callers wait; tests free them when the story needs it.
  for (const e of opts.busyEndpoints ?? []) sim.endpoint(e).setDeviceState('INUSE');
  return sim;
}

/** A debug logger whose lines a test reads back (to find a line, or to make sure a secret is in none). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', stream: sink }), lines };
}

/** A logger that writes nowhere, for plugins whose lines no test reads. */
export function quietLogger(): Logger {
  return createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) });
}

/**
 * One plugin on a simulated Asterisk of its own (several such boxes share one database): the
 * `busyEndpoints` start on other calls. The caller stops both (plugin first).
 */
export async function startPluginBox(opts: {
  instanceId: string;
  asteriskId: string;
  config: Record<string, unknown>;
  databaseUrl: string;
  busyEndpoints: string[];
}): Promise<{ sim: AriSimulator; plugin: RunningPlugin }> {
  const sim = await startTestSimulator({
    asteriskId: opts.asteriskId,
    timing: { defaultSoundMs: 200, perDigitMs: 5 },
    busyEndpoints: opts.busyEndpoints,
  });
  try {
    const config = parseConfig(opts.config, {
      ARI_URL: sim.url,
      ARI_PASSWORD: TEST_ARI_PASSWORD,
      DATABASE_URL: opts.databaseUrl,
      INSTANCE_ID: opts.instanceId,
    });
    return { sim, plugin: await startPlugin(config, quietLogger()) };
  } catch (e) {
    await sim.stop();
    throw e;
  }
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
  const agentPhones = ['PJSIP/1001', 'PJSIP/1002'];
  const sim = await startTestSimulator({ timing: opts.timing, busyEndpoints: opts.agentsBusy !== false ? agentPhones : [] });
  // The agents' phones are configured endpoints before the plugin starts, as on a real Asterisk.
  for (const e of agentPhones) sim.endpoint(e);
  const database = await freshDatabase();
  const config = parseConfig(opts.config ?? testConfigInput(), {
    ...opts.env,
    ARI_URL: sim.url,
    ARI_PASSWORD: TEST_ARI_PASSWORD,
    DATABASE_URL: database.url,
    INSTANCE_ID: 'test-1',
  });
  const { logger, lines: logLines } = capturingLogger();
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
