import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortAllocator } from '../../../tools/asterisk-lab/ports';

/**
 * Labs in parallel test workers reserve disjoint blocks of ports (a SIPp control port once landed
 * in another lab's RTP range). A block of its own range here, so that real labs are not disturbed.
 */
describe('lab ports: one block per lab, across processes', () => {
  const range = { low: 40000, high: 41000 }; // two slices of 500
  const lockDir = path.join(os.tmpdir(), 'adc-lab-ports');

  it('two allocators get disjoint blocks; a third finds none until one is released', async () => {
    const a = new PortAllocator(500, range);
    const b = new PortAllocator(500, range);
    try {
      const [pa, pb] = [await a.takeRange(10), await b.takeRange(10)];
      const blockOf = (p: number) => Math.floor((p - range.low) / 500);
      expect(blockOf(pa[0])).to.not.equal(blockOf(pb[0]));
      expect(() => new PortAllocator(500, range)).to.throw(/no 500 ports free/);
      a.release();
      const c = new PortAllocator(500, range);
      expect(blockOf(await c.take())).to.equal(blockOf(pa[0]));
      c.release();
    } finally {
      a.release();
      b.release();
    }
  });

  it("a dead process's block is taken over", () => {
    // A pid that cannot exist holds the slice of ports 60000-60499.
    const range2 = { low: 60000, high: 60500 };
    const dir = path.join(lockDir, 'slice-60000');
    fs.mkdirSync(lockDir, { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'pid'), '2147483646');
    const d = new PortAllocator(500, range2);
    d.release();
    expect(fs.existsSync(dir)).to.equal(false);
  });
});
