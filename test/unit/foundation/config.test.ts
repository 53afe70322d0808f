import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../src/config/config';

const env = { ARI_PASSWORD: 'pw-from-env' };

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies documented defaults (30 s offer delay and interval)', () => {
    const c = parseConfig({ queues: [{ id: 'support' }] }, env);
    expect(c.queues[0]?.offer).to.deep.equal({ initialDelaySec: 30, intervalSec: 30, thresholdPosition: 1 });
    expect(c.ari).to.deep.include({
      url: 'http://127.0.0.1:8088',
      user: 'direct-callback',
      app: 'direct-callback',
      password: 'pw-from-env',
      maxConnections: 50,
    });
    expect(c.callback.dialTemplate).to.equal('PJSIP/{number}@trunk');
  });

  it('ari.maxConnections: a whole number from 1 to 1000 (Asterisk serves 100 HTTP sessions by default)', () => {
    expect(parseConfig({ ari: { maxConnections: 40 } }, env).ari.maxConnections).to.equal(40);
    expect(errorOf(() => parseConfig({ ari: { maxConnections: 0 } }, env))).to.match(/ari\.maxConnections/);
    expect(errorOf(() => parseConfig({ ari: { maxConnections: 2.5 } }, env))).to.match(/ari\.maxConnections/);
  });

  it('names the bad field', () => {
    expect(errorOf(() => parseConfig({ queues: [{ id: 'support', overflow: { maxWaiting: 'x' } }] }, env))).to.match(
      /queues\[0\]\.overflow\.maxWaiting/,
    );
    expect(errorOf(() => parseConfig({ queues: [{ id: 'sup port' }] }, env))).to.match(/queues\[0\]\.id/);
    expect(errorOf(() => parseConfig({ agents: [{ id: 'a', name: 'A', endpoint: '1001' }] }, env))).to.match(/agents\[0\]\.endpoint/);
    expect(errorOf(() => parseConfig({ callback: { dialTemplate: 'PJSIP/trunk' } }, env))).to.match(/callback\.dialTemplate/);
    expect(errorOf(() => parseConfig({ queus: [] }, env))).to.match(/queus/);
  });

  it('rejects agents in unknown queues and duplicate ids', () => {
    expect(
      errorOf(() =>
        parseConfig({ queues: [{ id: 'q' }], agents: [{ id: 'a', name: 'A', endpoint: 'PJSIP/1', queues: [{ id: 'nope' }] }] }, env),
      ),
    ).to.match(/agents\[0\]\.queues\[0\]\.id: unknown queue 'nope'/);
    expect(errorOf(() => parseConfig({ queues: [{ id: 'q' }, { id: 'q' }] }, env))).to.match(/queues\[1\]\.id: duplicate/);
  });

  it("languages: a queue's and an agent's must be shipped (a prompt folder); agents default to English", () => {
    const c = parseConfig(
      {
        queues: [{ id: 'q', language: 'es' }, { id: 'r' }],
        agents: [
          { id: 'a', name: 'A', endpoint: 'PJSIP/1', language: 'es' },
          { id: 'b', name: 'B', endpoint: 'PJSIP/2' },
        ],
      },
      env,
    );
    expect(c.queues.map((q) => q.language)).to.deep.equal(['es', undefined]);
    expect(c.agents.map((a) => a.language)).to.deep.equal(['es', 'en']);
    expect(errorOf(() => parseConfig({ queues: [{ id: 'q' }, { id: 'r', language: 'de' }] }, env))).to.match(
      /queues\[1\]\.language: no prompts for language 'de' \(shipped: en, es; /,
    );
    expect(errorOf(() => parseConfig({ agents: [{ id: 'a', name: 'A', endpoint: 'PJSIP/1', language: 'es_MX' }] }, env))).to.match(
      /agents\[0\]\.language: no prompts for language 'es_MX'/,
    );
    expect(errorOf(() => parseConfig({ queues: [{ id: 'q', language: 3 }] }, env))).to.match(/queues\[0\]\.language/);
  });

  it('takes the ARI password only from the environment or a file, never the config file', () => {
    expect(errorOf(() => parseConfig({}, {}))).to.match(/ARI_PASSWORD/);
    expect(errorOf(() => parseConfig({ ari: { password: 'in-file' } }, env))).to.match(/ari/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'ari-password');
    fs.writeFileSync(file, 'from-file\n');
    expect(parseConfig({}, { ARI_PASSWORD_FILE: file }).ari.password).to.equal('from-file');
    expect(errorOf(() => parseConfig({}, { ARI_PASSWORD_FILE: path.join(dir, 'missing') }))).to.match(/ARI_PASSWORD_FILE: cannot read/);
  });

  it('takes the database URL from DATABASE_URL, else from the file DATABASE_URL_FILE names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'database-url');
    fs.writeFileSync(file, 'postgres://dc:s3cret@db.example/callbacks\n');
    expect(parseConfig({}, { ARI_PASSWORD: 'p', DATABASE_URL_FILE: file }).databaseUrl).to.equal(
      'postgres://dc:s3cret@db.example/callbacks',
    );
    expect(parseConfig({}, { ARI_PASSWORD: 'p', DATABASE_URL: 'postgres://x@y/z', DATABASE_URL_FILE: file }).databaseUrl).to.equal(
      'postgres://x@y/z',
    );
    expect(errorOf(() => parseConfig({}, { ARI_PASSWORD: 'p', DATABASE_URL_FILE: path.join(dir, 'missing') }))).to.match(
      /DATABASE_URL_FILE: cannot read/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names the crash point of the fault harness only through DIRECT_CALLBACK_CRASH_AT, and only a known one', () => {
    expect(parseConfig({}, env).crashAt).to.equal(undefined);
    expect(parseConfig({}, { ...env, DIRECT_CALLBACK_CRASH_AT: 'offer.after_commit' }).crashAt).to.equal('offer.after_commit');
    expect(errorOf(() => parseConfig({}, { ...env, DIRECT_CALLBACK_CRASH_AT: 'offer.after_comit' }))).to.match(
      /DIRECT_CALLBACK_CRASH_AT: no crash point 'offer\.after_comit'/,
    );
  });

  it('reports a malformed config file clearly', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, '{ "queues": [ ');
    expect(errorOf(() => loadConfig(file, env))).to.match(/bad\.json: not valid JSON/);
    expect(errorOf(() => loadConfig(path.join(dir, 'none.json'), env))).to.match(/none\.json/);
  });
});
