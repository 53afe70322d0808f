import { randomBytes } from 'node:crypto';
import { AriConnection } from '../../src/ari/ari-connection';
import { createLogger, Logger } from '../../src/logging/logger';
import { AsteriskServer } from '../../tools/asterisk-lab/asterisk-server';
import { PortAllocator } from '../../tools/asterisk-lab/ports';
import { Lab, LabOptions } from '../../tools/asterisk-lab/lab';
import { AsteriskRuntime, runtimeOrSkipReason } from '../../tools/asterisk-lab/runtime';
import { storyConfig, StoryConfigOptions } from '../../tools/support/story-config';
import { testPostgresServer } from '../helpers/database';

/**
 * The real-Asterisk level. Each story gets a lab of its own (Asterisk from asterisk-config/,
 * SIPp phones, a fresh database, the plugin as `npm start` runs it) and stops it afterwards; a
 * failed story's folder is kept and named in the error, with Asterisk's and the plugin's logs.
 *
 * Without the runtime a suite is skipped, its title saying why and how to get it; under CI=true
 * that is an error instead (runtimeOrSkipReason throws), because a CI that skips proves nothing.
 */
const found = runtimeOrSkipReason();

export function describeOnAsterisk(title: string, body: (this: Mocha.Suite) => void): void {
  if ('skip' in found) {
    describe.skip(`${title} (skipped: ${found.skip})`, body);
    return;
  }
  describe(title, body);
}

export function runtime(): AsteriskRuntime {
  if ('skip' in found) throw new Error(found.skip);
  return found.runtime;
}

/** The sample dialplan's numbers (asterisk-config/extensions.conf). */
export const DID = {
  support: '5552000',
  supportVip: '5552001',
  /** Queue support with the channel's language set to Spanish by the dialplan. */
  supportSpanish: '5552002',
  sales: '5552100',
  direct1001: '5551000',
  direct1002: '5551001',
} as const;

/**
 * The plugin's configuration for a story on the real Asterisk: queue `support` (and `sales`), the
 * sample's agents 1001/1002 (and more where a story needs them), timings short enough for a test
 * but long enough for real prompts to play.
 */
export function asteriskStoryConfig(opts: StoryConfigOptions & { extra?: Record<string, unknown> } = {}): Record<string, unknown> {
  const base = storyConfig({
    ...opts,
    queue: { offer: { initialDelaySec: 1, intervalSec: 30, thresholdPosition: 0 }, ...opts.queue },
    callback: {
      agentRingTimeoutSec: 8,
      customerRingTimeoutSec: 8,
      previewDecisionSec: 15,
      declineWindowSec: 60,
      leaseSec: 30,
      ...opts.callback,
    },
  });
  const [support] = base.queues as Record<string, unknown>[];
  return { ...base, queues: [support, { ...support, id: 'sales' }], ...opts.extra };
}

export type StoryLab = Omit<LabOptions, 'runtime' | 'postgres'>;

/** Runs `fn` with a lab; always stops it; keeps its folder when `fn` fails. */
export async function withLab<T>(spec: StoryLab, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.start({ ...spec, runtime: runtime(), postgres: await testPostgresServer() });
  let failed = true;
  try {
    const r = await fn(lab);
    failed = false;
    return r;
  } catch (e) {
    const where = `lab kept in ${lab.asterisk.dir} (Asterisk log: log/messages; plugin log: lab/plugin.log; SIPp: lab/*/)`;
    if (e instanceof Error) e.message = `${e.message}\n    ${where}`;
    throw e;
  } finally {
    await lab.stop({ keep: failed });
  }
}

/**
 * Asterisk alone, from asterisk-config/ on loopback ports of its own (no SIPp, no plugin, no
 * database): for facts about Asterisk itself. Two agent phones and the trunk are configured but
 * nothing answers on their ports. `rtpPorts`: as many media ports as channels the test holds at once.
 */
export async function startBareAsterisk(opts: { rtpPorts?: number } = {}): Promise<AsteriskServer> {
  const ports = new PortAllocator();
  const rtp = await ports.takeRange(opts.rtpPorts ?? 20);
  return AsteriskServer.start({
    runtime: runtime(),
    ports: { sip: await ports.take(), http: await ports.take(), ami: await ports.take(), rtpStart: rtp[0], rtpEnd: rtp[rtp.length - 1] },
    ariPassword: randomBytes(12).toString('hex'),
    amiPassword: randomBytes(12).toString('hex'),
    agentPhones: [
      { endpoint: '1001', port: await ports.take() },
      { endpoint: '1002', port: await ports.take() },
    ],
    trunkPort: await ports.take(),
  });
}

/** The Stasis app of asterisk-config/ (ari.conf's user, extensions.conf's Stasis()). */
export const ARI_APP = 'direct-callback';

/**
 * The product's ARI connection (ari-client, as in production) to `asterisk` as the Stasis app
 * `direct-callback`, resolved once its WebSocket is up.
 */
export async function connectAri(asterisk: AsteriskServer, logger: Logger = createLogger({ silent: true })): Promise<AriConnection> {
  const conn = new AriConnection({
    url: asterisk.ariUrl,
    user: 'direct-callback',
    password: asterisk.opts.ariPassword,
    app: ARI_APP,
    logger,
  });
  const connected = new Promise<void>((resolve) => conn.once('connected', () => resolve()));
  await conn.start();
  await connected;
  return conn;
}
