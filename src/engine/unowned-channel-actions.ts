import { randomUUID } from 'node:crypto';
import { AriChannel } from '../ari/ari-events';
import { ChannelSession } from '../calls/call-context';
import { confirmationMedia } from '../calls/callback-booking';
import { isHoldingBridgeOf, legacyHoldingBridgeIdOf, quietBridgeIdOf } from '../calls/channel-ids';
import { HoldingBridges } from '../calls/holding-bridges';
import { Playback, playbackIdsOf } from '../calls/playback';
import { systemClock } from '../domain';
import type { LeftPlaybacks } from './left-playbacks';
import type { ReconcileHost } from './reconciler';

/** Longest a replayed confirmation may take before the caller is hung up anyway (a lost PlaybackFinished). */
const CONFIRMATION_BOUND_MS = 30_000;

/**
 * What the reconciler does to a channel of ours that no session owns, once it has decided what the
 * channel is: a queue caller rejoins its queue or hears its booking confirmed again, an answered
 * pair is kept connected, an unbridged callback attempt is handed to a new session. The reconciler
 * (reconciler.ts) decides; these are the ARI and store steps each decision takes.
 */

/**
 * A queue caller left in Stasis: its predecessor's prompt is stopped and its end awaited first (a
 * real Asterisk would otherwise hold some channel requests until it ends), and the caller rejoins its
 * queue's shared holding bridge. The bridges of its own it may have been left in (a mixing bridge
 * alone, its quiet bridge while typing, a per-caller holding bridge of an older version) are dropped
 * once it is back on hold.
 */
export async function adoptCaller(
  host: ReconcileHost,
  left: LeftPlaybacks,
  ch: AriChannel,
  args: string[],
  bridgeId: string | undefined,
): Promise<void> {
  const { control } = host;
  await left.stop([ch.id]);
  await host.adoptQueueCaller(ch, args, bridgeId);
  await Promise.all(
    [`call-${ch.id}`, quietBridgeIdOf(ch.id), legacyHoldingBridgeIdOf(ch.id)].map((id) => control.destroyBridge(id).catch(() => undefined)),
  );
}

/**
 * A queue's shared holding bridge that Asterisk lists empty and no caller of this process is
 * joining: left by a process that died after its last caller hung up, it would play its music (an
 * Announcer channel pair) to nobody until the queue's next caller came and went. Destroyed.
 */
export async function dropEmptyHoldingBridges(host: ReconcileHost, bridges: { id: string; channels: string[] }[]): Promise<void> {
  const registry = HoldingBridges.of(host.control);
  const empty = bridges.filter((b) => isHoldingBridgeOf(b.id, host.config.ari.app) && b.channels.length === 0);
  for (const b of empty) {
    // Asked at each destroy, not once: a caller may have been put in it since the listing.
    if (registry.members(b.id).length > 0) continue;
    host.logger.info('reconcile: destroying an empty holding bridge left behind', { bridgeId: b.id });
    await host.control.destroyBridge(b.id).catch(() => undefined);
  }
}

/**
 * Plays the confirmation (number read back) again and hangs up. The old process's confirmation is
 * stopped and its REAL end awaited first: a replay started behind a confirmation that ignored its
 * stop (an old `digits:` item) would only queue, and the hang-up would cut it. The replay takes
 * the channel's first restart-safe id, so a process restarted during it can stop it too; bounded
 * if its end never comes.
 */
export async function confirmAndHangUp(
  host: ReconcileHost,
  left: LeftPlaybacks,
  ch: AriChannel,
  number: string,
  lang: string,
): Promise<void> {
  const { control } = host;
  const replay = new Playback({ control, clock: systemClock }, ch.id, playbackIdsOf(ch.id)[0], confirmationMedia(number), lang);
  host.bind(ch.id, {
    kind: 'reconcile-confirm',
    onEvent: (e) => {
      if (e.type === 'StasisEnd' || e.type === 'ChannelHangupRequest') replay.channelGone();
      else replay.onEvent(e);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await left.stop([ch.id]);
    // Bridges of its own are dropped; a shared holding bridge is kept for the others (the replay
    // plays over its music for this caller only).
    await Promise.all(
      [quietBridgeIdOf(ch.id), legacyHoldingBridgeIdOf(ch.id)].map((id) => control.destroyBridge(id).catch(() => undefined)),
    );
    if (await replay.start()) {
      await Promise.race([replay.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, CONFIRMATION_BOUND_MS)))]);
    }
  } finally {
    if (timer) clearTimeout(timer);
    await control.hangup(ch.id, 'normal').catch(() => undefined);
    host.unbind(ch.id);
  }
}

/** The old process's prompts on both legs stopped first (a new guard prompt would queue behind them). */
export async function resumeAttempt(
  host: ReconcileHost,
  left: LeftPlaybacks,
  agentLeg: AriChannel,
  customerLeg: AriChannel,
  callbackId: string,
): Promise<boolean> {
  const { logger } = host;
  // The session's ids derive from the agent leg (the guard's too), so both legs' slots are stopped.
  await left.stop([agentLeg.id, customerLeg.id]);
  try {
    const resumed = await host.resumePreview(agentLeg, customerLeg, callbackId);
    logger.info(
      resumed ? 'reconcile: callback attempt taken up again' : 'reconcile: callback attempt cannot be taken up; its legs are hung up',
      { callbackId, agentChannelId: agentLeg.id, customerChannelId: customerLeg.id, customerState: customerLeg.state },
    );
    return resumed;
  } catch (e) {
    logger.warn('reconcile: could not take up the callback attempt; its legs are hung up', { callbackId, error: String(e) });
    return false;
  }
}

/**
 * Two answered legs left by a lost session: one fresh mixing bridge (moving them out of any old
 * one) and a watcher that hangs up the survivor when one side leaves. For a callback pair the
 * open attempt is stored as answered and the callback completed.
 */
export async function adoptPair(
  host: ReconcileHost,
  left: LeftPlaybacks,
  a: string,
  b: string,
  callbackId: string | undefined,
  existingBridge: string | undefined,
): Promise<void> {
  const { control, logger, store } = host;
  const bridgeId = existingBridge ?? `adopted-${randomUUID()}`;
  let ended = false;
  const end = async (gone: string): Promise<void> => {
    if (ended) return;
    ended = true;
    const other = gone === a ? b : a;
    await control.hangup(other, 'normal').catch(() => undefined);
    await control.destroyBridge(bridgeId).catch(() => undefined);
    setTimeout(() => {
      host.unbind(a);
      host.unbind(b);
    }, 5000).unref();
  };
  const watcher: ChannelSession = {
    kind: 'adopted-call',
    onEvent: (e) => {
      if (e.type === 'StasisEnd' || e.type === 'ChannelDestroyed' || (e.type === 'ChannelHangupRequest' && !e.soft)) void end(e.channel.id);
    },
  };
  host.bind(a, watcher);
  host.bind(b, watcher);
  logger.info('reconcile: two answered legs without a session; keeping them connected', { channels: [a, b], callbackId, bridgeId });
  try {
    if (!existingBridge) {
      // Asterisk holds addChannel until a running playback ends: the old whisper or guard is stopped, and its end awaited, first.
      await left.stop([a, b]);
      await control.createBridge(bridgeId, 'mixing', 'adopted call');
      await control.addToBridge(bridgeId, [a, b]);
    }
  } catch (e) {
    logger.warn('reconcile: could not bridge the adopted legs; hanging up', { error: String(e) });
    await end(a);
    await control.hangup(a, 'normal').catch(() => undefined);
  }
  if (callbackId === undefined) return;
  try {
    const attempt = (await store.attempts(callbackId)).find((x) => x.endedAt === null && x.customerChannelId === b);
    if (!attempt) return;
    const now = new Date();
    if (!existingBridge) await store.markAttempt(attempt.id, callbackId, 'customer_answered', { now });
    await store.markAttempt(attempt.id, callbackId, 'bridged', { now });
    const stored = await store.finishAttempt({
      attemptId: attempt.id,
      callbackId,
      outcome: 'answered',
      nextStatus: 'completed',
      countsAsAttempt: true,
      reason: 'bridged after reconciliation',
      now,
    });
    host.callbackAttemptEnded(stored);
  } catch (e) {
    logger.warn('reconcile: could not store the adopted callback as completed; the lease expiry settles it', {
      callbackId,
      error: String(e),
    });
  }
}
