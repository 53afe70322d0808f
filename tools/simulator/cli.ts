/**
 * npm run sim -- --port 8088 --user asterisk --password secret [--host 127.0.0.1]
 *   [--sound-ms 1500] [--digit-ms 400] [--answer-ms 1000] [--endpoint PJSIP/1001 ...]
 * Runs the ARI simulator standalone and prints one line with its URL when listening.
 */
import { AriSimulator } from './ari-simulator';
import { numberOption, parseCommandLine, UsageError } from '../../src/cli/options';

const COMMAND = {
  usage: 'npm run sim --',
  summary: 'Run the ARI simulator standalone (an Asterisk 22 look-alike); prints its URL when listening.',
  options: {
    port: { type: 'string', valueName: 'port', description: 'TCP port (default 8088; 0 = any free port)' },
    host: { type: 'string', valueName: 'address', description: 'address to bind (default 127.0.0.1)' },
    user: { type: 'string', valueName: 'name', description: 'ARI user (default $ARI_USER)' },
    password: { type: 'string', valueName: 'secret', description: 'ARI password (default $ARI_PASSWORD)' },
    'sound-ms': { type: 'string', valueName: 'ms', description: 'duration of every sound: prompt' },
    'digit-ms': { type: 'string', valueName: 'ms', description: 'duration of each spoken digit' },
    'answer-ms': { type: 'string', valueName: 'ms', description: 'how long an originated phone rings before answering' },
    endpoint: {
      type: 'string',
      multiple: true,
      valueName: 'tech/resource',
      description: 'an endpoint that exists from the start, e.g. PJSIP/1001',
    },
  },
} as const;

async function main(): Promise<void> {
  const o = parseCommandLine('sim', COMMAND, (v) => {
    const user = v.user ?? process.env.ARI_USER;
    const password = v.password ?? process.env.ARI_PASSWORD;
    if (!user || !password) throw new UsageError('--user and --password are required (or ARI_USER and ARI_PASSWORD)');
    const timing: Record<string, number> = {};
    const soundMs = numberOption('sound-ms', v['sound-ms'], { min: 0 });
    const digitMs = numberOption('digit-ms', v['digit-ms'], { min: 0 });
    const answerMs = numberOption('answer-ms', v['answer-ms'], { min: 0 });
    if (soundMs !== undefined) timing.defaultSoundMs = soundMs;
    if (digitMs !== undefined) timing.perDigitMs = digitMs;
    if (answerMs !== undefined) timing.answerMs = answerMs;
    return {
      user,
      password,
      timing,
      port: numberOption('port', v.port, { integer: true, min: 0 }) ?? 8088,
      host: v.host ?? '127.0.0.1',
      endpoints: v.endpoint ?? [],
    };
  });
  const sim = await AriSimulator.start({ port: o.port, host: o.host, user: o.user, password: o.password, timing: o.timing });
  for (const e of o.endpoints) sim.endpoint(e);
  console.log(`ARI simulator listening on ${sim.url}/ari (user ${o.user})`);
  const shutdown = (): void => {
    void sim.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`ari simulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
