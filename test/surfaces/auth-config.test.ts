import { expect } from 'chai';
import { hashToken, TokenVerifier } from '../../src/http/auth';
import { ConfigError, parseConfig } from '../../src/config/config';

const ENV = { ARI_PASSWORD: 'x-secret' };

describe('surfaces: tokens and configuration', () => {
  it('hashes tokens with SHA-256 and resolves the scope of a presented bearer token', () => {
    expect(hashToken('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const v = new TokenVerifier([
      { sha256: hashToken('admin-token-0123456789'), scope: 'admin' },
      { name: 'ann', sha256: hashToken('agent-token-0123456789'), scope: 'agent:a1001' },
    ]);
    expect(v.verify('Bearer admin-token-0123456789')).to.deep.equal({ kind: 'admin', name: 'token #1' });
    expect(v.verify('bearer agent-token-0123456789')).to.deep.equal({ kind: 'agent', agentId: 'a1001', name: 'ann' });
    expect(v.verify(undefined)).to.equal(undefined);
    expect(v.verify('Bearer ')).to.equal(undefined);
    expect(v.verify('Bearer wrong')).to.equal(undefined);
    expect(v.verify('Basic admin-token-0123456789')).to.equal(undefined);
    expect(v.verify(`Bearer ${hashToken('admin-token-0123456789')}`), 'the hash itself is no token').to.equal(undefined);
    // One principal object per configured token: the event-stream cap counts per token with it.
    expect(v.verify('Bearer admin-token-0123456789')).to.equal(v.verify('Bearer admin-token-0123456789'));
  });

  it("scope 'metrics' reads only /metrics; http.metricsAccess is 'public' or 'token'", () => {
    const v = new TokenVerifier(
      parseConfig({ api: { tokens: [{ sha256: hashToken('prom-token-0123456789'), scope: 'metrics' }] } }, ENV).api.tokens,
    );
    expect(v.verify('Bearer prom-token-0123456789')).to.deep.equal({ kind: 'metrics', name: 'token #1' });
    expect(v.agentScopes()).to.deep.equal([]);
    expect(() => parseConfig({ http: { metricsAccess: 'closed' } }, ENV)).to.throw(ConfigError, /http\.metricsAccess/);
    expect(() => parseConfig({ api: { streamsPerToken: 0 } }, ENV)).to.throw(ConfigError, /api\.streamsPerToken/);
    expect(() => parseConfig({ api: { failedAuthPerMinute: 2.5 } }, ENV)).to.throw(ConfigError, /api\.failedAuthPerMinute/);
  });

  it('http defaults to off, 127.0.0.1:8090, /metrics open; no tokens; 10 wrong tokens a minute, 5 streams a token; no CRM', () => {
    const c = parseConfig({}, ENV);
    expect(c.http).to.deep.equal({ enabled: false, host: '127.0.0.1', port: 8090, metricsAccess: 'public', trustedProxies: [] });
    expect(c.api).to.deep.equal({ tokens: [], failedAuthPerMinute: 10, streamsPerToken: 5 });
    // A section given in part takes the defaults for the rest.
    expect(parseConfig({ http: { enabled: true }, api: { tokens: [] } }, ENV).api.streamsPerToken).to.equal(5);
    expect(parseConfig({ http: { enabled: true } }, ENV).http.metricsAccess).to.equal('public');
    expect(c.crm).to.deep.equal({ timeoutMs: 1500 });
  });

  it('a plaintext token, a bad scope or a CRM template without {number} stops start-up naming the field', () => {
    expect(() => parseConfig({ api: { tokens: [{ sha256: 'my-secret-token', scope: 'admin' }] } }, ENV)).to.throw(
      ConfigError,
      /api\.tokens\[0\]\.sha256/,
    );
    expect(() => parseConfig({ api: { tokens: [{ sha256: hashToken('t'), scope: 'root' }] } }, ENV)).to.throw(
      ConfigError,
      /api\.tokens\[0\]\.scope/,
    );
    expect(() => parseConfig({ crm: { urlTemplate: 'http://crm/lookup' } }, ENV)).to.throw(ConfigError, /crm\.urlTemplate/);
    expect(() => parseConfig({ http: { enabled: true, port: 70000 } }, ENV)).to.throw(ConfigError, /http\.port/);
  });
});
