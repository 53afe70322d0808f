import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Loopback ports for one lab run. Each run takes its own (Asterisk's SIP/HTTP/AMI, SIPp's SIP,
 * media and control ports) so that runs in parallel, or beside another Asterisk on the machine,
 * never collide. A port is only handed out when both TCP and UDP binds on it succeed.
 */
function bindTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function bindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const SLICE = 500;
const LOCK_DIR = path.join(os.tmpdir(), 'adc-lab-ports');
const held = new Set<string>();
process.on('exit', () => {
  for (const d of held) fs.rmSync(d, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the slice starting at `port` for this process (a directory made atomically), or takes over a dead owner's. */
function claimSlice(port: number): string | undefined {
  const dir = path.join(LOCK_DIR, `slice-${port}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      held.add(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(fs.readFileSync(path.join(dir, 'pid'), { encoding: 'utf8', flag: 'a+' }) || NaN);
      // An owner that is gone (killed before it could let go): its slice is moved aside, once.
      if (Number.isNaN(owner) || alive(owner)) return undefined;
      try {
        fs.renameSync(dir, `${dir}.stale-${process.pid}-${Date.now()}`);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export class PortAllocator {
  private next: number;
  private readonly given = new Set<number>();
  private readonly low: number;
  private readonly high: number;
  private readonly slices: string[] = [];

  /**
   * Reserves a block of at least `size` ports of [20000, 32000) (below the kernel's ephemeral
   * ports, 32768+, where outgoing connections would take a port between our check and the
   * listener's bind) for this allocator alone, across processes: labs run in parallel test
   * workers, and a port free when checked may be one that another lab's Asterisk binds later for
   * RTP (a SIPp control port once collided so). A block is a run of 500-port slices, each a
   * directory in the system's temp folder made atomically; release() or the process's exit frees
   * them, and a dead owner's are taken over.
   */
  constructor(size = 1000, range: { low: number; high: number } = { low: 20000, high: 32000 }) {
    fs.mkdirSync(LOCK_DIR, { recursive: true });
    const need = Math.max(1, Math.ceil(size / SLICE));
    const count = Math.floor((range.high - range.low) / SLICE);
    const first = Math.floor(Math.random() * count);
    for (let i = 0; i < count && this.slices.length === 0; i++) {
      const start = (first + i) % count;
      if (start + need > count) continue;
      const mine: string[] = [];
      for (let k = 0; k < need; k++) {
        const d = claimSlice(range.low + (start + k) * SLICE);
        if (!d) break;
        mine.push(d);
      }
      if (mine.length === need) {
        this.slices.push(...mine);
        this.low = range.low + start * SLICE;
        this.high = this.low + need * SLICE;
        this.next = this.low;
        return;
      }
      this.releaseDirs(mine);
    }
    throw new Error(`no ${need * SLICE} ports free in [${range.low}, ${range.high}) for another lab (${LOCK_DIR} lists who holds them)`);
  }

  /** Lets the block go (Lab.stop); the process's exit does it too. */
  release(): void {
    this.releaseDirs(this.slices.splice(0));
  }

  private releaseDirs(dirs: string[]): void {
    for (const d of dirs) {
      fs.rmSync(d, { recursive: true, force: true });
      held.delete(d);
    }
  }

  /** One free port (TCP and UDP). */
  async take(): Promise<number> {
    return (await this.takeRange(1))[0];
  }

  /** `count` consecutive free ports starting on an even port. */
  async takeRange(count: number): Promise<number[]> {
    for (let tries = 0; tries < 2000; tries++) {
      if (this.next + count >= this.high) this.next = this.low;
      const start = this.next + (this.next % 2);
      this.next = start + count + (count % 2);
      const range = Array.from({ length: count }, (_, i) => start + i);
      if (range.some((p) => this.given.has(p))) continue;
      let free = true;
      // A large range (RTP) is checked at both ends only: Asterisk skips a busy RTP port itself.
      const probe = count > 4 ? [range[0], range[count - 1]] : range;
      for (const p of probe) {
        if (!(await bindTcp(p)) || !(await bindUdp(p))) {
          free = false;
          break;
        }
      }
      if (!free) continue;
      for (const p of range) this.given.add(p);
      return range;
    }
    throw new Error(`no ${count} free consecutive ports in [${this.low}, ${this.high})`);
  }
}
