import { Writable } from 'node:stream';
import { Knex } from 'knex';
import { AppConfig, parseConfig } from '../../src/config/config';
import { createLogger } from '../../src/logging/logger';
import { startPlugin, RunningPlugin } from '../../src/plugin';
import { createDatabase, migrate } from '../../src/store/database';
import { hashToken } from '../../src/http/auth';
import { AriSimulator } from '../simulator/ari-simulator';
import { storyConfig } from '../support/story-config';
import { createScratchDatabase, PostgresServer, ScratchDatabase } from '../support/postgres-server';

/**
 * One target of the abuse run: the ARI simulator, a fresh database on the real PostgreSQL, and
 * the real plugin started in this process (as the end-to-end tests start it), with its REST API
 * on a free port. Every attack on a rig uses numbers of its own, so attacks sharing it stay
 * independent.
 */
export const ABUSE_ARI_PASSWORD = 'abuse-ari-pa55word';
export const TOKENS = { admin: 'abuse-admin-7c1e4f-token', a1001: 'abuse-ann-2b9d0a-token', a1002: 'abuse-bob-e41f93-token' } as const;
export const AGENT_ENDPOINTS = ['PJSIP/1001', 'PJSIP/1002'];

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
  ms: number;
}

export interface AbuseRig {
  name: string;
  sim: AriSimulator;
  plugin: RunningPlugin;
  db: Knex;
  config: AppConfig;
  base: string;
  logLines: string[];
  milestones: { name: string; data: Record<string, unknown> }[];
  api(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; rawBody?: string; timeoutMs?: number },
  ): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

/**
 * The configuration the rigs start from: queue `support` (agent-first) and `cf` (customer-first),
 * both overflowing at once with fast offers; two agents with personal numbers on both queues;
 * direct calls overflowing to a callback; the API with an admin and two agent tokens. The raw
 * input goes through parseConfig like an administrator's file.
 */
export function abuseConfig(
  over: { queue?: Record<string, unknown>; direct?: Record<string, unknown>; top?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const base = storyConfig({
    logLevel: 'info',
    queue: { maxAttempts: 1, ...over.queue },
    callback: {
      agentRingTimeoutSec: 2,
      customerRingTimeoutSec: 2,
      declineWindowSec: 0,
      previewDecisionSec: 3,
      syncIntervalSec: 1,
      timeRulesIntervalSec: 1,
    },
  });
  const [support] = base.queues as Record<string, unknown>[];
  return {
    ...base,
    queues: [support, { ...support, id: 'cf', mode: 'customer-first', outboundCallerId: { name: 'CF Callback', number: '5550101' } }],
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }, { id: 'cf' }], personalNumber: '5551000' },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'support' }, { id: 'cf' }], personalNumber: '5551001' },
    ],
    direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: true, retryMinGapSec: 0, maxAttempts: 1, ...over.direct },
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    api: {
      tokens: [
        { name: 'ops', sha256: hashToken(TOKENS.admin), scope: 'admin' },
        { name: 'ann', sha256: hashToken(TOKENS.a1001), scope: 'agent:a1001' },
        { name: 'bob', sha256: hashToken(TOKENS.a1002), scope: 'agent:a1002' },
      ],
    },
    ...over.top,
  };
}

/** parseConfig with the environment a rig gives the plugin (throws the plugin's ConfigError). */
export function parseRigConfig(input: Record<string, unknown>, env: Record<string, string> = {}): AppConfig {
  return parseConfig(input, {
    ARI_URL: 'http://127.0.0.1:1',
    ARI_PASSWORD: ABUSE_ARI_PASSWORD,
    DATABASE_URL: 'postgres://abuse@127.0.0.1:1/abuse',
    INSTANCE_ID: 'abuse',
    ...env,
  });
}

export interface RigOptions {
  /** Agents' phones busy at the start (callers wait and hear the offer). Default true. */
  agentsBusy?: boolean;
  /** Runs on the fresh, migrated database before the plugin starts (e.g. rows it will load). */
  seed?: (db: Knex) => Promise<void>;
  timing?: Record<string, number>;
}

export async function startAbuseRig(
  server: PostgresServer,
  name: string,
  input: Record<string, unknown>,
  opts: RigOptions = {},
): Promise<AbuseRig> {
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: ABUSE_ARI_PASSWORD,
    timing: { defaultSoundMs: 120, perDigitMs: 5, ...opts.timing },
  });
  let scratch: ScratchDatabase | undefined;
  let db: Knex | undefined;
  try {
    for (const e of AGENT_ENDPOINTS) {
      sim.endpoint(e);
      if (opts.agentsBusy !== false) sim.endpoint(e).setDeviceState('INUSE');
    }
    scratch = await createScratchDatabase(server, 'adc_abuse');
    db = createDatabase(scratch.url, { poolMax: 4 });
    await migrate(db);
    if (opts.seed) await opts.seed(db);
    const config = parseRigConfig(input, { ARI_URL: sim.url, DATABASE_URL: scratch.url, INSTANCE_ID: `abuse-${name}` });
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const plugin = await startPlugin(config, createLogger({ level: 'info', stream: sink }));
    const milestones: AbuseRig['milestones'] = [];
    plugin.app.on('milestone', (n, data) => milestones.push({ name: n, data }));
    const base = plugin.http?.url ?? '';
    const ownScratch = scratch;
    const ownDb = db;
    return {
      name,
      sim,
      plugin,
      db,
      config,
      base,
      logLines,
      milestones,
      api: (method, path, o = {}) => apiCall(base, method, path, o),
      async stop() {
        await plugin.stop().catch(() => undefined);
        await sim.stop().catch(() => undefined);
        await ownDb.destroy().catch(() => undefined);
        await ownScratch.drop().catch(() => undefined);
      },
    };
  } catch (e) {
    await sim.stop().catch(() => undefined);
    await db?.destroy().catch(() => undefined);
    await scratch?.drop().catch(() => undefined);
    throw e;
  }
}

async function apiCall(
  base: string,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown; rawBody?: string; timeoutMs?: number },
): Promise<ApiAnswer> {
  const token = o.token === undefined ? TOKENS.admin : o.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const t0 = Date.now();
  const url =
    path.startsWith('/api/') || path.startsWith('/panel') || path.startsWith('/metrics') ? `${base}${path}` : `${base}/api/v1${path}`;
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - t0 };
}
