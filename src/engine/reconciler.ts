import { AriChannel, AriEvent, channelIdOf } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { AppConfig } from '../config/config';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { ChannelSession } from '../calls/call-context';
import { promptLanguageFor } from '../calls/prompts';
import { playbackIdsOf } from '../calls/playback';
import { isOwnChannel } from '../calls/channel-ids';
import { LeftPlaybacks } from './left-playbacks';
import { deliverLostAnswers, SeenAnswers } from './lost-answers';
import { adoptCaller, adoptPair, confirmAndHangUp, dropEmptyHoldingBridges, resumeAttempt } from './unowned-channel-actions';

/**
 * Reconciliation after every ARI (re)connection, and after a restart of the process. Asterisk
 * replays nothing after a WebSocket gap, and a restarted process knows none of the channels its
 * predecessor left in Stasis, so what the app believes is compared with `GET /channels`,
 * `GET /applications/{app}` and the bridges, and every difference is settled:
 *
 * 1. A channel a session owns that no longer exists: the session gets the StasisEnd and
 *    ChannelDestroyed it missed and closes out through its normal path. Only channels seen alive
 *    count (a preview session binds its customer channel id before the channel exists).
 * 2. A playback whose end was not seen: stopped; if Asterisk no longer knows it, the missed
 *    PlaybackFinished is delivered, since an offer loop or a confirmation may be waiting for it.
 * 3. A channel of ours that no session owns, by the Stasis arguments it carries:
 *    - a queue caller whose number has an open callback in that queue: confirmed again, hung up;
 *    - a queue caller with an answered agent leg (`agent-live`): both bridged and watched;
 *    - any other queue caller: adopted by a new queue session at the place stored for its
 *      channel (or its channel's creation time when none is stored), so it keeps its place;
 *    - an agent leg and a customer leg of one callback, bridged (or both answered without an
 *      answering-machine guard): kept connected, and the attempt stored as answered, so that a
 *      lease expiry never dials the customer again;
 *    - an answered agent leg whose customer leg is not bridged yet: the attempt is taken up by a
 *      new session (PreviewCallSession.resume), or both legs are hung up if it cannot be;
 *    - a direct call with its agent leg answered: bridged and watched;
 *    - anything else: hung up, its attempt left to the lease expiry.
 *    Channels of ours ringing outside Stasis (an agent leg a crashed process originated) are
 *    hung up too.
 * Nothing stored is touched except to complete an attempt that demonstrably reached the customer.
 * The steps taken for each unowned channel live in unowned-channel-actions.ts.
 */
export interface ReconcileHost {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly logger: Logger;
  /** Channel ids some session owns right now. */
  boundChannelIds(): string[];
  /** Routes an event as if it came from ARI. */
  handleEvent(event: AriEvent): void;
  bind(channelId: string, session: ChannelSession): void;
  unbind(channelId: string): void;
  callbackAttemptEnded(stored: StoredCallback): void;
  dispatchSoon(): void;
  /**
   * A queue caller left in Stasis by a previous process joins its queue again, at its place;
   * `bridgeId` is the bridge Asterisk lists it in (its holding bridge is then kept as it is).
   */
  adoptQueueCaller(channel: AriChannel, args: string[], bridgeId: string | undefined): Promise<void>;
  /**
   * An agent-first attempt left after the agent's 1 (agent answered, customer dialled, not
   * bridged) is taken up by a new session; false when it cannot be (the legs are then hung up).
   */
  resumePreview(agentLeg: AriChannel, customerLeg: AriChannel, callbackId: string): Promise<boolean>;
}

export interface ReconcileReport {
  sessionsClosed: number;
  /** Legs of ours answered in the gap whose StasisStart was delivered late. */
  answersDelivered: number;
  playbacksSettled: number;
  adoptedCallers: number;
  confirmedAndHungUp: number;
  pairsBridged: number;
  /** Agent-first attempts taken up again after the agent's 1 (PreviewCallSession.resume). */
  attemptsResumed: number;
  hungUp: number;
}

function emptyReport(): ReconcileReport {
  return {
    sessionsClosed: 0,
    answersDelivered: 0,
    playbacksSettled: 0,
    adoptedCallers: 0,
    confirmedAndHungUp: 0,
    pairsBridged: 0,
    attemptsResumed: 0,
    hungUp: 0,
  };
}

function stasisArgs(channel: AriChannel, app: string): string[] | undefined {
  const d = channel.dialplan;
  if (!d || d.app_name !== 'Stasis' || typeof d.app_data !== 'string') return undefined;
  const [name, ...args] = d.app_data.split(',');
  return name === app ? args : undefined;
}

export class Reconciler {
  /** Channels seen alive in events (removed when they end). */
  private readonly alive = new Set<string>();
  /** Playbacks started and not seen finished: id -> target channel. */
  private readonly playing = new Map<string, string>();
  /**
   * Channels whose end was seen while a reconciliation runs. Its listing may predate a hang-up
   * whose StasisEnd arrived before any session owned the channel again: such a channel is not
   * adopted, and one adopted meanwhile is closed out after (else its session would wait forever
   * for an end already delivered).
   */
  private endedDuringRun: Set<string> | undefined;
  /** Which channels' StasisStart and answer this process saw (or adopted), until their end. */
  private readonly seen = new SeenAnswers();
  private running: Promise<ReconcileReport> | undefined;
  private again = false;
  /** What a previous process left playing on the channels adopted now (stopped, and their end awaited). */
  private readonly left: LeftPlaybacks;

  constructor(private readonly host: ReconcileHost) {
    this.left = new LeftPlaybacks(host.control);
  }

  /** A session asked for a play: it counts as playing from now (its PlaybackStarted may be lost). */
  playRequested(playbackId: string, channelId: string): void {
    this.playing.set(playbackId, channelId);
  }

  /** Asterisk refused the play: nothing plays. */
  playRefused(playbackId: string): void {
    this.playing.delete(playbackId);
  }

  /** Called for every ARI event before it is routed (cheap: a few map operations). */
  observe(event: AriEvent): void {
    this.left.observe(event);
    switch (event.type) {
      case 'PlaybackStarted': {
        const id = event.playback?.id;
        if (typeof id === 'string') this.playing.set(id, channelIdOf(event) ?? '');
        return;
      }
      case 'PlaybackFinished': {
        const id = event.playback?.id;
        if (typeof id === 'string') this.playing.delete(id);
        return;
      }
      case 'StasisEnd':
      case 'ChannelDestroyed': {
        const id = event.channel?.id;
        if (typeof id === 'string') {
          this.alive.delete(id);
          this.endedDuringRun?.add(id);
          this.seen.forget(id);
          for (const pb of playbackIdsOf(id)) this.playing.delete(pb);
        }
        return;
      }
      case 'StasisStart':
      case 'ChannelStateChange':
        this.seen.observe(event);
        this.alive.add(event.channel.id);
        return;
      case 'DeviceStateChanged':
        return;
      default: {
        const id = channelIdOf(event);
        if (typeof id === 'string') this.alive.add(id);
      }
    }
  }

  /** Runs one reconciliation; a call while one runs schedules exactly one more after it. */
  reconcile(): Promise<ReconcileReport> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.endedDuringRun = new Set();
    this.running = this.run()
      .catch((e: unknown) => {
        this.host.logger.warn('reconciliation failed; it runs again at the next connection', {
          error: e instanceof Error ? e.message : String(e),
        });
        return emptyReport();
      })
      .finally(() => {
        this.running = undefined;
        this.endedDuringRun = undefined;
        if (this.again) {
          this.again = false;
          void this.reconcile();
        }
      });
    return this.running;
  }

  private async run(): Promise<ReconcileReport> {
    const { control, logger, config } = this.host;
    const report = emptyReport();
    // Taken before the listing: a channel that enters later is not "vanished" (it was not listed yet).
    const boundBefore = this.host.boundChannelIds().filter((id) => this.alive.has(id));
    const playingBefore = [...this.playing];
    const [channels, appIds, bridges] = await Promise.all([control.listChannels(), control.applicationChannelIds(), control.listBridges()]);
    const bridgeOf = new Map<string, string>();
    for (const b of bridges) for (const c of b.channels) bridgeOf.set(c, b.id);
    const together = (x: string, y: string): boolean => bridgeOf.get(x) !== undefined && bridgeOf.get(x) === bridgeOf.get(y);
    const byId = new Map(channels.map((c) => [c.id, c]));
    const inStasis = new Set(appIds);

    // 1b first: legs of ours answered during the gap (lost-answers.ts), before the relisting and
    // the housekeeping below: the person on the line hears nothing until this runs.
    report.answersDelivered += deliverLostAnswers(this.host, channels, inStasis, this.seen);

    // 1. sessions whose channels vanished during the gap. A channel closed out here is never
    // hung up (its session takes it for gone), so absence from one listing is not enough: a
    // second listing must agree (the fuzzer saw an agent leg closed out and left up in Stasis).
    const missing = boundBefore.filter((id) => !byId.has(id) && this.alive.has(id));
    const relisted = missing.length > 0 ? new Set((await control.listChannels()).map((c) => c.id)) : new Set<string>();
    for (const id of missing) {
      if (relisted.has(id) || !this.alive.has(id)) continue;
      this.alive.delete(id);
      report.sessionsClosed += 1;
      logger.info('reconcile: channel vanished during the event gap; closing it out', { channelId: id });
      this.closeOut(id);
    }

    // 2. playbacks whose end may have been lost. Asked, not stopped: a stop cut short a prompt
    // still playing after a blip (a confirmation's number), and Asterisk ignores a stop during
    // `digits:` anyway. One that is gone finished in the gap: its session gets the end it waits for.
    await Promise.all(
      playingBefore.map(async ([playbackId, channelId]) => {
        if (!this.playing.has(playbackId)) return;
        if (!byId.has(channelId)) {
          this.playing.delete(playbackId);
          return;
        }
        const exists = await control.playbackExists(playbackId).catch(() => true);
        if (exists || !this.playing.has(playbackId)) return;
        this.playing.delete(playbackId);
        report.playbacksSettled += 1;
        this.host.handleEvent({
          type: 'PlaybackFinished',
          playback: { id: playbackId, media_uri: '', target_uri: `channel:${channelId}`, state: 'done' },
        });
      }),
    );

    // Housekeeping, after what people on the line wait for.
    await dropEmptyHoldingBridges(this.host, bridges);

    // 3. channels of ours nobody owns
    const bound = new Set(this.host.boundChannelIds());
    const orphans = channels.filter((c) => !bound.has(c.id) && (inStasis.has(c.id) || isOwnChannel(c.id, config.ari.app)));
    if (orphans.length === 0) return report;
    const argsOf = new Map(orphans.map((c) => [c.id, stasisArgs(c, config.ari.app)]));
    const open = await this.host.store.listOpen();
    const handled = new Set<string>();

    // A channel that ended after the listing (its session ended and unbound it, so it looks
    // unowned here) is never adopted: adopted, a pair stayed routed until the next gap (fuzzer).
    const ended = this.endedDuringRun ?? new Set<string>();

    // pairs first: a caller with an answered agent leg, an agent leg with an answered customer leg
    for (const leg of orphans) {
      const args = argsOf.get(leg.id);
      if (!args || !inStasis.has(leg.id) || leg.state !== 'Up' || ended.has(leg.id)) continue;
      const [kind, ref] = args;
      if (kind === 'agent-live' || kind === 'direct-agent') {
        const caller = ref !== undefined ? byId.get(ref) : undefined;
        if (caller && !bound.has(caller.id) && inStasis.has(caller.id) && !handled.has(caller.id) && !ended.has(caller.id)) {
          await adoptPair(
            this.host,
            this.left,
            caller.id,
            leg.id,
            undefined,
            together(caller.id, leg.id) ? bridgeOf.get(leg.id) : undefined,
          );
          handled.add(caller.id).add(leg.id);
          report.pairsBridged += 1;
        }
      } else if (kind === 'agent' && ref !== undefined) {
        const customer = orphans.find(
          (c) =>
            argsOf.get(c.id)?.[0] === 'customer' &&
            argsOf.get(c.id)?.[1] === ref &&
            inStasis.has(c.id) &&
            !handled.has(c.id) &&
            !ended.has(c.id),
        );
        if (!customer) continue;
        // With the answering-machine guard on, two answered legs not yet bridged may be a
        // voicemail that has not pressed 1 yet: the attempt is taken up again at the guard, as is
        // one whose customer is still ringing. Bridged (or answered without a guard): kept connected.
        const guardOn = this.guardEnabledFor(open.find((cb) => cb.id === ref)?.queueId);
        if (customer.state === 'Up' && (together(leg.id, customer.id) || !guardOn)) {
          await adoptPair(this.host, this.left, leg.id, customer.id, ref, together(leg.id, customer.id) ? bridgeOf.get(leg.id) : undefined);
          handled.add(leg.id).add(customer.id);
          report.pairsBridged += 1;
        } else if (await resumeAttempt(this.host, this.left, leg, customer, ref)) {
          handled.add(leg.id).add(customer.id);
          report.attemptsResumed += 1;
        }
      }
    }

    const adoptions: Promise<void>[] = [];
    for (const ch of orphans) {
      if (handled.has(ch.id)) continue;
      if (ended.has(ch.id)) {
        logger.info('reconcile: channel ended after the listing; not adopted', { channelId: ch.id });
        continue;
      }
      const args = argsOf.get(ch.id);
      const [kind, target] = args ?? [];
      if (kind === 'queue' && target !== undefined && inStasis.has(ch.id) && !isOwnChannel(ch.id, config.ari.app)) {
        // The request this very call made (it may be for another number the caller typed), or
        // one already open for the caller's number in that queue.
        const booked =
          open.find((cb) => cb.sourceChannelId === ch.id) ??
          open.find((cb) => cb.queueId === target && cb.customerNumber === ch.caller.number);
        if (booked) {
          report.confirmedAndHungUp += 1;
          logger.info('reconcile: caller already has a stored callback; confirming again and hanging up', {
            channelId: ch.id,
            callbackId: booked.id,
          });
          void confirmAndHangUp(
            this.host,
            this.left,
            ch,
            booked.customerNumber,
            promptLanguageFor(
              booked.language,
              config.queues.find((q) => q.id === booked.queueId),
            ),
          );
        } else {
          report.adoptedCallers += 1;
          logger.info('reconcile: adopting a caller left in Stasis into its queue again', { channelId: ch.id, queueId: target });
          handled.add(ch.id);
          adoptions.push(adoptCaller(this.host, this.left, ch, args ?? [], bridgeOf.get(ch.id)));
        }
        continue;
      }
      report.hungUp += 1;
      logger.info('reconcile: hanging up a channel no session owns', { channelId: ch.id, args: args ?? null, state: ch.state });
      await control.hangup(ch.id, 'normal').catch(() => undefined);
    }
    await Promise.all(adoptions);
    for (const id of handled) {
      const ch = byId.get(id);
      if (ch) this.seen.adopted(ch);
    }
    // Ended while being adopted (before its new session was bound to it): its end is delivered again.
    const owned = new Set(this.host.boundChannelIds());
    for (const id of ended) {
      if (!owned.has(id) || !handled.has(id)) continue;
      report.sessionsClosed += 1;
      logger.info('reconcile: channel ended while it was adopted; closing it out', { channelId: id });
      this.closeOut(id);
    }
    this.host.dispatchSoon();
    if (
      report.answersDelivered +
        report.pairsBridged +
        report.attemptsResumed +
        report.adoptedCallers +
        report.confirmedAndHungUp +
        report.hungUp >
      0
    )
      logger.info('reconciliation done', { ...report });
    return report;
  }

  /** Delivers a channel's end (hang-up, StasisEnd, destroyed) to whatever session owns it. */
  private closeOut(id: string): void {
    const gone: AriChannel = { id, name: id, state: 'Down', caller: { name: '', number: '' }, connected: { name: '', number: '' } };
    this.host.handleEvent({ type: 'ChannelHangupRequest', channel: gone });
    this.host.handleEvent({ type: 'StasisEnd', channel: gone });
    this.host.handleEvent({ type: 'ChannelDestroyed', channel: gone, cause: 16, cause_txt: 'Normal Clearing' });
  }

  /** Unknown queue (owed direct callbacks): the guard is assumed, the cautious choice. */
  private guardEnabledFor(queueId: string | undefined): boolean {
    const q = this.host.config.queues.find((x) => x.id === queueId) as { guard?: { enabled?: boolean } } | undefined;
    return q?.guard?.enabled ?? true;
  }
}
