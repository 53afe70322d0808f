import { expect } from 'chai';
import { ConfigError, parseConfig } from '../../../src/config/config';

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

describe('config: routes.<id>.priority', () => {
  it('is accepted (it was refused with "Unrecognized key"), with or without an overflow rule', () => {
    const c = parseConfig(
      {
        queues: [{ id: 'support', overflow: { maxWaiting: 5 } }],
        routes: { vip: { priority: 10 }, low: { priority: -5, overflow: { maxWaiting: 2 } } },
      },
      env,
    );
    expect(c.routes.vip?.priority).to.equal(10);
    // A route that sets only a priority overrides no overflow field: the queue's rule applies.
    expect(c.routes.vip?.overflow).to.deep.equal({});
    expect(c.routes.low).to.deep.equal({ priority: -5, overflow: { maxWaiting: 2 } });
  });

  it('unset, the route leaves the priority to the queue', () => {
    const c = parseConfig({ queues: [{ id: 'support' }], routes: { vip: { overflow: { maxWaiting: 1 } } } }, env);
    expect(c.routes.vip?.priority).to.equal(undefined);
  });

  it('refuses a priority that is not a whole number in range, naming the field and the rule', () => {
    for (const bad of [1.5, 'high', 1001, -1001, 1e9, null, true]) {
      const message = errorOf(() => parseConfig({ queues: [{ id: 'support' }], routes: { vip: { priority: bad } } }, env));
      expect(message, JSON.stringify(bad)).to.equal(
        'invalid configuration: routes.vip.priority: a whole number from -1000 to 1000 (higher is served first)',
      );
    }
  });

  it('still refuses unknown keys in a route', () => {
    expect(errorOf(() => parseConfig({ routes: { vip: { prio: 1 } } }, env))).to.match(/routes\.vip: Unrecognized key: "prio"/);
  });
});
