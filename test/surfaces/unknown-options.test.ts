import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';

/**
 * Every npm script rejects an option it does not know, with a clear message and exit 2, before it
 * does anything (`npm run faults -- --asterisk` once ran the simulator and reported success).
 * The entries are what package.json's scripts run; `direct-callback` (which the `cli` and `doctor`
 * scripts run) is covered in cli.test.ts and test/doctor/doctor-cli.test.ts.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPTS: Record<string, string> = {
  demo: 'tools/demo/cli.ts',
  sim: 'tools/simulator/cli.ts',
  faults: 'tools/faults/cli.ts',
  bench: 'tools/bench/cli.ts',
  'record-traces': 'tools/asterisk-lab/record-traces.ts',
  abuse: 'tools/abuse/cli.ts',
  fuzz: 'tools/fuzz/cli.ts',
  start: 'src/main.ts',
};

function run(entry: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, entry), ...args],
      { cwd: ROOT, timeout: 60000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('surfaces: npm scripts reject unknown options', function () {
  this.timeout(70000);
  for (const [script, entry] of Object.entries(SCRIPTS)) {
    // `bench` and `faults` know --asterisk (the real-Asterisk runs): an option no script knows instead.
    it(`npm run ${script} -- --no-such-option: exit 2, the option named, the usage shown`, async () => {
      const r = await run(entry, ['--no-such-option']);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.include("unknown option '--no-such-option'");
      expect(r.stderr).to.include('Usage: ');
      expect(r.stdout).to.equal('');
    });
  }

  it('npm run faults -- --help lists the options and exits 0', async () => {
    const r = await run(SCRIPTS.faults, ['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('--points <a,b>');
    expect(r.stdout).to.include('--asterisk');
    expect(r.stdout).to.include('--labs <n>');
  });
});
