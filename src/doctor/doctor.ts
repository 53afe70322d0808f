import { AmiConfig, AppConfig } from '../config/config';
import { Environment } from '../config/environment';
import { amiDialplanSource, Dialplan, DialplanSource } from './ami-dialplan';
import { AriHttp, createAriHttp } from './ari-http';
import { checkAgentEndpoints, checkAri, checkPrompts, checkStasisApp, checkTrunk } from './ari-checks';
import { checkConfig, checkDatabase, CheckOutcome, checkSchema, isSkipped } from './checks';
import { checkDialplanArguments, checkDialplanEntries, readDialplan } from './dialplan-checks';
import { DatabaseProbe, knexDatabaseProbe } from './database-probe';
import { featureCodesOf } from './dialplan-rules';
import { PjsipConfigUnreadable, PjsipEndpointConfig, readPjsipEndpoints } from './pjsip-config';
import { promptLanguages, promptSet } from './prompt-inventory';
import { CheckResult, DoctorReport, failed, reportOf, SkippedCheck } from './report';
import { checkOutboundDialling, checkSipPasswords } from './toll-fraud-checks';

/**
 * `direct-callback doctor`: checks one installation, in the order an administrator fixes it:
 * config → database → schema → ARI → prompts, agent phones, SIP passwords, trunk, Stasis app → AMI →
 * dialplan, outbound dialling.
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
      [
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
      ],
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
  // The PJSIP endpoints as Asterisk loaded them: their passwords here, their contexts for the
  // outbound check below.
  let endpoints: PjsipEndpointConfig[] | undefined;
  let endpointsUnread = 'ARI is not reachable with these settings';
  if (ariCheck.ok) {
    add(await checkPrompts(ari, promptSet(config), promptLanguages(config)));
    add(await checkAgentEndpoints(ari, config.agents));
    try {
      endpoints = await readPjsipEndpoints(ari);
      add(await checkSipPasswords(ari, endpoints));
    } catch (e) {
      if (!(e instanceof PjsipConfigUnreadable)) throw e;
      endpointsUnread = "the PJSIP endpoints' configuration could not be read over ARI";
      add(
        failed(
          'sip-passwords',
          `cannot read the PJSIP configuration over ARI: ${e.message}`,
          "the doctor reads endpoints and auths through ARI's dynamic configuration (GET /ari/asterisk/config/dynamic/res_pjsip/…, res_pjsip loaded); see Asterisk's log",
        ),
      );
    }
    add(await checkTrunk(ari, config.callback.dialTemplate, dialplan));
    add(await checkStasisApp(ari, config.ari.app, opts.expectRunning === true));
  } else {
    skip(['prompts', 'agent-endpoints', 'sip-passwords', 'trunk', 'stasis-app'], 'ARI is not reachable with these settings');
  }

  add(amiOutcome);
  if (dialplan) {
    add(checkDialplanEntries(dialplan, config, featureCodesOf(config)));
    add(checkDialplanArguments(dialplan, config));
    if (endpoints) add(checkOutboundDialling(dialplan, endpoints));
    else skip(['outbound-dialling'], `${endpointsUnread}: which contexts phones call in is unknown`);
  } else {
    const reason = isSkipped(amiOutcome) ? 'AMI is not configured' : 'the dialplan could not be read over AMI';
    skip(['dialplan', 'dialplan-arguments', 'outbound-dialling'], reason);
  }
  return reportOf(checks, skipped);
}
