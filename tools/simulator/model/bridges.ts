/** Bridge model. */
import { asteriskTime } from './support';
import type { SimChannel } from './channels';
import type { SimPlayback } from './playbacks';

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: 'mixing' | 'holding';
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

/** Bridge type flags Asterisk accepts in POST /bridges?type=... */
export const BRIDGE_TYPE_FLAGS = new Set(['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label']);

export class SimBridge {
  readonly channels: SimChannel[] = [];
  /** Apps subscribed to the bridge (apps whose channels were added). */
  readonly apps = new Set<string>();
  readonly creationtime = asteriskTime();
  technology: string;
  mohActive = false;
  mohClass: string | null = null;
  alive = true;
  readonly playbackQueue: SimPlayback[] = [];
  currentPlayback: SimPlayback | null = null;
  playbackStartScheduled = false;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly bridgeType: 'mixing' | 'holding',
    readonly flags: string[],
  ) {
    this.technology = bridgeType === 'holding' ? 'holding_bridge' : 'simple_bridge';
  }

  snapshot(): BridgeJson {
    return {
      id: this.id,
      technology: this.technology,
      bridge_type: this.bridgeType,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: this.name,
      channels: this.channels.map((c) => c.id),
      creationtime: this.creationtime,
      video_mode: 'talker',
    };
  }
}
