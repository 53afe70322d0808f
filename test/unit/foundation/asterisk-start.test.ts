import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * docker/asterisk-start.sh, run for real with /bin/sh and the machine's awk (no Docker here):
 * `--render-only` renders the sample asterisk-config/ into a folder with secrets from another
 * folder, as the container would, and stops before Asterisk. It must refuse to start while a
 * phone's password is still the sample's public CHANGE_ME placeholder (issue 19).
 */
const root = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(root, 'docker', 'asterisk-start.sh');
const SAMPLE = path.join(root, 'asterisk-config');

const ARI = 'a1'.repeat(16);
const AMI = 'b2'.repeat(16);
const SIP_1001 = 'c3'.repeat(16);
const SIP_1002 = 'd4'.repeat(16);

interface Run {
  code: number | null;
  stderr: string;
  dst: string;
  pjsip(): string;
}

function run(secrets: Record<string, string>): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asterisk-start-'));
  const dst = path.join(dir, 'etc');
  const secretsDir = path.join(dir, 'secrets');
  fs.mkdirSync(dst);
  fs.mkdirSync(secretsDir);
  for (const [name, text] of Object.entries(secrets)) fs.writeFileSync(path.join(secretsDir, name), text);
  const r = spawnSync('/bin/sh', [SCRIPT, '--render-only'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASTERISK_CONFIG_SRC: SAMPLE, ASTERISK_CONFIG_DST: dst, SECRETS_DIR: secretsDir },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr, dst, pjsip: () => fs.readFileSync(path.join(dst, 'pjsip.conf'), 'utf8') };
}

const uncommented = (text: string): string[] => text.split('\n').filter((l) => !/^\s*;/.test(l));

describe('docker/asterisk-start.sh: fails closed on placeholder passwords', function () {
  this.timeout(30_000);
  const runs: Run[] = [];
  after(() => {
    for (const r of runs) fs.rmSync(path.dirname(r.dst), { recursive: true, force: true });
  });
  const start = (secrets: Record<string, string>): Run => {
    const r = run(secrets);
    runs.push(r);
    return r;
  };

  it('the sample pjsip.conf still has the two public placeholders this script guards against', () => {
    const sample = fs.readFileSync(path.join(SAMPLE, 'pjsip.conf'), 'utf8');
    expect(uncommented(sample).filter((l) => l.includes('CHANGE_ME'))).to.deep.equal([
      'password = CHANGE_ME_1001',
      'password = CHANGE_ME_1002',
    ]);
  });

  it('without SIP passwords it refuses to start and names both phones', () => {
    const r = start({ ari_password: `${ARI}\n`, ami_password: `${AMI}\n` });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('not started: placeholder passwords left: pjsip.conf:CHANGE_ME_1001 pjsip.conf:CHANGE_ME_1002');
    expect(r.stderr).to.include('secrets/sip_passwords.txt');
  });

  it('with a password for 1001 only it still refuses, naming 1002 alone', () => {
    const r = start({ ari_password: ARI, ami_password: AMI, sip_passwords: `1001=${SIP_1001}\n` });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('placeholder passwords left: pjsip.conf:CHANGE_ME_1002\n');
    expect(r.stderr).to.not.include(SIP_1001);
  });

  it('with every secret it renders the passwords in place of the placeholders, and nothing else changes', () => {
    const r = start({
      ari_password: `${ARI}\r\n`,
      ami_password: AMI,
      sip_passwords: `# phones\n1001=${SIP_1001}\r\n\n 1002 =${SIP_1002}\n`,
    });
    expect(r.code, r.stderr).to.equal(0);
    const rendered = r.pjsip();
    expect(uncommented(rendered).filter((l) => l.includes('CHANGE_ME'))).to.deep.equal([]);
    expect(rendered).to.include(`[1001](agent-auth)\nusername = 1001\npassword = ${SIP_1001}\n`);
    expect(rendered).to.include(`[1002](agent-auth)\nusername = 1002\npassword = ${SIP_1002}\n`);
    const sample = fs.readFileSync(path.join(SAMPLE, 'pjsip.conf'), 'utf8');
    expect(rendered.replace(SIP_1001, 'CHANGE_ME_1001').replace(SIP_1002, 'CHANGE_ME_1002')).to.equal(sample);
    expect(fs.readFileSync(path.join(r.dst, 'ari.conf'), 'utf8')).to.include(`\npassword = ${ARI}\n`);
    expect(fs.readFileSync(path.join(r.dst, 'manager.conf'), 'utf8')).to.include(`\nsecret = ${AMI}\n`);
    for (const f of ['ari.conf', 'manager.conf', 'pjsip.conf']) expect(fs.statSync(path.join(r.dst, f)).mode & 0o777, f).to.equal(0o640);
  });

  it('a weak SIP password, or one pjsip.conf would cut at ";", stops the start without printing it', () => {
    for (const weak of ['short1001', `${SIP_1001.slice(0, 20)};x`, `${SIP_1001} x`]) {
      const r = start({ ari_password: ARI, ami_password: AMI, sip_passwords: `1001=${weak}\n1002=${SIP_1002}\n` });
      expect(r.code, weak).to.equal(1);
      expect(r.stderr, weak).to.include('the secret for 1001 must be at least 16 characters');
      expect(r.stderr, weak).to.not.include(weak);
    }
  });

  it('a missing ARI secret still stops it first, as before', () => {
    const r = start({ ami_password: AMI, sip_passwords: `1001=${SIP_1001}\n1002=${SIP_1002}\n` });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/secret \S+\/ari_password is missing or empty/);
  });
});
