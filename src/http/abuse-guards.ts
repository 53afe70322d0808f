import { SlidingWindowRateLimiter } from '../domain/policies/rate-limit';

/**
 * The HTTP surface's defences against guessing and hoarding (issue 19): a limit on wrong tokens
 * per client address, a cap on event streams per token, and the loopback test behind the
 * start-up warning. Pure logic with the clock passed in; server.ts wires them.
 */

const MINUTE_MS = 60_000;

/**
 * The key a client's failures are counted under. An IPv6 client usually holds a whole /64 and can
 * pick a fresh address per request, so IPv6 is counted per /64; IPv4-mapped IPv6 counts as IPv4.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const halves = (address.toLowerCase().split('%')[0] ?? '').split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0') : [];
  const groups = [...left, ...zeros, ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * After `perMinute` wrong tokens from one client within a minute, every request of that client
 * that presents a token answers 429 until the oldest failure leaves the window. The check comes
 * before the token is verified, so a blocked client learns nothing, not even that a token was
 * right. Requests that authenticate record nothing (good clients are never slowed), and refused
 * ones are not recorded either (no guess was tried). Memory is bounded by the limiter (LRU keys).
 */
export class FailedAuthGuard {
  private readonly failures: SlidingWindowRateLimiter;

  constructor(
    perMinute: number,
    private readonly now: () => number,
    maxClients = 10_000,
  ) {
    this.failures = new SlidingWindowRateLimiter({ limit: perMinute, windowMs: MINUTE_MS, maxKeys: maxClients });
  }

  /** Whole seconds the client must wait before presenting a token again; 0 when it may now. */
  retryAfterSec(address: string): number {
    const d = this.failures.check(clientKey(address), this.now());
    return d.allowed ? 0 : Math.max(1, Math.ceil(d.retryAfterMs / 1000));
  }

  failed(address: string): void {
    this.failures.record(clientKey(address), this.now());
  }
}

/**
 * Open event streams per holder (the verified token's principal object: one per configured token).
 * `open` answers a release function (safe to call twice), or undefined when the holder is at the cap.
 */
export class StreamCap<K> {
  private readonly open = new Map<K, number>();

  constructor(private readonly max: number) {}

  tryOpen(holder: K): (() => void) | undefined {
    const n = this.open.get(holder) ?? 0;
    if (n >= this.max) return undefined;
    this.open.set(holder, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(holder) ?? 1) - 1;
      if (left > 0) this.open.set(holder, left);
      else this.open.delete(holder);
    };
  }

  count(holder: K): number {
    return this.open.get(holder) ?? 0;
  }
}

/** True when `host` binds the loopback interface only (nothing on the network reaches it). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d+){3}$/.test(h) || /^::ffff:127(\.\d+){3}$/.test(h) || /^(0+:){7}0*1$/.test(h);
}
