/**
 * npm run sim -- --port 8088 --user asterisk --password secret [--host 127.0.0.1]
 *   [--sound-ms 1500] [--digit-ms 400] [--answer-ms 1000] [--endpoint PJSIP/1001 ...]
 * Runs the ARI simulator standalone and prints one line with its URL when listening.
 */
import { AriSimulator } from './ari-simulator';

function parseArgs(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`missing value for --${key}`);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const one = (k: string): string | undefined => args.get(k)?.at(-1);
  const num = (k: string): number | undefined => {
    const v = one(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number`);
    return n;
  };
  const known = new Set(['port', 'host', 'user', 'password', 'sound-ms', 'digit-ms', 'answer-ms', 'endpoint']);
  for (const k of args.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  const user = one('user') ?? process.env.ARI_USER;
  const password = one('password') ?? process.env.ARI_PASSWORD;
  if (!user || !password) throw new Error('--user and --password are required');
  const timing: Record<string, number> = {};
  const sm = num('sound-ms'); if (sm !== undefined) timing.defaultSoundMs = sm;
  const dm = num('digit-ms'); if (dm !== undefined) timing.perDigitMs = dm;
  const am = num('answer-ms'); if (am !== undefined) timing.answerMs = am;
  const sim = await AriSimulator.start({
    port: num('port') ?? 8088,
    host: one('host') ?? '127.0.0.1',
    user,
    password,
    timing,
  });
  for (const e of args.get('endpoint') ?? []) sim.endpoint(e);
  console.log(`ARI simulator listening on ${sim.url}/ari (user ${user})`);
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
