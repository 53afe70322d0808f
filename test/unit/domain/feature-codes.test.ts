import { expect } from 'chai';
import { FEATURE_CODE_KINDS, featureCodeAgent, featureCodeChange, isFeatureCodeKind } from '../../../src/domain/feature-codes';

describe('feature codes: which agent, what changes', () => {
  const agents = [
    { id: 'a1001', endpoint: 'PJSIP/1001' },
    { id: 'a1002', endpoint: 'PJSIP/1002' },
    { id: '1003', endpoint: 'PJSIP/desk-3' },
  ];

  it('the entry kinds, and what each changes (log-in and pause apart)', () => {
    expect(FEATURE_CODE_KINDS.map((k) => [k, featureCodeChange(k)])).to.deep.equal([
      ['agent-login', { loggedIn: true }],
      ['agent-logout', { loggedIn: false }],
      ['agent-pause', { paused: true }],
      ['agent-unpause', { paused: false }],
    ]);
    expect(isFeatureCodeKind('agent-login')).to.equal(true);
    expect(isFeatureCodeKind('queue')).to.equal(false);
    expect(isFeatureCodeKind(undefined)).to.equal(false);
  });

  it('finds the agent by the endpoint the phone authenticated as (${CHANNEL(endpoint)}), then by id', () => {
    expect(featureCodeAgent(agents, '1001')?.id).to.equal('a1001');
    expect(featureCodeAgent(agents, 'PJSIP/1002')?.id).to.equal('a1002');
    expect(featureCodeAgent(agents, 'a1002')?.id).to.equal('a1002');
    expect(featureCodeAgent(agents, 'desk-3')?.id).to.equal('1003');
    expect(featureCodeAgent(agents, '1003')?.id).to.equal('1003');
  });

  it('an endpoint no agent has, or none at all, names nobody', () => {
    expect(featureCodeAgent(agents, '1009')).to.equal(undefined);
    expect(featureCodeAgent(agents, '')).to.equal(undefined);
    expect(featureCodeAgent(agents, '100')).to.equal(undefined);
  });
});
