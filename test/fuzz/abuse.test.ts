import { expect } from 'chai';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { runAbuse, Plan } from '../../tools/abuse/harness';
import { abuseConfig } from '../../tools/abuse/rig';
import { typedNumberAttack } from '../../tools/abuse/attacks-calls';
import { sameCallerBurst } from '../../tools/abuse/attacks-load';
import { classifyDialled } from '../../tools/abuse/numbers';
import { testPostgresServer } from '../helpers/database';

/**
 * The toll-fraud and abuse run of issue 19 (`npm run abuse -- --json`) as part of CI: every
 * attack against the real plugin on the simulator and the real PostgreSQL; nothing forbidden
 * dialled, no limit exceeded, no crash. A canary run with the number policy and the rate limit
 * opened up proves the counts can see what they count.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/abuse/cli.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fuzz: the abuse run (npm run abuse)', function () {
  this.timeout(300_000);

  it('the classifier knows NANP: premium, Caribbean, 011 and invalid numbers are not domestic', () => {
    expect(
      [
        '12125550199',
        '4155550123',
        '19005550123',
        '18765550123',
        '0116834002',
        '10116834002',
        '6834002',
        '12115550123',
        '447911123456',
      ].map(classifyDialled),
    ).to.deep.equal(['domestic', 'domestic', 'premium', 'caribbean', 'international', 'invalid', 'invalid', 'invalid', 'international']);
  });

  it('every attack: nothing forbidden dialled, no limit exceeded, no crash, at least 30 attacks', async () => {
    const r = await runCli(['--json']);
    const lines = r.stdout.trim().split('\n');
    expect(lines, `exactly one line on stdout; stderr: ${r.stderr.slice(-2000)}`).to.have.length(1);
    const figures = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    const why = JSON.stringify(figures);
    expect(figures.attacks, why).to.be.a('number').and.at.least(30);
    expect(figures.refused, why).to.be.a('number');
    expect([figures.dialled_premium_or_international, figures.over_limit, figures.crashes], why).to.deep.equal([0, 0, 0]);
    expect(r.code, why).to.equal(0);
  });

  it('canary: with the policy and the rate limit opened, the run counts the dial and the excess', async () => {
    const server = await testPostgresServer();
    const open: Plan = {
      name: 'canary',
      config: () =>
        abuseConfig({
          queue: { numberPolicy: { denyPremium: false, denyInternational: false }, rateLimit: { limit: 100, windowSec: 3600 } },
        }),
      attacks: [typedNumberAttack('canary: premium typed', 'canary', '19005550123'), sameCallerBurst(6)],
    };
    const report = await runAbuse({ server, plans: [open], seed: 7 });
    const why = JSON.stringify({ ...report, results: report.results.map((x) => `${x.name}: ${x.outcome}`) });
    expect(report.attacks, why).to.equal(2);
    expect(report.unmet, why).to.equal(2);
    expect(report.over_limit, why).to.equal(3);
    expect(report.stored_forbidden, why).to.be.at.least(1);
    expect(
      report.badLegs.map((l) => l.endpoint),
      why,
    ).to.include('PJSIP/19005550123@trunk');
    expect(report.crashes, why).to.equal(0);
  });
});
