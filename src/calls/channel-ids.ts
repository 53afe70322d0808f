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
 * A queue caller's holding bridge, named after its channel: a process that adopts the caller
 * after a crash finds (and reuses) the bridge its predecessor made.
 */
export function holdingBridgeIdOf(channelId: string): string {
  return `hold-${channelId}`;
}
