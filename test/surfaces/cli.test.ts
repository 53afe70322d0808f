import path from 'node:path';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { hashToken } from '../../src/http/auth';
import { CallbackStore } from '../../src/store/callback-store';
import { createDatabase } from '../../src/store/database';
import { createScratchDatabase, ScratchDatabase } from '../../tools/support/postgres-server';
import { testPostgresServer } from '../helpers/database';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/** The `direct-callback` command's entry, spawned through tsx (the packed, compiled bin: test/package/). */
const ENTRY = path.resolve(__dirname, '..', '..', 'src', 'cli', 'bin.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: undefined, DIRECT_CALLBACK_TOKEN: undefined, ...env };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    execFile(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env: childEnv, timeout: 20000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('surfaces: direct-callback CLI', function () {
  // Each test spawns the CLI several times, each a node + tsx start: seconds apiece on a busy machine.
  this.timeout(60000);
  let scratch: ScratchDatabase;

  before(async () => {
    // An empty database (not migrated): `migrate` has work to do.
    scratch = await createScratchDatabase(await testPostgresServer(), 'adc_test');
  });
  after(async () => {
    await scratch?.drop();
  });

  it('token hash prints the SHA-256 of the token', async () => {
    const token = 'a-long-enough-test-token-0001';
    const r = await cli(['token', 'hash', token]);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(hashToken(token));
    expect(r.stdout.trim()).to.match(/^[0-9a-f]{64}$/);
    const short = await cli(['token', 'hash', 'short']);
    expect(short.code).to.equal(2);
    expect(short.stderr).to.match(/at least 16 characters/);
  });

  it('bad usage: a clear message and a non-zero exit', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("unknown command 'frobnicate'");
    const unknownOption = await cli(['--asterisk']);
    expect(unknownOption.code).to.equal(2);
    expect(unknownOption.stderr).to.include("direct-callback: unknown option '--asterisk'");
    const missing = await cli(['callbacks', 'cancel']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("missing required argument 'id'");
    const badStatus = await cli(['callbacks', 'list', '--status', 'lost'], { DATABASE_URL: scratch.url });
    expect(badStatus.code).to.equal(2);
    expect(badStatus.stderr).to.include('Allowed choices are pending');
    const noDb = await cli(['callbacks', 'list']);
    expect(noDb.code).to.equal(2);
    expect(noDb.stderr).to.include('DATABASE_URL is not set');
    const help = await cli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('migrate');
  });

  it('migrate applies the schema once; callbacks list, cancel and status work on the database', async () => {
    const env = { DATABASE_URL: scratch.url };
    const first = await cli(['migrate'], env);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^applied: 001_/);
    expect((await cli(['migrate'], env)).stdout.trim()).to.equal('schema up to date');

    const db = createDatabase(scratch.url, { poolMax: 2 });
    try {
      const store = new CallbackStore(db);
      const ids = [randomUUID(), randomUUID()];
      for (const [i, id] of ids.entries()) {
        await store.requestCallback({
          id,
          queueId: i === 0 ? 'support' : 'sales',
          customerNumber: `+1555888000${i}`,
          customerName: `Customer ${i}`,
          language: 'en',
          priority: 0,
          arrivedAt: new Date(),
          maxAttempts: 3,
        });
      }
      const list = await cli(['callbacks', 'list', '--status', 'pending', '--queue', 'support', '--json'], env);
      expect(list.code, list.stderr).to.equal(0);
      const parsed = JSON.parse(list.stdout) as { callbacks: { id: string; customerNumber: string }[] };
      expect(parsed.callbacks.map((c) => c.id)).to.deep.equal([ids[0]]);
      const table = await cli(['callbacks', 'list'], env);
      expect(table.stdout)
        .to.include('+15558880001')
        .and.to.include('+15558880000')
        .and.to.match(/^id\s+queue\s+status/);

      const cancel = await cli(['callbacks', 'cancel', ids[0] ?? '', '--reason', 'duplicate ticket'], env);
      expect(cancel.code, cancel.stderr).to.equal(0);
      expect(cancel.stdout.trim()).to.equal(`cancelled ${ids[0]}`);
      expect(await store.get(ids[0] ?? '')).to.include({ status: 'cancelled', outcomeReason: 'duplicate ticket' });
      const again = await cli(['callbacks', 'cancel', ids[0] ?? ''], env);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.include('is cancelled, not pending');
      const bad = await cli(['callbacks', 'cancel', 'nope'], env);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.include('not a callback id');

      const status = await cli(['status', '--json'], env);
      expect(JSON.parse(status.stdout)).to.deep.equal({
        queues: {
          sales: { pending: 1, in_progress: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 },
          support: { pending: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 1, expired: 0 },
        },
      });
      expect((await cli(['status'], env)).stdout).to.match(/^queue\s+pending/);
    } finally {
      await db.destroy();
    }
  });

  describe('agent commands through the REST API', () => {
    let rig: SurfaceRig | undefined;
    after(async () => {
      await rig?.stop();
    });

    it('agent logout / login / pause with --token or DIRECT_CALLBACK_TOKEN; errors are clear', async () => {
      rig = await startSurfaceRig();
      const base = rig.base;
      const out = await cli(['agent', 'logout', 'a1002', '--api-url', base, '--token', TOKENS.admin]);
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stdout.trim()).to.equal('a1002: logged out');
      expect(rig.plugin.app.agents.get('a1002')?.loggedIn).to.equal(false);
      const back = await cli(['agent', 'login', 'a1002', '--api-url', base], { DIRECT_CALLBACK_TOKEN: TOKENS.admin });
      expect(back.stdout.trim()).to.equal('a1002: logged in');
      expect(rig.plugin.app.agents.get('a1002')?.loggedIn).to.equal(true);
      const agentToken = await cli(['agent', 'pause', 'a1002', '--api-url', base, '--token', TOKENS.a1002]);
      expect(agentToken.code).to.equal(1);
      expect(agentToken.stderr).to.include('API answered 403');
      const unknown = await cli(['agent', 'login', 'zed', '--api-url', base, '--token', TOKENS.admin]);
      expect(unknown.stderr).to.include("API answered 404: unknown agent 'zed'");
      const noToken = await cli(['agent', 'login', 'a1002', '--api-url', base]);
      expect(noToken.code).to.equal(2);
      expect(noToken.stderr).to.include('DIRECT_CALLBACK_TOKEN');
      const down = await cli(['agent', 'login', 'a1002', '--api-url', 'http://127.0.0.1:1', '--token', TOKENS.admin]);
      expect(down.code).to.equal(1);
      expect(down.stderr).to.include('cannot reach the API');
    });
  });
});
