import { randomUUID } from 'node:crypto';

/**
 * Ids of the channels the plugin creates. They carry the Stasis app name: several instances may
 * share one Asterisk (each with its own app name), and after a restart an instance must tell its
 * own leftover legs (still ringing, not yet in Stasis) from another instance's live ones.
 */
export type OwnChannelKind = 'cb-agent' | 'cb-customer' | 'cf-agent' | 'cf-customer' | 'agent' | 'direct-agent' | 'external';

const KINDS: readonly OwnChannelKind[] = ['cb-agent', 'cb-customer', 'cf-agent', 'cf-customer', 'agent', 'direct-agent', 'external'];

export function ownChannelId(kind: OwnChannelKind, app: string): string {
  return `${kind}-${app}-${randomUUID()}`;
}

/** True for a channel this app (this instance, or its predecessor) created. */
export function isOwnChannel(channelId: string, app: string): boolean {
  return KINDS.some((k) => channelId.startsWith(`${k}-${app}-`));
}

/**
 * The holding bridge of a queue, shared by the queue's callers this app holds. It carries the app
 * name (instances sharing one Asterisk each hold their own callers) but no process: a process
 * restarted after a crash, or a standby taking over (same app), finds and reuses it. App names and
 * queue ids are letters, digits, _ and -, so the dots keep every pair apart. A queue with more
 * callers than one bridge takes (HoldingBridges) has more bridges: shard 0 is `hold.<app>.<queue>`
 * (the id every version used), shard n is `hold.<app>.<queue>.<n>`.
 */
export function holdingBridgeIdOf(app: string, queueId: string, shard = 0): string {
  return shard === 0 ? `hold.${app}.${queueId}` : `hold.${app}.${queueId}.${shard}`;
}

/** True for a shared holding bridge of this app (any queue's). */
export function isHoldingBridgeOf(bridgeId: string, app: string): boolean {
  return bridgeId.startsWith(`hold.${app}.`);
}

/** Where a caller who types a number waits, away from the shared bridge's music (Hold.quiet). */
export function quietBridgeIdOf(channelId: string): string {
  return `quiet-${channelId}`;
}

/**
 * The holding bridge of a caller held by a version before the shared bridges (one per caller): an
 * adopted caller found in one is moved to its queue's bridge, and this one is destroyed.
 */
export function legacyHoldingBridgeIdOf(channelId: string): string {
  return `hold-${channelId}`;
}
