import { expect } from 'chai';
import net from 'node:net';
import { Client } from 'pg';
import { checkPrompts } from '../../src/doctor/ari-checks';
import { checkDialplanEntries } from '../../src/doctor/dialplan-checks';
import { featureCodesOf } from '../../src/doctor/dialplan-rules';
import { createAriHttp } from '../../src/doctor/ari-http';
import { parseShowDialPlan } from '../../src/doctor/ami-dialplan';
import { promptSet } from '../../src/doctor/prompt-inventory';
import { PROMPTS } from '../../src/calls/prompts';
import { parseConfig } from '../../src/config/config';
import { createScratchDatabase, ScratchDatabase } from '../../tools/support/postgres-server';
import { sqlMigrationNames } from '../../src/store/database';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { freshDatabase, testPostgresServer, TestDatabase } from '../helpers/database';
import { connectAri } from '../helpers/simulator-ari';
import { FakeDialplanLine, stasisAppContext } from '../helpers/fake-ami-server';
import {
  ALL_CHECKS,
  ARI_PASSWORD,
  check,
  DoctorRig,
  exampleConfig,
  sampleDialplan,
  SIP_SECRETS,
  skippedNames,
  startDoctorRig,
} from './doctor-rig';

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
}

/** The dialplan as ShowDialPlan lists it, for the pure checks. */
function dialplanOf(lines: FakeDialplanLine[]) {
  return parseShowDialPlan(
    lines.map((l): Record<string, string> =>
      'include' in l
        ? { Context: l.context, IncludeContext: l.include }
        : { Context: l.context, Extension: l.extension, Priority: String(l.priority), Application: l.application, AppData: l.appData },
    ),
  );
}

describe('doctor: one installation checked on the simulator, the fake AMI and PostgreSQL', function () {
  this.timeout(20000);
  let rig: DoctorRig;
  let database: TestDatabase;
  before(async () => {
    database = await freshDatabase();
  });
  after(async () => {
    await database.close();
  });
  beforeEach(async () => {
    rig = await startDoctorRig(database);
  });
  afterEach(async () => {
    await rig.stop();
  });

  it('a working installation: every check ✓, nothing skipped', async () => {
    const report = await rig.run();
    expect(
      report.checks.filter((c) => !c.ok),
      JSON.stringify(report),
    ).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.checks.map((c) => c.name)).to.deep.equal(ALL_CHECKS);
    expect(report.skipped).to.deep.equal([]);
    expect(check(report, 'ari').detail).to.include('Asterisk 22.10.1');
    expect(check(report, 'dialplan').detail).to.equal(
      '2 queue(s), 2 personal number(s), 4 feature code(s) reach Stasis(direct-callback,…)',
    );
    // The doctor asked no ARI question the spec forbids, and opened no WebSocket (the app stays free).
    expect(rig.sim.violations).to.deep.equal([]);
    expect(rig.sim.activeApps()).to.deep.equal([]);
  });

  it('config: an invalid file names the field; nothing else is checked', async () => {
    const config = exampleConfig();
    (config.queues as Record<string, unknown>[])[0] = { id: 'support', overflow: { maxWaiting: 0 } };
    rig.writeConfig(config);
    const report = await rig.run();
    expect(report.ok).to.equal(false);
    expect(check(report, 'config')).to.include({ ok: false });
    expect(check(report, 'config').detail).to.include('queues[0].overflow.maxWaiting');
    expect(skippedNames(report)).to.deep.equal(ALL_CHECKS.slice(1));
  });

  it('database: not reachable; the schema is not checked', async () => {
    const report = await rig.run({ env: { DATABASE_URL: `postgres://nobody@127.0.0.1:${await closedPort()}/nothing` } });
    expect(check(report, 'database').ok).to.equal(false);
    expect(check(report, 'database').fix).to.include('start PostgreSQL');
    expect(skippedNames(report)).to.deep.equal(['schema']);
    expect(report.ok).to.equal(false);
  });

  describe('schema', () => {
    let scratch: ScratchDatabase | undefined;
    afterEach(async () => {
      await scratch?.drop();
      scratch = undefined;
    });

    it('not applied yet: the files are named and the fix is `direct-callback migrate`', async () => {
      scratch = await createScratchDatabase(await testPostgresServer(), 'adc_test');
      const report = await rig.run({ env: { DATABASE_URL: scratch.url } });
      expect(check(report, 'database').ok).to.equal(true);
      const shipped = sqlMigrationNames();
      expect(shipped).to.include('001_callbacks.sql');
      expect(check(report, 'schema')).to.deep.include({
        ok: false,
        detail: `${shipped.length} of ${shipped.length} schema files not applied: ${shipped.join(', ')}`,
      });
      expect(check(report, 'schema').fix).to.include('direct-callback migrate');
      // Read-only: the doctor created nothing in the empty database.
      const c = new Client({ connectionString: scratch.url });
      await c.connect();
      const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
      await c.end();
      expect(rows[0]?.n).to.equal('0');
    });

    it('newer than this version: the unknown change is named', async () => {
      await database.db('knex_migrations').insert({ name: '999_from_the_future.sql', batch: 9, migration_time: new Date() });
      try {
        const report = await rig.run();
        expect(check(report, 'schema')).to.deep.include({
          ok: false,
          detail: 'the database has schema changes this version does not ship: 999_from_the_future.sql',
        });
      } finally {
        await database.db('knex_migrations').where({ name: '999_from_the_future.sql' }).delete();
      }
    });
  });

  describe('ari', () => {
    it('a wrong password: 401, told apart from a wrong URL; the ARI checks are skipped', async () => {
      const report = await rig.run({ env: { ARI_PASSWORD: 'wrong' } });
      const ari = check(report, 'ari');
      expect(ari.ok).to.equal(false);
      expect(ari.detail).to.equal(`ARI at ${rig.env.ARI_URL} refused user 'direct-callback' (401 Authentication required)`);
      expect(ari.fix).to.include('[direct-callback] section of /etc/asterisk/ari.conf');
      expect(skippedNames(report)).to.deep.equal([
        'prompts',
        'agent-endpoints',
        'sip-passwords',
        'trunk',
        'stasis-app',
        'outbound-dialling',
      ]);
    });

    it('a wrong URL (with /ari at the end): 404, and the fix says to drop /ari', async () => {
      const report = await rig.run({ env: { ARI_URL: `${rig.sim.url}/ari` } });
      const ari = check(report, 'ari');
      expect(ari.detail).to.equal(`no ARI at ${rig.sim.url}/ari (GET /ari/asterisk/info answered 404)`);
      expect(ari.fix).to.include(`give the server root instead, e.g. ${rig.sim.url}`);
    });

    it('nothing listening: says so, and how to check the HTTP server', async () => {
      const report = await rig.run({ env: { ARI_URL: `http://127.0.0.1:${await closedPort()}` } });
      expect(check(report, 'ari').detail).to.match(/^cannot reach ARI at .*: nothing listens there$/);
      expect(check(report, 'ari').fix).to.include('http show status');
    });
  });

  describe('prompts', () => {
    it('a prompt missing on the Asterisk host is named, with the install command', async () => {
      rig.sim.setSoundMissing('callback/offer', true, 'en');
      const report = await rig.run();
      const prompts = check(report, 'prompts');
      expect(prompts.ok).to.equal(false);
      expect(prompts.detail).to.equal('1 sound(s) missing on the Asterisk host: callback/offer (en)');
      expect(prompts.fix).to.match(
        /sudo install -m 0644 -o asterisk -g asterisk .*asterisk-config\/sounds\/en\/callback\/\*\.wav \/var\/lib\/asterisk\/sounds\/en\/callback\//,
      );
      expect(prompts.fix).to.include('asterisk -rx "core show sound callback/offer"');
      expect(prompts.fix).to.include('no restart');
      expect(report.ok).to.equal(false);
    });

    it('every configured language: a language without the prompts or the core digits is reported per sound', async () => {
      const config = parseConfig(
        { ...exampleConfig(), queues: [{ id: 'billing', announcement: 'callback/queue-billing' }], agents: [] },
        { ARI_PASSWORD: ARI_PASSWORD },
      );
      const ari = createAriHttp({ url: rig.sim.url, user: 'direct-callback', password: ARI_PASSWORD });
      rig.sim.setSoundMissing('digits/7', true, 'en');
      rig.sim.setSoundMissing('callback/queue-billing', true, 'en');
      const result = await checkPrompts(ari, promptSet(config), ['en', 'fr']);
      expect(result.ok).to.equal(false);
      // Every plugin prompt in fr, the queue's announcement and the ten digits: 12 named, the rest counted.
      const total = Object.keys(PROMPTS).length + 1 + 10;
      expect(result.detail).to.match(
        new RegExp(
          `^${total} sound\\(s\\) missing on the Asterisk host: callback/queue-billing \\(en, fr\\), digits/7 \\(en, fr\\), callback/offer \\(fr\\), .*, and ${total - 12} more$`,
        ),
      );
      // en: the queue's own announcement is not shipped (to be recorded); fr: no prompts are shipped yet.
      expect(result.fix).to.include('not shipped in en: callback/queue-billing: record each as /var/lib/asterisk/sounds/en/<id>.wav');
      expect(result.fix).to.match(
        /not shipped in fr: callback\/offer, .*callback\/queue-billing: record each as \/var\/lib\/asterisk\/sounds\/fr\/<id>\.wav/,
      );
      expect(result.fix).to.include("install Asterisk's core sounds for en");
      expect(result.fix).to.include("install Asterisk's core sounds for fr");
    });
  });

  it('agent-endpoints: an endpoint typed wrong is named with the endpoints that exist', async () => {
    const config = exampleConfig();
    (config.agents as Record<string, unknown>[])[1] = {
      id: '1002',
      name: 'Agent 1002',
      endpoint: 'PJSIP/1020',
      queues: [{ id: 'support' }],
      personalNumber: '5551001',
    };
    rig.writeConfig(config);
    const report = await rig.run();
    expect(check(report, 'agent-endpoints')).to.deep.include({
      ok: false,
      detail: 'agents[1] Agent 1002: PJSIP/1020 does not exist (PJSIP endpoints: trunk, 1001, 1002)',
    });
    expect(check(report, 'agent-endpoints').fix).to.include('pjsip show endpoints');
  });

  describe('trunk', () => {
    it("the dial template's endpoint does not exist", async () => {
      rig.writeConfig({ ...exampleConfig(), callback: { dialTemplate: 'PJSIP/{number}@provider' } });
      const report = await rig.run();
      expect(check(report, 'trunk')).to.deep.include({
        ok: false,
        detail:
          "callback.dialTemplate 'PJSIP/{number}@provider' dials through PJSIP/provider, which does not exist (PJSIP endpoints: trunk, 1001, 1002)",
      });
    });

    it('a Local/ template is checked in the dialplan: the sample context exists, a typo does not', async () => {
      rig.writeConfig({ ...exampleConfig(), callback: { dialTemplate: 'Local/{number}@callback-outbound/n' } });
      expect(check(await rig.run(), 'trunk').ok).to.equal(true);
      rig.writeConfig({ ...exampleConfig(), callback: { dialTemplate: 'Local/{number}@callbak-outbound/n' } });
      expect(check(await rig.run(), 'trunk')).to.deep.include({
        ok: false,
        detail:
          "callback.dialTemplate 'Local/{number}@callbak-outbound/n' dials through the context 'callbak-outbound', which is not in the dialplan",
      });
    });
  });

  it('stasis-app: taken by another connection; with --running the same is expected', async () => {
    const other = await connectAri(rig.sim, 'direct-callback');
    try {
      const report = await rig.run();
      expect(check(report, 'stasis-app')).to.deep.include({
        ok: false,
        detail:
          "Stasis app 'direct-callback' is already registered: another connection holds it (a second one would silently take its calls over)",
      });
      // While an app is connected, res_stasis lists a context of its own in ShowDialPlan (measured on a
      // real Asterisk): its bare Stasis(direct-callback) is not a dialplan line the plugin would hang up.
      rig.ami.setDialplan([...rig.ami.dialplanLines(), ...stasisAppContext('direct-callback')]);
      const running = await rig.run({ expectRunning: true });
      expect(
        running.checks.filter((c) => !c.ok),
        JSON.stringify(running),
      ).to.deep.equal([]);
    } finally {
      other.close();
    }
    const alone = await AriSimulator.start({
      user: 'direct-callback',
      password: ARI_PASSWORD,
      endpoints: ['PJSIP/trunk', 'PJSIP/1001', 'PJSIP/1002'],
    });
    try {
      const report = await rig.run({ expectRunning: true, env: { ARI_URL: alone.url } });
      expect(check(report, 'stasis-app')).to.deep.include({
        ok: false,
        detail: "Stasis app 'direct-callback' is not registered: no plugin is connected",
      });
    } finally {
      await alone.stop();
    }
  });

  describe('toll fraud (issue 19)', () => {
    it("sip-passwords: a phone still on the sample's CHANGE_ME password is named; no password reaches the report", async () => {
      rig.pjsip.passwords.set('1002', 'CHANGE_ME_1002');
      const report = await rig.run();
      expect(report.ok).to.equal(false);
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(['sip-passwords']);
      expect(check(report, 'sip-passwords').detail).to.equal(
        "PJSIP auth 1002 (endpoint 1002) still has the sample's CHANGE_ME password: anyone who has read the sample can register as that phone and call out through your trunk",
      );
      expect(check(report, 'sip-passwords').fix).to.include('openssl rand -hex 16');
      expect(check(report, 'sip-passwords').fix).to.include('docker/secrets/sip_passwords.txt');
      expect(JSON.stringify(report)).to.not.include(SIP_SECRETS['1001']);
      rig.pjsip.passwords.set('1002', SIP_SECRETS['1002']);
      const fixed = await rig.run();
      expect(check(fixed, 'sip-passwords')).to.deep.include({
        ok: true,
        detail: 'no CHANGE_ME password in the 2 PJSIP auth(s) of 3 endpoint(s) (1001, 1002)',
      });
      expect(JSON.stringify(fixed)).to.not.include(SIP_SECRETS['1001']).and.not.include(SIP_SECRETS['1002']);
    });

    it('outbound-dialling: an _X. to the trunk reachable from the phones is flagged; the sample is not', async () => {
      const sample = sampleDialplan();
      expect(check(await rig.run(), 'outbound-dialling')).to.deep.include({
        ok: true,
        detail: '10 premium, international and Caribbean numbers dialled from 2 context(s) (from-trunk, from-agents) reach no trunk',
      });
      rig.ami.setDialplan([
        ...sample.filter((l) => l.context !== 'agents-outbound'),
        { context: 'agents-outbound', extension: '_X.', priority: 1, application: 'Dial', appData: 'PJSIP/${EXTEN}@trunk,60' },
      ]);
      const report = await rig.run();
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(['outbound-dialling']);
      expect(check(report, 'outbound-dialling').detail).to.match(
        /^calls from PJSIP\/1001, PJSIP\/1002 \(context from-agents\) reach Dial\(PJSIP\/\$\{EXTEN\}@trunk,60\) at _X\.@agents-outbound for 011442079460000 \(international\), .*19005550123 \(premium\), .*18765550123 \(Caribbean\)/,
      );
      expect(check(report, 'outbound-dialling').fix).to.include('[agents-outbound] in asterisk-config/extensions.conf');
      // The trunk's own context sends calls nowhere: only the phones' context is named.
      expect(check(report, 'outbound-dialling').detail).to.not.include('from-trunk');
    });

    it('both at once, as on the install issue 19 describes: CHANGE_ME phones and an open outbound context', async () => {
      rig.pjsip.passwords.set('1001', 'CHANGE_ME_1001');
      rig.pjsip.passwords.set('1002', 'CHANGE_ME_1002');
      rig.ami.setDialplan([
        ...sampleDialplan().filter((l) => l.context !== 'agents-outbound'),
        { context: 'agents-outbound', extension: '_[+0-9]XXXX.', priority: 1, application: 'Dial', appData: 'PJSIP/${EXTEN}@trunk,60' },
      ]);
      const report = await rig.run();
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(['sip-passwords', 'outbound-dialling']);
      expect(check(report, 'sip-passwords').detail).to.include('1001 (endpoint 1001), 1002 (endpoint 1002)');
    });

    it("an ARI without res_pjsip's dynamic configuration (the simulator: 501) fails sip-passwords and skips outbound-dialling", async () => {
      const report = await rig.run({ env: { ARI_URL: rig.sim.url } });
      expect(check(report, 'sip-passwords').ok).to.equal(false);
      expect(check(report, 'sip-passwords').detail).to.match(
        /^cannot read the PJSIP configuration over ARI: GET \/ari\/asterisk\/config\/dynamic\/res_pjsip\/endpoint\/\w+ answered 501$/,
      );
      expect(skippedNames(report)).to.deep.equal(['outbound-dialling']);
      expect(report.skipped[0]?.reason).to.include('could not be read over ARI');
    });
  });

  describe('ami and the dialplan', () => {
    it('ami: a wrong secret; the dialplan checks are skipped', async () => {
      const report = await rig.run({ env: { AMI_PASSWORD: 'wrong' } });
      expect(check(report, 'ami')).to.deep.include({ ok: false, detail: `AMI 127.0.0.1:${rig.ami.port}: Authentication failed` });
      expect(check(report, 'ami').fix).to.include('/etc/asterisk/manager.conf');
      expect(skippedNames(report)).to.deep.equal(['dialplan', 'dialplan-arguments', 'outbound-dialling']);
    });

    it('an AMI user without a password is a config error, like the plugin refusing to start with it', async () => {
      const report = await rig.run({ env: { AMI_PASSWORD: undefined } });
      expect(check(report, 'config')).to.include({ ok: false });
      expect(check(report, 'config').detail).to.include('AMI_PASSWORD');
      expect(check(report, 'config').fix).to.include('AMI_PASSWORD_FILE');
    });

    it('without AMI configured the dialplan is not checked, and that alone does not fail the install', async () => {
      const report = await rig.run({ env: { AMI_USER: undefined, AMI_PASSWORD: undefined } });
      expect(report.ok).to.equal(true);
      expect(skippedNames(report)).to.deep.equal(['ami', 'dialplan', 'dialplan-arguments', 'outbound-dialling']);
    });

    it('dialplan: a queue without its Stasis line, a personal number sent to another agent', async () => {
      rig.ami.setDialplan(
        sampleDialplan()
          .filter((l) => !('extension' in l) || l.extension !== '5552100')
          .map((l) =>
            'extension' in l && l.extension === '5551000' && l.application === 'Stasis'
              ? { ...l, appData: 'direct-callback,direct,1002' }
              : l,
          ),
      );
      const report = await rig.run();
      const dialplan = check(report, 'dialplan');
      expect(dialplan.ok).to.equal(false);
      expect(dialplan.detail).to.equal(
        "no extension sends queue sales to Stasis(direct-callback,queue,sales); personal number 5551000 of agent 1001 reaches Stasis(direct-callback,direct,1002) at 5551000@callback-entry, another agent's",
      );
      expect(dialplan.fix).to.include('exten => 5551000,1,Stasis(direct-callback,direct,1001)');
      expect(dialplan.fix).to.include('dialplan reload');
    });

    it('dialplan: the app name differs between the dialplan and the plugin', async () => {
      const report = await rig.run({ env: { ARI_APP: 'callback-b' } });
      expect(check(report, 'dialplan').detail).to.include(
        "queue support goes to Stasis(direct-callback,…) at 5552000@callback-entry, but this plugin's app is 'callback-b'",
      );
    });

    it('dialplan: the feature codes the config lists (featureCodes) each reach their Stasis entry', async () => {
      const config = parseConfig(exampleConfig(), { ARI_PASSWORD: 'x' });
      expect(featureCodesOf(config)).to.deep.equal([
        { code: '*51', kind: 'agent-login' },
        { code: '*52', kind: 'agent-logout' },
        { code: '*53', kind: 'agent-pause' },
        { code: '*54', kind: 'agent-unpause' },
      ]);
      expect(checkDialplanEntries(dialplanOf(sampleDialplan()), config, featureCodesOf(config)).ok).to.equal(true);
      rig.ami.setDialplan(sampleDialplan().filter((l) => !('extension' in l) || l.extension !== '*53'));
      const report = await rig.run();
      expect(check(report, 'dialplan')).to.deep.include({
        ok: false,
        detail: 'feature code *53 reaches no Stasis(direct-callback,agent-pause,…)',
      });
      expect(check(report, 'dialplan').fix).to.include('exten => *53,1,Stasis(direct-callback,agent-pause,${CHANNEL(endpoint)})');
      // A config without featureCodes asks for none.
      rig.writeConfig({ ...exampleConfig(), featureCodes: {} });
      expect(check(await rig.run(), 'dialplan').ok).to.equal(true);
    });

    it('dialplan-arguments: a feature code naming no agent, and an entry kind the plugin does not handle', async () => {
      rig.ami.setDialplan([
        ...sampleDialplan(),
        { context: 'from-agents', extension: '*59', priority: 1, application: 'Stasis', appData: 'direct-callback,agent-login,1009' },
        {
          context: 'from-agents',
          extension: '*58',
          priority: 1,
          application: 'Stasis',
          appData: 'direct-callback,agent-wrapup,${CHANNEL(endpoint)}',
        },
      ]);
      const args = check(await rig.run(), 'dialplan-arguments');
      expect(args.ok).to.equal(false);
      expect(args.detail).to.equal(
        "*59@from-agents: '1009' is neither an agent's endpoint nor an agent id in the config (pass ${CHANNEL(endpoint)}, the phone's own endpoint); " +
          "*58@from-agents: Stasis(direct-callback,agent-wrapup,${CHANNEL(endpoint)}): the plugin handles queue, direct, agent-login, agent-logout, agent-pause, agent-unpause only, and hangs up 'agent-wrapup' calls",
      );
    });

    it('dialplan-arguments: an unknown queue id and route in a Stasis line', async () => {
      rig.ami.setDialplan([
        ...sampleDialplan(),
        {
          context: 'callback-entry',
          extension: '5552999',
          priority: 1,
          application: 'Stasis',
          appData: 'direct-callback,queue,suport,route=vipp',
        },
      ]);
      const detail = check(await rig.run(), 'dialplan-arguments').detail;
      expect(detail).to.equal(
        "5552999@callback-entry: queue 'suport' is not in the config (queues[].id); 5552999@callback-entry: route 'vipp' is not in the config's routes (the queue's own rule applies)",
      );
    });
  });
});
