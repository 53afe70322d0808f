import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, parseConfig } from '../../../src/config/config';

const ARI = { ARI_PASSWORD: 'ari-secret' };

describe('AMI settings in the configuration', () => {
  it('is off without an AMI user', () => {
    expect(parseConfig({}, { ...ARI, AMI_PASSWORD: 'x' }).ami).to.equal(undefined);
  });

  it('defaults host 127.0.0.1 and port 5038', () => {
    expect(parseConfig({}, { ...ARI, AMI_USER: 'direct-callback', AMI_PASSWORD: 'pw-123456' }).ami).to.deep.equal({
      host: '127.0.0.1',
      port: 5038,
      username: 'direct-callback',
      password: 'pw-123456',
    });
  });

  it('takes host, port and user from the file, the environment winning', () => {
    const file = { ami: { host: 'pbx.example', port: 5039, user: 'from-file' } };
    expect(parseConfig(file, { ...ARI, AMI_PASSWORD: 'p-12345' }).ami).to.deep.equal({
      host: 'pbx.example',
      port: 5039,
      username: 'from-file',
      password: 'p-12345',
    });
    expect(
      parseConfig(file, { ...ARI, AMI_PASSWORD: 'p-12345', AMI_USER: 'env', AMI_HOST: '10.0.0.5', AMI_PORT: '5040' }).ami,
    ).to.deep.equal({ host: '10.0.0.5', port: 5040, username: 'env', password: 'p-12345' });
    expect(() => parseConfig({ ami: { port: 0 } }, ARI)).to.throw(ConfigError, /ami\.port/);
    expect(() => parseConfig({ ami: { password: 'in-file' } }, ARI)).to.throw(ConfigError, /ami/);
  });

  it('reads AMI_PASSWORD_FILE (trailing newline dropped) and never puts the secret in errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ami-config-'));
    const secretFile = path.join(dir, 'ami');
    fs.writeFileSync(secretFile, 'from-file-secret\n');
    const cfg = parseConfig({}, { ...ARI, AMI_USER: 'u', AMI_HOST: '10.0.0.5', AMI_PORT: '5039', AMI_PASSWORD_FILE: secretFile });
    expect(cfg.ami).to.deep.equal({ host: '10.0.0.5', port: 5039, username: 'u', password: 'from-file-secret' });
    expect(() => parseConfig({}, { ...ARI, AMI_USER: 'u', AMI_PASSWORD_FILE: path.join(dir, 'nope') })).to.throw(
      ConfigError,
      /cannot be read: ENOENT/,
    );
    expect(() => parseConfig({}, { ...ARI, AMI_USER: 'u' })).to.throw(ConfigError, /AMI_PASSWORD/);
    expect(() => parseConfig({}, { ...ARI, AMI_USER: 'u', AMI_PASSWORD: 'p-12345', AMI_PORT: 'abc' })).to.throw(ConfigError, /AMI_PORT/);
    fs.writeFileSync(secretFile, '');
    expect(() => parseConfig({}, { ...ARI, AMI_USER: 'u', AMI_PASSWORD_FILE: secretFile })).to.throw(ConfigError, /is empty/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
