import { AmiConfig, AppConfig } from '../config/config';
import { Environment } from '../config/environment';
import { amiDialplanSource, Dialplan, DialplanSource } from './ami-dialplan';
import { AriHttp, createAriHttp } from './ari-http';
import { checkAgentEndpoints, checkAri, checkPrompts, checkStasisApp, checkTrunk } from './ari-checks';
import { checkConfig, checkDatabase, CheckOutcome, checkSchema, isSkipped } from './checks';
import { checkDialplanArguments, checkDialplanEntries, readDialplan } from './dialplan-checks';
import { DatabaseProbe, knexDatabaseProbe } from './database-probe';
import { featureCodesOf } from './dialplan-rules';
import { promptLanguages, promptSet } from './prompt-inventory';
import { CheckResult, DoctorReport, reportOf, SkippedCheck } from './report';

/**
 * `direct-callback doctor`: checks one installation, in the order an administrator fixes it:
 * config → database → schema → ARI → prompts, agent phones, trunk, Stasis app → AMI → dialplan.
 * A check whose prerequisite failed is skipped with the reason, so every ✗ is a real one.
 * The connections are made through factories, so tests and the real-Asterisk level can pass their own.
 */
export interface DoctorOptions {
  configPath?: string;
  /** The environment the plugin would start with (the configuration's variables and secrets). */
  env: Environment;
  /** The plugin is running: its Stasis app must be registered rather than free. */
  expectRunning?: boolean;
  ari?: (config: AppConfig) => AriHttp;
  database?: (url: string) => DatabaseProbe;
  dialplan?: (ami: AmiConfig) => DialplanSource;
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const skipped: SkippedCheck[] = [];
  const add = (o: CheckOutcome): void => {
    if (isSkipped(o)) skipped.push(o);
    else checks.push(o);
  };
  const skip = (names: string[], reason: string): void => names.forEach((name) => skipped.push({ name, reason }));

  const { check: configCheck, config } = checkConfig(opts.configPath, opts.env);
  add(configCheck);
  if (!config) {
    skip(
      ['database', 'schema', 'ari', 'prompts', 'agent-endpoints', 'trunk', 'stasis-app', 'ami', 'dialplan', 'dialplan-arguments'],
      'the config is not valid',
    );
    return reportOf(checks, skipped);
  }

  const db = await checkDatabase(config.databaseUrl, opts.database ?? knexDatabaseProbe);
  add(db.check);
  if (db.state) add(checkSchema(db.state));
  else skip(['schema'], 'the database is not reachable');

  // AMI first read, ARI checks after: the trunk check may need the dialplan (a Local/ template).
  let dialplan: Dialplan | undefined;
  let amiOutcome: CheckOutcome = { name: 'ami', reason: 'AMI_USER is not set: the dialplan cannot be read' };
  if (config.ami) {
    const read = await readDialplan((opts.dialplan ?? amiDialplanSource)(config.ami), config.ami.username);
    amiOutcome = read.check;
    dialplan = read.dialplan;
  }

  const ari = (opts.ari ?? ((c: AppConfig) => createAriHttp({ url: c.ari.url, user: c.ari.user, password: c.ari.password })))(config);
  const ariCheck = await checkAri(ari, config.ari.user);
  add(ariCheck);
  if (ariCheck.ok) {
    add(await checkPrompts(ari, promptSet(config), promptLanguages(config)));
    add(await checkAgentEndpoints(ari, config.agents));
    add(await checkTrunk(ari, config.callback.dialTemplate, dialplan));
    add(await checkStasisApp(ari, config.ari.app, opts.expectRunning === true));
  } else {
    skip(['prompts', 'agent-endpoints', 'trunk', 'stasis-app'], 'ARI is not reachable with these settings');
  }

  add(amiOutcome);
  if (dialplan) {
    add(checkDialplanEntries(dialplan, config, featureCodesOf(config)));
    add(checkDialplanArguments(dialplan, config));
  } else {
    skip(['dialplan', 'dialplan-arguments'], isSkipped(amiOutcome) ? 'AMI is not configured' : 'the dialplan could not be read over AMI');
  }
  return reportOf(checks, skipped);
}
