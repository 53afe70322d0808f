import { AriChannel, AriEvent } from '../ari/ari-events';
import { AppConfig } from '../config/config';
import { Logger } from '../logging/logger';
import { isOwnChannel } from '../calls/channel-ids';

/**
 * Which channels' StasisStart and answer this process has seen, until their end. A WebSocket gap
 * loses events; the reconciliation compares this with Asterisk's listing to find the answers the
 * sessions never heard of.
 */
export class SeenAnswers {
  private readonly stasis = new Set<string>();
  private readonly up = new Set<string>();

  observe(event: Extract<AriEvent, { type: 'StasisStart' | 'ChannelStateChange' }>): void {
    if (event.type === 'StasisStart') this.stasis.add(event.channel.id);
    if (event.channel.state === 'Up') this.up.add(event.channel.id);
  }

  /** Taken up by the reconciliation in the state the listing gave (a resumed customer leg may still ring). */
  adopted(channel: AriChannel): void {
    this.stasis.add(channel.id);
    if (channel.state === 'Up') this.up.add(channel.id);
  }

  forget(channelId: string): void {
    this.stasis.delete(channelId);
    this.up.delete(channelId);
  }

  hasStasisStart(channelId: string): boolean {
    return this.stasis.has(channelId);
  }

  hasAnswer(channelId: string): boolean {
    return this.up.has(channelId);
  }

  /** Known answered from here on: its lost answer delivered, or taken up by the reconciliation. */
  answered(channelId: string): void {
    this.stasis.add(channelId);
    this.up.add(channelId);
  }
}

interface LostAnswersHost {
  config: AppConfig;
  logger: Logger;
  boundChannelIds(): string[];
  handleEvent(event: AriEvent): void;
}

/**
 * Legs of ours answered during a WebSocket gap, whose session still waits for the answer: the
 * event that said so is delivered now, as Asterisk would have sent it. An originated leg (an
 * agent's phone) enters Stasis answered, so its lost StasisStart is delivered (the agent heard
 * nothing: fuzzer, seed 18). A created leg was in Stasis before it was dialled, so what was lost
 * is its ChannelStateChange Up (a customer who answered heard nothing until the ring timeout).
 * Returns how many were delivered.
 */
export function deliverLostAnswers(
  host: LostAnswersHost,
  channels: AriChannel[],
  inStasis: ReadonlySet<string>,
  seen: SeenAnswers,
): number {
  const bound = new Set(host.boundChannelIds());
  let delivered = 0;
  for (const ch of channels) {
    if (!bound.has(ch.id) || !inStasis.has(ch.id) || ch.state !== 'Up') continue;
    if (!isOwnChannel(ch.id, host.config.ari.app) || seen.hasAnswer(ch.id)) continue;
    const created = seen.hasStasisStart(ch.id);
    seen.answered(ch.id);
    delivered += 1;
    if (created) {
      host.logger.warn('reconcile: a leg of ours answered in the event gap; its answer is delivered', { channelId: ch.id });
      host.handleEvent({ type: 'ChannelStateChange', channel: ch });
    } else {
      host.logger.warn('reconcile: a leg of ours answered in the event gap; its StasisStart is delivered', { channelId: ch.id });
      host.handleEvent({ type: 'StasisStart', channel: ch, args: [] });
    }
  }
  return delivered;
}
