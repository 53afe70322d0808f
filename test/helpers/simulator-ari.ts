/** Test helpers: connect the real, unmodified ari-client 2.2.0 to an AriSimulator. */
import type { AriSimulator } from '../../tools/simulator/ari-simulator';

export type AriOp = (opts?: Record<string, unknown>) => Promise<unknown>;

export interface AriClientLike {
  start(apps: string | string[]): Promise<void>;
  stop(): void;
  on(event: string, fn: (event: Record<string, unknown>, instance: unknown) => void): void;
  removeAllListeners(event?: string): void;
  channels: Record<string, AriOp>;
  bridges: Record<string, AriOp>;
  playbacks: Record<string, AriOp>;
  applications: Record<string, AriOp>;
  deviceStates: Record<string, AriOp>;
  endpoints: Record<string, AriOp>;
  asterisk: Record<string, AriOp>;
  events: Record<string, AriOp>;
  _ws?: { terminate(): void };
}

interface AriModule {
  connect(url: string, user: string, password: string): Promise<AriClientLike>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ariModule = require('ari-client') as AriModule;

export interface ConnectedAri {
  ari: AriClientLike;
  /** Every event the client received, in order. */
  received: Array<Record<string, unknown>>;
  close(): void;
}

export async function connectAri(sim: AriSimulator, app = 'direct-callback'): Promise<ConnectedAri> {
  const ari = await ariModule.connect(sim.url, sim.user, sim.password);
  const received: Array<Record<string, unknown>> = [];
  ari.on('*', (e) => received.push(e));
  await ari.start(app);
  await sim.waitForApp(app);
  return {
    ari,
    received,
    close: () => {
      try {
        ari.stop();
      } catch {
        /* already closed */
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with the raw body text ari-client puts in Error.message. */
export async function ariError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected the ARI call to fail');
}

export async function rawRequest(
  sim: AriSimulator,
  method: string,
  path: string,
  opts: { auth?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const auth = opts.auth ?? `${sim.user}:${sim.password}`;
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}
