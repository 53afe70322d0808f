import { expect } from 'chai';
import { amiConfigFromEnv, AmiConfigError } from '../../../src/ami/ami-config';

describe('AMI config from the environment', () => {
  it('is off without AMI_USER', () => {
    expect(amiConfigFromEnv({ AMI_PASSWORD: 'x' })).to.equal(undefined);
  });

  it('defaults host 127.0.0.1 and port 5038', () => {
    expect(amiConfigFromEnv({ AMI_USER: 'direct-callback', AMI_PASSWORD: 'pw-123456' })).to.deep.equal({
      host: '127.0.0.1',
      port: 5038,
      username: 'direct-callback',
      password: 'pw-123456',
    });
  });

  it('reads AMI_PASSWORD_FILE (trailing newline dropped) and never puts the secret in errors', () => {
    const files: Record<string, string> = { '/run/secrets/ami': 'from-file-secret\n' };
    const read = (p: string): string => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return v;
    };
    const cfg = amiConfigFromEnv({ AMI_USER: 'u', AMI_HOST: '10.0.0.5', AMI_PORT: '5039', AMI_PASSWORD_FILE: '/run/secrets/ami' }, read);
    expect(cfg).to.deep.equal({ host: '10.0.0.5', port: 5039, username: 'u', password: 'from-file-secret' });
    expect(() => amiConfigFromEnv({ AMI_USER: 'u', AMI_PASSWORD_FILE: '/nope' }, read)).to.throw(AmiConfigError, /cannot be read: ENOENT/);
    expect(() => amiConfigFromEnv({ AMI_USER: 'u' }, read)).to.throw(AmiConfigError, /AMI_PASSWORD/);
    expect(() => amiConfigFromEnv({ AMI_USER: 'u', AMI_PASSWORD: 'p-12345', AMI_PORT: 'abc' }, read)).to.throw(AmiConfigError, /AMI_PORT/);
  });
});
