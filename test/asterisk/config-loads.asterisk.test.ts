import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { AsteriskServer, PROJECT_CONFIG_DIR } from '../../tools/asterisk-lab/asterisk-server';
import { describeOnAsterisk, startBareAsterisk } from './lab-suite';

/**
 * `asterisk-config/` loads on Asterisk 22.10.1 with no error for anything it relies on: the lab's
 * Asterisk is started from it (only ports, loopback, secrets and contacts rendered) and its log is
 * read. The sample loads every installed module (`autoload = yes`), so modules it does not use log
 * errors of their own (cdr_csv without cdr.conf…): those are not the sample's business. What it
 * relies on is: the modules modules.conf `require`s, the modules that read each of its .conf files
 * (CONF_MODULES; a new .conf file fails the test until it is listed), and every dialplan
 * application and function extensions.conf calls.
 */
const CONF_MODULES: Record<string, readonly string[]> = {
  'ari.conf': ['res_ari'],
  'http.conf': [], // Asterisk's core (main/http.c)
  'manager.conf': [], // Asterisk's core (main/manager.c)
  'modules.conf': [], // the loader
  'pjsip.conf': [
    'res_pjsip',
    'chan_pjsip',
    'res_pjsip_session',
    'res_pjsip_authenticator_digest',
    'res_pjsip_endpoint_identifier_ip',
    'res_pjsip_endpoint_identifier_user',
    'res_pjsip_outbound_registration',
  ],
  'rtp.conf': ['res_rtp_asterisk'],
  'extensions.conf': ['pbx_config'],
  'musiconhold.conf': ['res_musiconhold'],
  'queues.conf': ['app_queue'],
  'voicemail.conf': ['app_voicemail'],
  // res_ari requires it (its AST_MODULE_INFO `requires`); it reads websocket_client.conf.
  'websocket_client.conf': ['res_websocket_client'],
};

function projectFile(name: string): string {
  return fs.readFileSync(path.join(PROJECT_CONFIG_DIR, name), 'utf8');
}

/** Lines without comments (`;` to the end of the line). */
const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.replace(/;.*$/, '').trim())
    .filter(Boolean);

function requiredModules(): string[] {
  return lines(projectFile('modules.conf'))
    .map((l) => /^require\s*=>?\s*(\S+?)(\.so)?$/.exec(l)?.[1])
    .filter((m): m is string => m !== undefined);
}

/** Applications extensions.conf runs (`exten => x,1,App(…)`, `same => n,App(…)`). */
function dialplanApplications(): string[] {
  const apps = new Set<string>();
  for (const l of lines(projectFile('extensions.conf'))) {
    const m = /^(?:exten\s*=>\s*[^,]+,|same\s*=>\s*)[^,]+,\s*([A-Za-z][A-Za-z0-9_]*)\s*\(/.exec(l);
    if (m?.[1]) apps.add(m[1]);
  }
  return [...apps].sort();
}

/** Dialplan functions it calls (`${FUNC(…)}`, `Set(FUNC(…)=…)`). */
function dialplanFunctions(): string[] {
  const text = lines(projectFile('extensions.conf')).join('\n');
  const fns = new Set<string>();
  for (const m of text.matchAll(/(?:\$\{|Set\()([A-Z][A-Z0-9_]*)\(/g)) if (m[1]) fns.add(m[1]);
  return [...fns].sort();
}

describeOnAsterisk('real Asterisk: asterisk-config/ loads with no error for what it relies on', function () {
  this.timeout(60_000);
  let asterisk: AsteriskServer | undefined;
  let log = '';
  let failed = false;

  before(async () => {
    asterisk = await startBareAsterisk();
    log = asterisk.log();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (failed && asterisk) console.log(`    Asterisk's folder kept: ${asterisk.dir} (log/messages)`);
    await asterisk?.stop({ keep: failed });
  });

  const reliedOn = (): string[] => [...new Set([...requiredModules(), ...Object.values(CONF_MODULES).flat()])].sort();

  it('every .conf file of asterisk-config/ is listed with the modules that read it', () => {
    const confs = fs
      .readdirSync(PROJECT_CONFIG_DIR)
      .filter((f) => f.endsWith('.conf'))
      .sort();
    expect(
      confs.filter((f) => !(f in CONF_MODULES)),
      'add them to CONF_MODULES',
    ).to.deep.equal([]);
    expect(requiredModules()).to.include.members(['res_ari', 'res_stasis', 'chan_pjsip']);
  });

  it('its log has no ERROR, and no module it relies on was declined or failed to load', () => {
    expect(log, 'the log was read').to.match(/NOTICE|WARNING|ERROR/);
    const modules = reliedOn();
    const confs = Object.keys(CONF_MODULES);
    const concerns = (line: string): boolean => {
      const source = /\]\s+([a-z0-9_]+)\.c:/.exec(line)?.[1];
      return (
        (source !== undefined && modules.includes(source)) ||
        modules.some((m) => new RegExp(`\\b${m}\\b`).test(line)) ||
        confs.some((c) => line.includes(`'${c}'`) || line.includes(` ${c}`))
      );
    };
    const bad = log
      .split('\n')
      .filter((l) => (/\bERROR\[/.test(l) || /declined to load|Unable to load|failed to load/i.test(l)) && concerns(l));
    expect(bad).to.deep.equal([]);
  });

  it('every module it relies on is running', async () => {
    const shown = await (asterisk as AsteriskServer).cli('module show');
    const running = new Set(
      shown
        .split('\n')
        .filter((l) => /\bRunning\b/.test(l))
        .map((l) => l.trim().split(/\s+/)[0]?.replace(/\.so$/, '')),
    );
    expect(reliedOn().filter((m) => !running.has(m))).to.deep.equal([]);
  });

  it('phones dial US numbers only: agents-outbound refuses premium, pay-per-call, N11, non-US +1 and international numbers', async () => {
    // Each number dialled in from-agents, the phones' context, by a Local channel: the log says
    // which extension Asterisk picked (the sample logs a NOTICE before dialling the trunk and a
    // WARNING when it refuses). This is Asterisk's own choice between _1NXXNXXXXXX and the more
    // specific refusals, which `direct-callback doctor` (outbound-dialling) assumes.
    const cli = asterisk as AsteriskServer;
    const dials = ['12125550123', '2125550123'];
    const refused = ['19005550123', '18765550123', '8765550123', '18095550123', '14165550123', '12129761234', '12124111234'];
    const nowhere = ['011442079460000', '0116834002', '00442079460000'];
    for (const n of [...dials, ...refused, ...nowhere]) await cli.cli(`channel originate Local/${n}@from-agents application Wait 1`);
    const national = (n: string): string => (n.length === 10 ? `1${n}` : n);
    const expected = [...dials.map((n) => `dials ${national(n)}`), ...refused.map((n) => `refused ${national(n)} from`)];
    const deadline = Date.now() + 15_000;
    let now = cli.log();
    while (expected.some((e) => !now.includes(e)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      now = cli.log();
    }
    expect(expected.filter((e) => !now.includes(e))).to.deep.equal([]);
    const outbound = now.split('\n').filter((l) => l.includes('agents-outbound: '));
    expect(outbound.filter((l) => refused.some((n) => l.includes(`dials ${national(n)}`)))).to.deep.equal([]);
    expect(outbound.filter((l) => nowhere.some((n) => l.includes(n)))).to.deep.equal([]);
  });

  it('every application and function extensions.conf calls is registered', async () => {
    const apps = dialplanApplications();
    const fns = dialplanFunctions();
    expect(apps).to.include.members(['Stasis', 'Hangup']);
    expect(fns).to.include('CALLERID');
    const cli = asterisk as AsteriskServer;
    const registeredApps = new Set(
      (await cli.cli('core show applications'))
        .split('\n')
        .map((l) => /^\s*([A-Za-z0-9_]+):/.exec(l)?.[1])
        .filter(Boolean),
    );
    const registeredFns = new Set(
      (await cli.cli('core show functions'))
        .split('\n')
        .map((l) => /^\s*([A-Z0-9_]+)\s/.exec(l)?.[1])
        .filter(Boolean),
    );
    expect(
      apps.filter((a) => !registeredApps.has(a)),
      'applications',
    ).to.deep.equal([]);
    expect(
      fns.filter((f) => !registeredFns.has(f)),
      'functions',
    ).to.deep.equal([]);
  });
});
