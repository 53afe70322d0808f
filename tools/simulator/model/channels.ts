/** Channel model: what a channel snapshot looks like and the per-channel state the simulator keeps. */
import { asteriskTime, type CallerId } from './support';
import type { SimBridge } from './bridges';
import type { SimPlayback } from './playbacks';
import type { LegBehaviour } from './endpoints';

export type ChannelState = 'Down' | 'Ring' | 'Ringing' | 'Up';
/** inbound = arrived through the dialplan; originate = POST /channels; create = POST /channels/create. */
export type ChannelKind = 'inbound' | 'originate' | 'create';

export interface Dialplan {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: CallerId;
  connected: CallerId;
  accountcode: string;
  dialplan: Dialplan;
  creationtime: string;
  language: string;
}

export type LegPhase = 'idle' | 'dialing' | 'ringing' | 'answered' | 'failed';

export class SimChannel {
  state: ChannelState;
  caller: CallerId;
  connected: CallerId = { name: '', number: '' };
  accountcode = '';
  language = 'en';
  dialplan: Dialplan;
  readonly creationtime: string;
  readonly createdAt = Date.now();
  /** The Stasis application subscribed to this channel (events go there). */
  app: string | null = null;
  inStasis = false;
  stasisArgs: string[] = [];
  /** Where POST /channels/{id}/continue sent the channel back into the dialplan (null: never). */
  continuedTo: { context: string; exten: string; priority: number; label: string | undefined } | null = null;
  /** false once a hangup was requested: REST then answers 404. */
  alive = true;
  readonly vars = new Map<string, string>();
  bridge: SimBridge | null = null;
  mohActive = false;
  mohClass: string | null = null;
  readonly playbackQueue: SimPlayback[] = [];
  currentPlayback: SimPlayback | null = null;
  playbackStartScheduled = false;
  /** All playbacks that targeted this channel (or its bridge while it was in it). */
  readonly playbackHistory: SimPlayback[] = [];
  hungUpBy: 'far-end' | 'app' | 'network' | null = null;
  destroyedCause: number | null = null;
  /** Outbound leg progress (originate/create legs). */
  legPhase: LegPhase = 'idle';
  /** For outbound legs: what the called phone displays. */
  displayedCaller: CallerId | null = null;
  /** Explicitly set by CONNECTEDLINE(...) variables. */
  connectedExplicit = false;
  originatorId: string | null = null;
  dialTimer: NodeJS.Timeout | null = null;
  /** How the leg is being dialled: 'originate' (POST /channels) or 'dial' (POST /channels/{id}/dial). */
  dialMode: 'originate' | 'dial' | null = null;
  behaviour: LegBehaviour | null = null;
  /** The endpoint string given to originate/create, e.g. "PJSIP/5559876@trunk". */
  targetEndpoint: string | null = null;
  answerTimer: NodeJS.Timeout | null = null;
  /** Whether the leg has been answered (reached Up through a dial). */
  answered = false;
  /** SIP final response the caller got when declined (inbound) or rejected (outbound). */
  sipCode: number | null = null;
  /** Resolvers waiting for the channel's control queue to have no playback. */
  idleWaiters: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly kind: ChannelKind,
    readonly endpointKey: string,
    readonly dialString: string,
    readonly protocolId: string,
    init: { state: ChannelState; caller: CallerId; dialplan: Dialplan },
  ) {
    this.state = init.state;
    this.caller = { ...init.caller };
    this.dialplan = { ...init.dialplan };
    this.creationtime = asteriskTime(new Date(this.createdAt));
  }

  snapshot(): ChannelJson {
    return {
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: this.protocolId,
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: this.accountcode,
      dialplan: { ...this.dialplan },
      creationtime: this.creationtime,
      language: this.language,
    };
  }

  enterStasisDialplan(app: string, args: string[]): void {
    this.dialplan = { ...this.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
  }

  get playbackBusy(): boolean {
    return this.currentPlayback !== null || this.playbackQueue.length > 0 || this.playbackStartScheduled;
  }
}
