import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { ConfFile } from '../../tools/asterisk-lab/conf-file';
import { Lab } from '../../tools/asterisk-lab/lab';
import { runDoctor } from '../../src/doctor/doctor';
import { DoctorReport } from '../../src/doctor/report';
import { sqlMigrationNames } from '../../src/store/database';
import { createScratchDatabase } from '../../tools/support/postgres-server';
import { testPostgresServer } from '../helpers/database';
import { ALL_CHECKS, check, exampleConfig, ROOT, skippedNames } from '../doctor/doctor-rig';
import { asteriskStoryConfig, describeOnAsterisk, runtime } from './lab-suite';

/**
 * `direct-callback doctor` against the lab's real Asterisk 22.10.1 (configured from
 * asterisk-config/, AMI on, the plugin NOT running so its Stasis app is free), with the
 * installation the docs describe: docker/direct-callback.example.json. First the working install,
 * all ✓, through `npm run doctor -- --json` as an administrator runs it; then one broken setup
 * per check, each undone before the next. One lab for the whole file: the breakages are config
 * variations, a sounds folder changed on the host, a dialplan edit with `dialplan reload`, a
 * second WebSocket and an unmigrated database, none of which needs Asterisk restarted.
 */

/** What the doctor's own tests pass to it: the service's environment in this lab (secrets included). */
function doctorEnv(lab: Lab, over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...lab.pluginEnv(), ...over };
}

function failing(report: DoctorReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.name);
}

/** `npm run -s doctor -- …` (npm's -s keeps its "> script" banner off stdout). */
function npmDoctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ARI_|AMI_|DATABASE_URL|DIRECT_CALLBACK_)/.test(k)));
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'doctor', '--', ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describeOnAsterisk('real Asterisk: direct-callback doctor, a working install and one broken setup per check', function () {
  this.timeout(60_000);
  let lab: Lab;
  let failed = false;
  let configs = 0;

  /** Writes a config into the lab's folder and runs the doctor on it, in this process. */
  const doctor = (
    opts: { config?: Record<string, unknown>; env?: Record<string, string>; running?: boolean } = {},
  ): Promise<DoctorReport> => {
    configs += 1;
    const configPath = path.join(lab.dir, `doctor-${configs}.json`);
    fs.writeFileSync(configPath, JSON.stringify(opts.config ?? exampleConfig()));
    return runDoctor({ configPath, env: doctorEnv(lab, opts.env), expectRunning: opts.running === true });
  };

  before(async function () {
    this.timeout(90_000);
    lab = await Lab.start({
      runtime: runtime(),
      postgres: await testPostgresServer(),
      agents: [{ id: '1001' }, { id: '1002' }],
      // The lab's own plugin config; the doctor is given the example config instead (doctor()).
      pluginConfig: asteriskStoryConfig({ agents: [] }),
      ami: true,
      startPlugin: false,
    });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    if (failed) console.error(`lab kept in ${lab.asterisk.dir} (Asterisk log: log/messages; doctor configs: lab/doctor-*.json)`);
    await lab?.stop({ keep: failed });
  });

  it('a working install: every check ✓ through `npm run doctor -- --json`, one JSON line, exit 0', async () => {
    const configPath = path.join(lab.dir, 'installed.json');
    fs.writeFileSync(configPath, JSON.stringify(exampleConfig()));
    const r = await npmDoctor(['--json', '--config', configPath], doctorEnv(lab));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, r.stdout).to.have.length(1);
    const report = JSON.parse(lines[0] ?? '') as {
      ok: boolean;
      checks: { name: string; ok: boolean; fix: string | null; detail: string }[];
      skipped: unknown[];
    };
    expect(
      report.checks.filter((c) => !c.ok),
      lines[0],
    ).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.checks.map((c) => c.name)).to.deep.equal(ALL_CHECKS);
    expect(report.checks.every((c) => c.fix === null)).to.equal(true);
    expect(report.skipped).to.deep.equal([]);
    const detail = (name: string) => report.checks.find((c) => c.name === name)?.detail;
    // What this Asterisk said about itself, and what the sample dialplan holds (read over AMI).
    expect(detail('ari')).to.equal(`Asterisk 22.10.1 at ${lab.asterisk.ariUrl}, user 'direct-callback'`);
    expect(detail('prompts')).to.match(/^\d+ prompts and 10 core digits present in en, es$/);
    expect(detail('dialplan')).to.equal('2 queue(s), 2 personal number(s), 4 feature code(s) reach Stasis(direct-callback,…)');
    expect(detail('trunk')).to.equal("callback.dialTemplate 'PJSIP/{number}@trunk' dials through PJSIP/trunk, which exists");
    // Read from what Asterisk loaded (ARI's dynamic configuration of res_pjsip): the lab's random passwords, the sample's contexts.
    expect(detail('sip-passwords')).to.equal('no CHANGE_ME password in the 2 PJSIP auth(s) of 3 endpoint(s) (1001, 1002)');
    expect(detail('outbound-dialling')).to.equal(
      '10 premium, international and Caribbean numbers dialled from 2 context(s) (from-agents, from-trunk) reach no trunk',
    );
    expect(lines[0]).to.not.include(lab.asterisk.agentPassword('1001'));
  });

  it("toll fraud: a phone on the sample's CHANGE_ME password and an _X. outbound context are both flagged, and pass again once fixed", async () => {
    const pjsip = fs.readFileSync(path.join(lab.asterisk.dir, 'etc', 'pjsip.conf'), 'utf8');
    const extensions = fs.readFileSync(path.join(lab.asterisk.dir, 'etc', 'extensions.conf'), 'utf8');
    const outbound = /\n\[agents-outbound\]\n[\s\S]*?\n(?=\n; A refused outside call)/;
    expect(extensions).to.match(outbound);
    lab.asterisk.editConf('pjsip.conf', (t) => new ConfFile(t).set('1001', 'password', 'CHANGE_ME_1001', { type: 'auth' }).toString());
    lab.asterisk.editConf('extensions.conf', (t) =>
      t.replace(
        outbound,
        '\n[agents-outbound]\nexten => _X.,1,NoOp(Outbound call to ${EXTEN})\n same => n,Dial(PJSIP/${EXTEN}@trunk,60)\n',
      ),
    );
    try {
      expect(await lab.asterisk.cli('module reload res_pjsip.so')).to.include('reloaded');
      expect(await lab.asterisk.cli('dialplan reload')).to.include('Dialplan reloaded');
      const report = await doctor();
      expect(failing(report)).to.deep.equal(['sip-passwords', 'outbound-dialling']);
      expect(check(report, 'sip-passwords').detail).to.equal(
        "PJSIP auth 1001 (endpoint 1001) still has the sample's CHANGE_ME password: anyone who has read the sample can register as that phone and call out through your trunk",
      );
      expect(check(report, 'outbound-dialling').detail).to.equal(
        'calls from PJSIP/1001, PJSIP/1002 (context from-agents) reach Dial(PJSIP/${EXTEN}@trunk,60) at _X.@agents-outbound for ' +
          '011442079460000 (international), 0116834002 (international), 00442079460000 (international), 19005550123 (premium), ' +
          '9005550123 (premium), 18765550123 (Caribbean), 8765550123 (Caribbean), 18095550123 (Caribbean), 12845550123 (Caribbean)',
      );
      expect(JSON.stringify(report)).to.not.include(lab.asterisk.agentPassword('1002'));
    } finally {
      lab.asterisk.editConf('pjsip.conf', () => pjsip);
      lab.asterisk.editConf('extensions.conf', () => extensions);
      await lab.asterisk.cli('module reload res_pjsip.so');
      await lab.asterisk.cli('dialplan reload');
    }
    expect(failing(await doctor())).to.deep.equal([]);
  });

  it('config: an invalid file names the field; nothing else is checked', async () => {
    const config = exampleConfig();
    (config.queues as Record<string, unknown>[])[1] = { id: 'sales', overflow: { maxWaiting: 0 } };
    const report = await doctor({ config });
    expect(failing(report)).to.deep.equal(['config']);
    expect(check(report, 'config').detail).to.include('queues[1].overflow.maxWaiting');
    expect(skippedNames(report)).to.deep.equal(ALL_CHECKS.slice(1));
  });

  it('schema: a database nobody migrated lists every schema file, and the fix is `direct-callback migrate`', async () => {
    const empty = await createScratchDatabase(await testPostgresServer(), 'adc_doctor');
    try {
      const report = await doctor({ env: { DATABASE_URL: empty.url } });
      expect(failing(report)).to.deep.equal(['schema']);
      const shipped = sqlMigrationNames();
      expect(check(report, 'schema').detail).to.equal(
        `${shipped.length} of ${shipped.length} schema files not applied: ${shipped.join(', ')}`,
      );
      expect(check(report, 'schema').fix).to.include('direct-callback migrate');
    } finally {
      await empty.drop();
    }
  });

  it('ari: a wrong password is a 401 with the ari.conf fix; the ARI checks are skipped', async () => {
    const report = await doctor({ env: { ARI_PASSWORD: 'not-the-password' } });
    expect(failing(report)).to.deep.equal(['ari']);
    expect(check(report, 'ari').detail).to.equal(
      `ARI at ${lab.asterisk.ariUrl} refused user 'direct-callback' (401 Authentication required)`,
    );
    expect(check(report, 'ari').fix).to.include('[direct-callback] section of /etc/asterisk/ari.conf');
    expect(skippedNames(report)).to.deep.equal(['prompts', 'agent-endpoints', 'sip-passwords', 'trunk', 'stasis-app', 'outbound-dialling']);
    // The dialplan is read over AMI, which has its own login: still checked.
    expect(check(report, 'dialplan').ok).to.equal(true);
  });

  it('ari: a wrong URL is told apart from a wrong password: /ari at the end, and a path outside /ari even with a wrong password', async () => {
    // Asterisk answers 401 before 404 inside /ari (probes.md): the right password shows the URL problem.
    const report = await doctor({ env: { ARI_URL: `${lab.asterisk.ariUrl}/ari` } });
    expect(failing(report)).to.deep.equal(['ari']);
    expect(check(report, 'ari').detail).to.equal(`no ARI at ${lab.asterisk.ariUrl}/ari (GET /ari/asterisk/info answered 404)`);
    expect(check(report, 'ari').fix).to.equal(
      `ARI_URL ends with /ari: give the server root instead, e.g. ${lab.asterisk.ariUrl} (the plugin adds /ari)`,
    );
    // Outside /ari, Asterisk's HTTP server answers its HTML 404 before any credential check (probes.md).
    const elsewhere = await doctor({ env: { ARI_URL: `${lab.asterisk.ariUrl}/asterisk`, ARI_PASSWORD: 'not-the-password' } });
    expect(failing(elsewhere)).to.deep.equal(['ari']);
    expect(check(elsewhere, 'ari').detail).to.equal(`no ARI at ${lab.asterisk.ariUrl}/asterisk (GET /ari/asterisk/info answered 404)`);
    expect(check(elsewhere, 'ari').fix).to.match(/^ARI_URL must be the root of Asterisk's HTTP server/);
  });

  it('prompts: one prompt missing in one language on the Asterisk host is named with its language', async () => {
    // The lab links sounds/es/callback to the shipped folder; here it becomes a folder of links
    // to every prompt but one, as an install that copied all but one file would leave it.
    const link = path.join(lab.asterisk.dir, 'data', 'sounds', 'es', 'callback');
    const shipped = fs.readlinkSync(link);
    fs.unlinkSync(link);
    fs.mkdirSync(link);
    try {
      for (const f of fs.readdirSync(shipped)) if (f !== 'agent-paused.wav') fs.symlinkSync(path.join(shipped, f), path.join(link, f));
      const report = await doctor();
      expect(failing(report)).to.deep.equal(['prompts']);
      expect(check(report, 'prompts').detail).to.equal('1 sound(s) missing on the Asterisk host: callback/agent-paused (es)');
      expect(check(report, 'prompts').fix).to.include('/var/lib/asterisk/sounds/es/callback');
      expect(check(report, 'prompts').fix).to.include('core show sound callback/agent-paused');
    } finally {
      fs.rmSync(link, { recursive: true, force: true });
      fs.symlinkSync(shipped, link);
    }
  });

  it('agent-endpoints: an endpoint typed wrong is named, with the endpoints that exist', async () => {
    const config = exampleConfig();
    const agents = config.agents as Record<string, unknown>[];
    agents[1] = { ...agents[1], endpoint: 'PJSIP/1O02' };
    const report = await doctor({ config });
    expect(failing(report)).to.deep.equal(['agent-endpoints']);
    expect(check(report, 'agent-endpoints').detail).to.equal(
      'agents[1] Agent 1002: PJSIP/1O02 does not exist (PJSIP endpoints: 1001, 1002, trunk)',
    );
  });

  it('trunk: the dial template names an endpoint that does not exist', async () => {
    const config = exampleConfig();
    config.callback = { ...(config.callback as Record<string, unknown>), dialTemplate: 'PJSIP/{number}@provider' };
    const report = await doctor({ config });
    expect(failing(report)).to.deep.equal(['trunk']);
    expect(check(report, 'trunk').detail).to.equal(
      "callback.dialTemplate 'PJSIP/{number}@provider' dials through PJSIP/provider, which does not exist (PJSIP endpoints: 1001, 1002, trunk)",
    );
  });

  it('dialplan: a queue whose Stasis line was removed from extensions.conf (dialplan reload), read over AMI', async () => {
    const file = path.join(lab.asterisk.dir, 'etc', 'extensions.conf');
    const original = fs.readFileSync(file, 'utf8');
    lab.asterisk.editConf('extensions.conf', (t) => t.replace(' same => n,Stasis(direct-callback,queue,sales)\n', ''));
    try {
      expect(await lab.asterisk.cli('dialplan reload')).to.include('Dialplan reloaded');
      const report = await doctor();
      expect(failing(report)).to.deep.equal(['dialplan']);
      expect(check(report, 'dialplan').detail).to.equal('no extension sends queue sales to Stasis(direct-callback,queue,sales)');
      expect(check(report, 'dialplan').fix).to.include('exten => <queue number>,1,Stasis(direct-callback,queue,sales)');
    } finally {
      lab.asterisk.editConf('extensions.conf', () => original);
      await lab.asterisk.cli('dialplan reload');
    }
  });

  it('ami: a wrong secret; the dialplan checks are skipped', async () => {
    const report = await doctor({ env: { AMI_PASSWORD: 'not-the-secret' } });
    expect(failing(report)).to.deep.equal(['ami']);
    expect(check(report, 'ami').fix).to.include('[direct-callback] in /etc/asterisk/manager.conf');
    expect(skippedNames(report)).to.deep.equal(['dialplan', 'dialplan-arguments', 'outbound-dialling']);
  });

  it('stasis-app: another connection holds the app; with --running the same is expected', async () => {
    const ws = new WebSocket(
      `${lab.asterisk.ariUrl.replace(/^http/, 'ws')}/ari/events?app=direct-callback&api_key=${encodeURIComponent(`direct-callback:${lab.ariPassword}`)}`,
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      const report = await doctor();
      expect(failing(report)).to.deep.equal(['stasis-app']);
      expect(check(report, 'stasis-app').detail).to.equal(
        "Stasis app 'direct-callback' is already registered: another connection holds it (a second one would silently take its calls over)",
      );
      // res_stasis adds a context stasis-direct-callback for a connected app (probes.md): not the administrator's dialplan.
      expect(check(report, 'dialplan-arguments').ok).to.equal(true);
      const running = await doctor({ running: true });
      expect(failing(running)).to.deep.equal([]);
      expect(check(running, 'stasis-app').detail).to.equal("Stasis app 'direct-callback' is registered (by the running plugin)");
    } finally {
      ws.close();
    }
    // And once that connection is gone, the app is free again (nothing of it is left behind).
    const deadline = Date.now() + 5000;
    let after = await doctor();
    while (!check(after, 'stasis-app').ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = await doctor();
    }
    expect(failing(after)).to.deep.equal([]);
  });
});
