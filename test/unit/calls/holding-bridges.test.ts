import { expect } from 'chai';
import { AriRequestError, CallControl } from '../../../src/ari/call-control';
import { HOLDING_BRIDGE_CAPACITY, HoldingBridges } from '../../../src/calls/holding-bridges';

/** The bridge requests HoldingBridges sends, recorded; `destroyBridge` can be held open by a test. */
class BridgeControl {
  readonly requests: string[] = [];
  releaseDestroy: (() => void) | undefined;
  holdDestroy = false;
  mohFails = false;
  existing = new Set<string>();

  createBridge = (id: string): Promise<void> => {
    this.requests.push(`create ${id}`);
    if (this.existing.has(id))
      return Promise.reject(new AriRequestError(`Bridge with id '${id}' already exists`, 'conflict', 'createBridge'));
    this.existing.add(id);
    return Promise.resolve();
  };
  startBridgeMoh = (id: string): Promise<void> => {
    this.requests.push(`moh ${id}`);
    return this.mohFails ? Promise.reject(new AriRequestError('ETIMEDOUT', 'transport', 'startBridgeMoh')) : Promise.resolve();
  };
  destroyBridge = async (id: string): Promise<void> => {
    this.requests.push(`destroy ${id}`);
    if (this.holdDestroy) await new Promise<void>((r) => (this.releaseDestroy = r));
    this.existing.delete(id);
  };
}

const registry = (c: BridgeControl): HoldingBridges => HoldingBridges.of(c as unknown as CallControl);

describe('unit: the holding bridges a process shares among its queue callers', () => {
  it('callers joining at once: one bridge made, its music started once; the last caller out destroys it', async () => {
    const c = new BridgeControl();
    const r = registry(c);
    await Promise.all(['c1', 'c2', 'c3'].map((ch) => r.join('hold.app.q', ch, 'queue q')));
    expect(c.requests).to.deep.equal(['create hold.app.q', 'moh hold.app.q']);
    await r.leave('hold.app.q', 'c1');
    await r.leave('hold.app.q', 'c2');
    expect(c.requests, 'kept while a caller is in it').to.have.length(2);
    await r.leave('hold.app.q', 'c3');
    expect(c.requests.slice(2)).to.deep.equal(['destroy hold.app.q']);
    expect(r.members('hold.app.q')).to.deep.equal([]);
    // A caller who leaves twice (connected, then the call's end) destroys nothing twice.
    await r.leave('hold.app.q', 'c3');
    expect(c.requests).to.have.length(3);
  });

  it('a caller joining while the bridge is destroyed waits, then gets a new bridge with its music', async () => {
    const c = new BridgeControl();
    const r = registry(c);
    await r.join('hold.app.q', 'c1', 'queue q');
    c.holdDestroy = true;
    const leaving = r.leave('hold.app.q', 'c1');
    let joined = false;
    const joining = r.join('hold.app.q', 'c2', 'queue q').then(() => (joined = true));
    await new Promise((res) => setImmediate(res));
    expect(joined, 'not before the old bridge is gone').to.equal(false);
    c.releaseDestroy?.();
    await Promise.all([leaving, joining]);
    expect(c.requests).to.deep.equal(['create hold.app.q', 'moh hold.app.q', 'destroy hold.app.q', 'create hold.app.q', 'moh hold.app.q']);
  });

  it('an adopted caller still in the bridge: nothing made, the music started once for all adopted callers', async () => {
    const c = new BridgeControl();
    c.existing.add('hold.app.q');
    const r = registry(c);
    const found = await Promise.all(['c1', 'c2'].map((ch) => r.join('hold.app.q', ch, 'queue q', true)));
    expect(found).to.deep.equal([true, true]);
    expect(c.requests).to.deep.equal(['moh hold.app.q']);
    // A new caller of the same queue finds the bridge ready.
    await r.join('hold.app.q', 'c3', 'queue q');
    expect(c.requests).to.deep.equal(['moh hold.app.q']);
  });

  it('a bridge left by a previous process is reused (409), and a failed start is tried again by the next caller', async () => {
    const c = new BridgeControl();
    c.existing.add('hold.app.q');
    c.mohFails = true;
    const r = registry(c);
    const failed = await r.join('hold.app.q', 'c1', 'queue q').then(
      () => false,
      () => true,
    );
    expect(failed).to.equal(true);
    c.mohFails = false;
    await r.join('hold.app.q', 'c2', 'queue q');
    expect(c.requests).to.deep.equal(['create hold.app.q', 'moh hold.app.q', 'create hold.app.q', 'moh hold.app.q']);
  });

  it("a full bridge sends the next caller to the queue's next one; a place freed is taken again; each made and destroyed once", async () => {
    const c = new BridgeControl();
    const r = registry(c);
    const placed = ['c1', 'c2', 'c3', 'c4', 'c5'].map((ch) => r.place('app', 'q', ch, 2));
    expect(placed).to.deep.equal(['hold.app.q', 'hold.app.q', 'hold.app.q.1', 'hold.app.q.1', 'hold.app.q.2']);
    expect(r.place('app', 'q', 'c1', 2), 'a caller placed again keeps its bridge').to.equal('hold.app.q');
    await Promise.all(placed.map((id, i) => r.join(id, `c${i + 1}`, 'queue q')));
    expect(c.requests).to.have.members([
      'create hold.app.q',
      'moh hold.app.q',
      'create hold.app.q.1',
      'moh hold.app.q.1',
      'create hold.app.q.2',
      'moh hold.app.q.2',
    ]);
    await r.leave('hold.app.q', 'c2');
    expect(r.place('app', 'q', 'c6', 2), 'the first bridge with room').to.equal('hold.app.q');
    await r.leave('hold.app.q.2', 'c5');
    expect(c.requests.slice(6)).to.deep.equal(['destroy hold.app.q.2']);
    expect(HOLDING_BRIDGE_CAPACITY, 'the default: small events, one music per hundred callers').to.equal(100);
    expect(r.place('app', 'q', 'c7'), 'with the default capacity').to.equal('hold.app.q');
  });

  it('each process (each CallControl) has its own registry', () => {
    const a = new BridgeControl();
    expect(registry(a)).to.equal(registry(a));
    expect(registry(a)).to.not.equal(registry(new BridgeControl()));
  });
});
