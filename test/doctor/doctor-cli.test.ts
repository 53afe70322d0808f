import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { ALL_CHECKS, DoctorRig, ROOT, SIP_SECRETS, startDoctorRig } from './doctor-rig';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `direct-callback doctor` as an administrator runs it (through tsx; the packed bin: test/package/). */
function doctor(args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ARI_|AMI_|DATABASE_URL|DIRECT_CALLBACK_)/.test(k)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'bin.ts'), 'doctor', ...args],
      { env: { ...base, ...env }, timeout: 30000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('doctor: the command', function () {
  this.timeout(40000);
  let database: TestDatabase;
  let rig: DoctorRig;
  before(async () => {
    database = await freshDatabase();
    rig = await startDoctorRig(database);
  });
  after(async () => {
    await rig.stop();
    await database.close();
  });

  it('--json on a working install: one line {"ok":true,"checks":[…]}, exit 0; settings from --environment-file', async () => {
    const environmentFile = path.join(rig.dir, 'environment');
    fs.writeFileSync(
      environmentFile,
      Object.entries({ ...rig.env, DIRECT_CALLBACK_CONFIG: rig.configPath })
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const r = await doctor(['--json', '--environment-file', environmentFile], {});
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(1);
    const report = JSON.parse(lines[0] ?? '') as { ok: boolean; checks: { name: string; ok: boolean; fix: string | null }[] };
    expect(report.ok).to.equal(true);
    expect(report.checks.every((c) => c.ok && c.fix === null)).to.equal(true);
    // The doctor read the phones' passwords to compare them with the placeholder, and shows none.
    for (const secret of Object.values(SIP_SECRETS)) expect(r.stdout + r.stderr).to.not.include(secret);
    expect(report.checks.map((c) => c.name)).to.include.members(ALL_CHECKS);
  });

  it('a broken install: ✗ lines with their fix, exit 1, and no secret in the output', async () => {
    rig.sim.setSoundMissing('callback/guard');
    try {
      const r = await doctor(['--config', rig.configPath], { ...rig.env, ARI_PASSWORD: 'not-the-password' });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/^✓ config: /m);
      expect(r.stdout).to.match(/^✗ ari: ARI at .* refused user 'direct-callback' \(401 Authentication required\)$/m);
      expect(r.stdout).to.match(/^ {4}fix: ARI_PASSWORD_FILE \(or ARI_PASSWORD\) must hold the password/m);
      expect(r.stdout).to.match(/^- prompts: not checked \(ARI is not reachable with these settings\)$/m);
      expect(r.stdout).to.match(/1 of \d+ checks failed\n$/);
      expect(r.stdout + r.stderr).to.not.include('not-the-password');
      expect(r.stdout + r.stderr).to.not.include(rig.env.AMI_PASSWORD);
    } finally {
      rig.sim.setSoundMissing('callback/guard', false);
    }
  });

  it('an unknown option is refused; a missing --environment-file is a usage error', async () => {
    const unknown = await doctor(['--asterisk'], {});
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("unknown option '--asterisk'");
    const missing = await doctor(['--environment-file', '/nonexistent/environment'], {});
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('--environment-file: cannot read /nonexistent/environment: ENOENT');
  });
});
