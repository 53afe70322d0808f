import { CallControl } from '../../src/ari/call-control';
import { AppConfig, parseConfig } from '../../src/config/config';
import { startPlugin, RunningPlugin } from '../../src/plugin';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { capturingLogger, startTestSimulator, testConfigInput, TEST_ARI_PASSWORD } from '../helpers/plugin-harness';

/** Like startRig, but the simulator exists before the plugin starts (boot failures, outages). */
export interface SplitRig {
  sim: AriSimulator;
  database: TestDatabase;
  config: AppConfig;
  logLines: string[];
  plugin?: RunningPlugin;
  /** Starts the plugin; `wrapControl` replaces some of its ARI requests (faults a test injects). */
  start(opts?: { wrapControl?: (control: CallControl) => CallControl }): Promise<RunningPlugin>;
  stop(): Promise<void>;
}

export async function splitRig(
  over: Record<string, unknown> = {},
  opts: { databaseUrl?: (scratchUrl: string, name: string) => Promise<string> } = {},
): Promise<SplitRig> {
  const sim = await startTestSimulator({ busyEndpoints: ['PJSIP/1001', 'PJSIP/1002'] });
  const database = await freshDatabase();
  const databaseUrl = opts.databaseUrl ? await opts.databaseUrl(database.url, database.scratch.name) : database.url;
  const config = parseConfig(
    { ...testConfigInput(), ...over },
    { ARI_URL: sim.url, ARI_PASSWORD: TEST_ARI_PASSWORD, DATABASE_URL: databaseUrl, INSTANCE_ID: 'resilience' },
  );
  // One logger for the plugin's every start: its lines all land in logLines.
  const { logger, lines: logLines } = capturingLogger();
  const rig: SplitRig = {
    sim,
    database,
    config,
    logLines,
    async start(opts = {}) {
      rig.plugin = await startPlugin(config, logger, { wrapControl: opts.wrapControl });
      return rig.plugin;
    },
    async stop() {
      await rig.plugin?.stop();
      await sim.stop();
      await database.close();
    },
  };
  return rig;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
