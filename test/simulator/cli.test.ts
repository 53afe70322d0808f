/** Spawns `tsx tools/simulator/cli.ts` (what `npm run sim` runs) and checks the probes.md answers over HTTP. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

describe('simulator CLI (npm run sim)', function () {
  this.timeout(20000);
  let child: ChildProcess | null = null;
  let base = '';

  before(async () => {
    const port = await freePort();
    const root = path.resolve(__dirname, '..', '..');
    child = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'tools/simulator/cli.ts',
        '--port',
        String(port),
        '--user',
        'u',
        '--password',
        'p',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`CLI did not print its URL; output: ${out}`)), 15000);
      child?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.split('\n')[0]);
        }
      });
      child?.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child?.on('exit', (code) => reject(new Error(`CLI exited with ${code}: ${out}`)));
    });
    expect(line).to.equal(`ARI simulator listening on http://127.0.0.1:${port}/ari (user u)`);
    base = `http://127.0.0.1:${port}`;
  });

  after(() => {
    child?.kill('SIGTERM');
  });

  const call = async (method: string, p: string, auth = 'u:p'): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${base}${p}`, { method, headers: { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  it('answers like Asterisk 22.10.1 (probes.md)', async () => {
    const info = await call('GET', '/ari/asterisk/info');
    expect(info.status).to.equal(200);
    expect(info.body).to.have.nested.property('system.version', '22.10.1');
    expect(await call('POST', '/ari/channels')).to.deep.equal({ status: 400, body: { message: 'Endpoint must be specified' } });
    expect(await call('GET', '/ari/nosuchresource')).to.deep.equal({ status: 404, body: { message: 'Resource not found' } });
    expect(await call('PUT', '/ari/asterisk/info')).to.deep.equal({ status: 405, body: { message: 'Invalid method' } });
    expect(await call('GET', '/ari/asterisk/info', 'u:bad')).to.deep.equal({ status: 401, body: { message: 'Authentication required' } });
  });
});
