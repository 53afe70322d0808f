import net from 'node:net';
import dgram from 'node:dgram';

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

export class PortAllocator {
  private next: number;
  private readonly given = new Set<number>();

  /** Starts at a random point of [20000, 32000), below the kernel's ephemeral ports (32768+), where
   * outgoing connections would take a port between our check and the listener's bind. */
  constructor(private readonly low = 20000, private readonly high = 32000) {
    this.next = low + 2 * Math.floor((Math.random() * (high - low)) / 2);
  }

  /** One free port (TCP and UDP). */
  async take(): Promise<number> {
    return (await this.takeRange(1))[0] as number;
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
      const probe = count > 4 ? [range[0] as number, range[count - 1] as number] : range;
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
