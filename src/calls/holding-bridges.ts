import { alreadyExists, CallControl } from '../ari/call-control';
import { holdingBridgeIdOf } from './channel-ids';

interface SharedBridge {
  /** Callers this process holds in it (joining, or in it). */
  readonly members: Set<string>;
  /** The bridge made (or found) and its music started: once per bridge per process. */
  ready: Promise<void> | undefined;
  /** Its destruction after the last caller left; a caller who joins meanwhile waits for it, then makes it anew. */
  closing: Promise<void> | undefined;
}

/**
 * Callers one holding bridge takes. Asterisk sends the bridge's whole channel list with every
 * ChannelEnteredBridge and ChannelLeftBridge: in one bridge of 10,000 callers each arrival or
 * departure was a 400 KB event to build, send and decode (the simulator bench's profile, issue 21:
 * its validation and sending were most of the simulator's time and the plugin's decoding its
 * longest tasks). At 100 an event stays near 4 KB, and the music costs one Announcer pair per 100
 * callers, against one per caller in the design before the shared bridges.
 */
export const HOLDING_BRIDGE_CAPACITY = 100;

/**
 * The holding bridges a process shares among its queue callers (one per queue and per
 * HOLDING_BRIDGE_CAPACITY callers: holdingBridgeIdOf). One bridge with its music started once costs
 * Asterisk what app_queue costs for the same callers; a bridge per caller costs 2.5 times as much,
 * since each bridge's music is its own Announcer channel pair (docs/asterisk-facts.md, "One
 * holding bridge shared by a queue's callers").
 *
 * The bridge is made when its first caller joins and destroyed when its last caller leaves: an
 * empty bridge would play music (an Announcer pair) to nobody. Within the process the steps on one
 * bridge are ordered, so a caller who joins while the bridge is being destroyed gets a new one.
 */
export class HoldingBridges {
  private static readonly perControl = new WeakMap<CallControl, HoldingBridges>();
  private readonly bridges = new Map<string, SharedBridge>();
  /** Each queue's bridge ids by shard, keyed by app and queue (place). */
  private readonly shardIds = new Map<string, string[]>();

  private constructor(private readonly control: CallControl) {}

  /** The registry of the process that talks to Asterisk through `control`. */
  static of(control: CallControl): HoldingBridges {
    let r = HoldingBridges.perControl.get(control);
    if (!r) {
      r = new HoldingBridges(control);
      HoldingBridges.perControl.set(control, r);
    }
    return r;
  }

  /**
   * The bridge a new caller of `app`'s queue joins: the first of the queue's bridges
   * (holdingBridgeIdOf: shard 0, 1, ...) with room, counting the callers still joining. The caller
   * is counted in it from now on (call `join` next), so callers arriving together are spread as
   * they come.
   */
  place(app: string, queueId: string, channelId: string, capacity = HOLDING_BRIDGE_CAPACITY): string {
    // The ids of a queue's bridges, made once: an arrival at 10,000 held looks at 100 sizes, no strings.
    const key = `${app}\u0000${queueId}`;
    let ids = this.shardIds.get(key);
    if (!ids) this.shardIds.set(key, (ids = []));
    for (let shard = 0; ; shard++) {
      if (shard === ids.length) ids.push(holdingBridgeIdOf(app, queueId, shard));
      const id = ids[shard];
      const b = this.bridge(id);
      if (b.members.has(channelId) || b.members.size < capacity) {
        b.members.add(channelId);
        return id;
      }
    }
  }

  /**
   * `channelId` is one of the bridge's callers from now on; resolves when the bridge exists with
   * its music. With `alreadyIn` (an adopted caller Asterisk lists in the bridge) the bridge is not
   * made, only its music started once (the previous process may have died before starting it);
   * the result says whether the bridge was still there to be found (false: it was destroyed
   * meanwhile, and the caller must be added to the one now made).
   */
  async join(bridgeId: string, channelId: string, name: string, alreadyIn = false): Promise<boolean> {
    const b = this.bridge(bridgeId);
    b.members.add(channelId);
    let found = alreadyIn;
    if (b.closing) {
      await b.closing;
      found = false;
    }
    if (!b.ready) {
      const ready = found ? this.control.startBridgeMoh(bridgeId) : this.make(bridgeId, name);
      b.ready = ready;
      // A failure is not kept: the next caller tries again.
      ready.catch(() => {
        if (b.ready === ready) b.ready = undefined;
      });
    }
    await b.ready;
    return found;
  }

  /** The bridge was found gone (destroyed outside this process): the next join makes it again. */
  forget(bridgeId: string): void {
    const b = this.bridges.get(bridgeId);
    if (b) b.ready = undefined;
  }

  /** `channelId` left; the last caller out destroys the bridge (already gone is fine). */
  async leave(bridgeId: string, channelId: string): Promise<void> {
    const b = this.bridges.get(bridgeId);
    if (!b || !b.members.delete(channelId) || b.members.size > 0) return;
    const ready = b.ready;
    b.ready = undefined;
    const closing = (async () => {
      await ready?.catch(() => undefined);
      await this.control.destroyBridge(bridgeId).catch(() => undefined);
    })();
    b.closing = closing;
    await closing;
    if (b.closing === closing) b.closing = undefined;
    if (b.members.size === 0 && !b.ready && !b.closing) this.bridges.delete(bridgeId);
  }

  /** The callers this process holds in the bridge (for tests and the reconciler). */
  members(bridgeId: string): readonly string[] {
    return [...(this.bridges.get(bridgeId)?.members ?? [])];
  }

  private bridge(bridgeId: string): SharedBridge {
    let b = this.bridges.get(bridgeId);
    if (!b) {
      b = { members: new Set(), ready: undefined, closing: undefined };
      this.bridges.set(bridgeId, b);
    }
    return b;
  }

  /** Made, or found (a bridge a previous process left is reused), then its music started. */
  private async make(bridgeId: string, name: string): Promise<void> {
    await this.control.createBridge(bridgeId, 'holding', name).catch((e: unknown) => {
      if (!alreadyExists(e)) throw e;
    });
    await this.control.startBridgeMoh(bridgeId);
  }
}
