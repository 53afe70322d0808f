import { expect } from 'chai';
import { parseShowDialPlan } from '../../../src/doctor/ami-dialplan';
import { dialTarget, extensionMatches, HANDLED_ENTRY_KINDS, stasisLines } from '../../../src/doctor/dialplan-rules';
import { describeDatabaseUrl, schemaDifference } from '../../../src/doctor/database-probe';
import { reportJson, reportOf, reportText, passed, failed } from '../../../src/doctor/report';
import { parseStasisArgs } from '../../../src/domain/admission';
import { FEATURE_CODE_KINDS } from '../../../src/domain/feature-codes';

describe('doctor: reading the dialplan and the config', () => {
  it('parses ShowDialPlan events as main/pbx.c sends them, whatever the header case, and ignores the rest', () => {
    const dp = parseShowDialPlan([
      {
        event: 'ListDialplan',
        actionid: 'x',
        context: 'callback-entry',
        extension: '5552000',
        priority: '2',
        application: 'Stasis',
        appdata: 'direct-callback,queue,support',
        registrar: 'pbx_config',
      },
      {
        Event: 'ListDialplan',
        Context: 'callback-fallback',
        Extension: 'queue',
        ExtensionLabel: 'sorry',
        Priority: '6',
        Application: 'Playback',
        AppData: 'callback/agent-unavailable',
        Registrar: 'pbx_config',
      },
      { Event: 'ListDialplan', Context: 'from-trunk', IncludeContext: 'callback-entry', Registrar: 'pbx_config' },
      { Event: 'ListDialplan', Context: 'from-trunk', IncludeContext: 'unassigned-number', Registrar: 'pbx_config' },
      { Event: 'ListDialplan', Context: 'default', IgnorePattern: '9', Registrar: 'pbx_config' },
      { Event: 'ListDialplan', Context: 'default', Switch: 'Realtime/@', Registrar: 'pbx_config' },
      { Event: 'ListDialplan', Context: 'hints', Extension: '1001', Priority: 'hint', Application: 'PJSIP/1001', Registrar: 'pbx_config' },
      {
        Event: 'ListDialplan',
        Context: 'blank',
        Extension: 's',
        Priority: '1',
        Application: 'Answer',
        AppData: '',
        Registrar: 'pbx_config',
      },
    ]);
    expect(dp.priorities.map((p) => `${p.extension}@${p.context}:${p.priority}:${p.application}(${p.appData})`)).to.deep.equal([
      '5552000@callback-entry:2:Stasis(direct-callback,queue,support)',
      'queue@callback-fallback:6:Playback(callback/agent-unavailable)',
      '1001@hints:hint:PJSIP/1001()',
      's@blank:1:Answer()',
    ]);
    expect([...dp.includes]).to.deep.equal([['from-trunk', ['callback-entry', 'unassigned-number']]]);
  });

  it('splits Stasis lines into the app and its arguments (case, spaces and quotes tolerated)', () => {
    const dp = parseShowDialPlan([
      { context: 'c', extension: '1', priority: '1', application: 'stasis', appdata: 'direct-callback, queue, "support",route=vip' },
      { context: 'c', extension: '2', priority: '1', application: 'Dial', appdata: 'PJSIP/1001' },
    ]);
    expect(stasisLines(dp).map((l) => [l.app, l.args])).to.deep.equal([['direct-callback', ['queue', 'support', 'route=vip']]]);
  });

  it('leaves out the context res_stasis adds for a connected app (as a real Asterisk lists it)', () => {
    const dp = parseShowDialPlan([
      {
        event: 'ListDialplan',
        context: 'stasis-direct-callback',
        extension: 'h',
        priority: '1',
        application: 'NoOp',
        appdata: '(null)',
        registrar: 'res_stasis',
      },
      {
        event: 'ListDialplan',
        context: 'stasis-direct-callback',
        extension: '_.',
        priority: '1',
        application: 'Stasis',
        appdata: 'direct-callback',
        registrar: 'res_stasis',
      },
      {
        event: 'ListDialplan',
        context: 'callback-entry',
        extension: '5552000',
        priority: '2',
        application: 'Stasis',
        appdata: 'direct-callback,queue,support',
        registrar: 'pbx_config',
      },
    ]);
    expect(dp.priorities.map((p) => p.registrar)).to.deep.equal(['res_stasis', 'res_stasis', 'pbx_config']);
    expect(stasisLines(dp).map((l) => l.where.context)).to.deep.equal(['callback-entry']);
  });

  it('matches extension names as Asterisk does: literals with - decoration, and _ patterns', () => {
    expect(extensionMatches('5551000', '5551000')).to.equal(true);
    expect(extensionMatches('555-1000', '5551000')).to.equal(true);
    expect(extensionMatches('5551000', '5551001')).to.equal(false);
    expect(extensionMatches('_555100X', '5551007')).to.equal(true);
    expect(extensionMatches('_NXX', '211')).to.equal(true);
    expect(extensionMatches('_NXX', '111')).to.equal(false);
    expect(extensionMatches('_Z.', '10')).to.equal(true);
    expect(extensionMatches('_Z.', '1')).to.equal(false);
    expect(extensionMatches('_[+0-9].', '+15551000')).to.equal(true);
    expect(extensionMatches('_[13-5]X', '47')).to.equal(true);
    expect(extensionMatches('_[13-5]X', '27')).to.equal(false);
    expect(extensionMatches('_5!', '5')).to.equal(true);
    expect(extensionMatches('*51', '*51')).to.equal(true);
  });

  it('knows the Stasis entries the engine handles (a guard: what the plugin parses from the Stasis arguments)', () => {
    // src/engine/call-router.ts takes the entries parseStasisArgs reads, and gives every other
    // call back to the dialplan (BAD_ARGUMENTS).
    for (const kind of HANDLED_ENTRY_KINDS) expect(parseStasisArgs([kind, 'x']).kind, kind).to.not.equal('malformed');
    for (const kind of ['agent-wrapup', 'callback', 'Queue', '']) expect(parseStasisArgs([kind, 'x']).kind, kind).to.equal('malformed');
    const handled = ['queue', 'direct', ...FEATURE_CODE_KINDS];
    expect([...HANDLED_ENTRY_KINDS], 'update HANDLED_ENTRY_KINDS in src/doctor/dialplan-rules.ts').to.deep.equal(handled);
    expect(HANDLED_ENTRY_KINDS).to.include.members(['agent-login', 'agent-logout', 'agent-pause', 'agent-unpause']);
  });

  it('finds where the dial template sends customers', () => {
    expect(dialTarget('PJSIP/{number}@trunk')).to.deep.equal({ kind: 'endpoint', technology: 'PJSIP', resource: 'trunk' });
    expect(dialTarget('SIP/provider/{number}')).to.deep.equal({ kind: 'endpoint', technology: 'SIP', resource: 'provider' });
    expect(dialTarget('Local/{number}@callback-outbound/n')).to.deep.equal({ kind: 'local', context: 'callback-outbound' });
    expect(dialTarget('PJSIP/{number}')).to.deep.equal({ kind: 'unknown' });
  });

  it('tells pending schema files from unknown ones, and never shows a database password', () => {
    expect(schemaDifference(['001_a.sql'], ['001_a.sql', '002_b.sql'])).to.deep.equal({ pending: ['002_b.sql'], unknown: [] });
    expect(schemaDifference(['001_a.sql', '009_z.sql'], ['001_a.sql'])).to.deep.equal({ pending: [], unknown: ['009_z.sql'] });
    expect(describeDatabaseUrl('postgres://dc:s3cret@db.example:5433/callbacks')).to.equal('dc@db.example:5433/callbacks');
    expect(describeDatabaseUrl('postgres://direct-callback@%2Fvar%2Frun%2Fpostgresql/direct_callback')).to.equal(
      'direct-callback@/var/run/postgresql/direct_callback',
    );
  });

  it('prints ✓/✗ with the fix, and --json as one line with name, ok and fix', () => {
    const report = reportOf(
      [passed('config', 'ok file'), failed('ari', 'refused (401)', 'set the password')],
      [{ name: 'prompts', reason: 'ARI is not reachable' }],
    );
    expect(reportText(report)).to.equal(
      '✓ config: ok file\n✗ ari: refused (401)\n    fix: set the password\n- prompts: not checked (ARI is not reachable)\n\n1 of 2 checks failed',
    );
    const json = reportJson(report);
    expect(json).to.not.include('\n');
    expect(JSON.parse(json)).to.deep.equal({
      ok: false,
      checks: [
        { name: 'config', ok: true, fix: null, detail: 'ok file' },
        { name: 'ari', ok: false, fix: 'set the password', detail: 'refused (401)' },
      ],
      skipped: [{ name: 'prompts', reason: 'ARI is not reachable' }],
    });
  });
});
