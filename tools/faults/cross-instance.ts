import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/config';
import { storyConfig } from '../support/story-config';
import { createLogger } from '../../src/logging/logger';
import { RunningPlugin, startPlugin } from '../../src/plugin';
import { AriSimulator } from '../simulator/ari-simulator';
import { createScratchDatabase, PostgresServer } from '../support/postgres-server';

/**
 * Cross-instance latency: two plugin instances, each serving its own Asterisk (a simulator
 * each), on one PostgreSQL. A callback is created on A while B's agent, the only one
 * free, waits; the time from A's request to B's agent leg (`POST /channels` reaching B's
 * simulator) is what the change feed (LISTEN/NOTIFY) has to keep short: without it B would learn
 * of the callback at its next re-read (`callback.syncIntervalSec`, set to 60 s here so that it
 * cannot be what answers).
 *
 * Both instances run in this process; each offer is then refused (the agent's phone busy) and the
 * callback cancelled, so that every sample starts from the same state.
 */
export interface CrossInstanceReport {
  cross_instance_samples: number;
  cross_instance_offer_p50_ms: number;
  cross_instance_offer_p95_ms: number;
  cross_instance_offer_max_ms: number;
}

const PASSWORD = 'cross-instance-pa55';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export async function measureCrossInstance(opts: {
  server: PostgresServer;
  samples?: number;
  log?: (line: string) => void;
}): Promise<CrossInstanceReport> {
  const samples = opts.samples ?? 40;
  const scratch = await createScratchDatabase(opts.server, 'adc_cross');
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const sims: AriSimulator[] = [];
  const plugins: RunningPlugin[] = [];
  try {
    const start = async (
      name: string,
      entity: string,
      agent: [string, string, string],
    ): Promise<{ sim: AriSimulator; plugin: RunningPlugin }> => {
      const sim = await AriSimulator.start({
        user: 'direct-callback',
        password: PASSWORD,
        asteriskId: entity,
        timing: { defaultSoundMs: 200, perDigitMs: 5 },
        keepHistory: false,
      });
      sims.push(sim);
      sim.endpoint(agent[2]).setDeviceState('INUSE');
      const config = parseConfig(
        storyConfig({
          agents: [agent],
          queue: { wrapUpSec: 0 },
          callback: { agentRingTimeoutSec: 4, customerRingTimeoutSec: 4, declineWindowSec: 0, syncIntervalSec: 60 },
        }),
        { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: name },
      );
      const plugin = await startPlugin(config, createLogger({ stream: quiet }));
      plugins.push(plugin);
      return { sim, plugin };
    };
    const a = await start('box-a', '02:aa:00:00:00:01', ['ann', 'Ann', 'PJSIP/2001']);
    const b = await start('box-b', '02:bb:00:00:00:02', ['bob', 'Bob', 'PJSIP/2002']);
    const bobPhone = b.sim.endpoint('PJSIP/2002');
    bobPhone.manual();
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      bobPhone.setDeviceState(null); // Bob's phone idle: B has a free agent, and nothing to give it
      await sleep(100);
      const t0 = performance.now();
      const created = await a.plugin.app.admin.createCallback({ queueId: 'support', number: `+1555000${String(3000 + i)}` });
      const leg = await bobPhone.nextLeg(5000);
      const ms = performance.now() - t0;
      latencies.push(ms);
      // Reset: Bob busy, the offer refused, the callback withdrawn.
      bobPhone.setDeviceState('INUSE');
      leg.reject('busy');
      for (let tries = 0; tries < 100; tries++) {
        if ((await a.plugin.app.admin.cancelCallback(created.callback.id, 'measurement')) !== 'in_progress') break;
        await sleep(50);
      }
      opts.log?.(`cross-instance ${i + 1}/${samples}: ${ms.toFixed(1)} ms`);
    }
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      cross_instance_samples: latencies.length,
      cross_instance_offer_p50_ms: r2(pct(latencies, 50)),
      cross_instance_offer_p95_ms: r2(pct(latencies, 95)),
      cross_instance_offer_max_ms: r2(Math.max(...latencies)),
    };
  } finally {
    for (const p of plugins) await p.stop().catch(() => undefined);
    for (const s of sims) await s.stop();
    await scratch.drop().catch(() => undefined);
  }
}
