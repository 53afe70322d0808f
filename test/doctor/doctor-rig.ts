import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { shippedLanguages } from '../../src/config/prompt-languages';
import { runDoctor, DoctorOptions } from '../../src/doctor/doctor';
import { DoctorReport } from '../../src/doctor/report';
import { dialplanFromExtensionsConf, FakeAmiServer, FakeDialplanLine } from '../helpers/fake-ami-server';
import { TestDatabase } from '../helpers/database';
import { PjsipConfigProxy, RigPjsip, samplePjsip, startPjsipConfigProxy } from './pjsip-config-proxy';

export { SIP_SECRETS } from './pjsip-config-proxy';

/**
 * One installation for the doctor to check, all of it working: the ARI simulator with the agents'
 * phones and the trunk (behind a front answering their pjsip.conf configuration: pjsip-config-proxy.ts), the fake AMI loaded with the sample extensions.conf, a
 * migrated PostgreSQL database (the suite's, shared by its tests), and the example config from
 * docker/. Each test breaks one thing.
 */
export const ROOT = path.resolve(__dirname, '..', '..');
export const ARI_PASSWORD = 'doctor-ari-pa55';
export const AMI_SECRET = 'doctor-ami-secret';

/** Every check the doctor runs, in the order it reports them. */
export const ALL_CHECKS = [
  'config',
  'database',
  'schema',
  'ari',
  'prompts',
  'agent-endpoints',
  'sip-passwords',
  'trunk',
  'stasis-app',
  'ami',
  'dialplan',
  'dialplan-arguments',
  'outbound-dialling',
];

export function sampleDialplan(): FakeDialplanLine[] {
  return dialplanFromExtensionsConf(fs.readFileSync(path.join(ROOT, 'asterisk-config', 'extensions.conf'), 'utf8'));
}

export function exampleConfig(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'docker', 'direct-callback.example.json'), 'utf8')) as Record<string, unknown>;
}

export interface DoctorRig {
  sim: AriSimulator;
  /** The PJSIP configuration the doctor reads over ARI (the simulator's front, ARI_URL); tests change it. */
  pjsip: RigPjsip;
  proxy: PjsipConfigProxy;
  ami: FakeAmiServer;
  database: TestDatabase;
  dir: string;
  /** The environment the service would have. */
  env: Record<string, string>;
  configPath: string;
  writeConfig(config: Record<string, unknown>): void;
  run(over?: Partial<DoctorOptions> & { env?: Record<string, string | undefined> }): Promise<DoctorReport>;
  stop(): Promise<void>;
}

export async function startDoctorRig(database: TestDatabase): Promise<DoctorRig> {
  // The host has the prompts and core sounds of every shipped language, as the install steps put them there.
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: ARI_PASSWORD,
    endpoints: ['PJSIP/trunk', 'PJSIP/1001', 'PJSIP/1002'],
    soundLanguages: [...shippedLanguages()],
  });
  const ami = await FakeAmiServer.start({ users: { 'direct-callback': AMI_SECRET } });
  ami.setDialplan(sampleDialplan());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-callback-doctor-'));
  const configPath = path.join(dir, 'config.json');
  const writeConfig = (config: Record<string, unknown>): void => fs.writeFileSync(configPath, JSON.stringify(config));
  writeConfig(exampleConfig());
  const pjsip = samplePjsip();
  const proxy = await startPjsipConfigProxy(sim.url, { user: 'direct-callback', password: ARI_PASSWORD }, pjsip);
  const env = {
    ARI_URL: proxy.url,
    ARI_PASSWORD: ARI_PASSWORD,
    DATABASE_URL: database.url,
    AMI_USER: 'direct-callback',
    AMI_PASSWORD: AMI_SECRET,
    AMI_HOST: '127.0.0.1',
    AMI_PORT: String(ami.port),
  };
  return {
    sim,
    pjsip,
    proxy,
    ami,
    database,
    dir,
    env,
    configPath,
    writeConfig,
    run: (over = {}) => {
      const merged: NodeJS.ProcessEnv = { ...env, ...over.env };
      for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
      return runDoctor({ configPath, ...over, env: merged });
    },
    stop: async () => {
      await proxy.stop();
      await sim.stop();
      await ami.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function check(report: DoctorReport, name: string): { ok: boolean; detail: string; fix?: string } {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check '${name}' in ${JSON.stringify(report)}`);
  return c;
}

export function skippedNames(report: DoctorReport): string[] {
  return report.skipped.map((s) => s.name);
}
