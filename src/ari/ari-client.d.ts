// The slice of ari-client 2.2.0 this project uses (it ships no types). Only src/ari/ imports it.
declare module 'ari-client' {
  import { EventEmitter } from 'node:events';

  type Params = Record<string, string | number | boolean | string[] | Record<string, string> | undefined>;
  type Op<R = unknown> = (params?: Params) => Promise<R>;

  export interface AriClientChannels {
    list: Op<unknown[]>;
    get: Op;
    originate: Op;
    originateWithId: Op;
    create: Op;
    dial: Op;
    answer: Op;
    continueInDialplan: Op;
    hangup: Op;
    ring: Op;
    ringStop: Op;
    play: Op;
    startMoh: Op;
    stopMoh: Op;
    setChannelVar: Op;
  }
  export interface AriClientBridges {
    list: Op<unknown[]>;
    create: Op;
    createWithId: Op;
    destroy: Op;
    addChannel: Op;
    removeChannel: Op;
    startMoh: Op;
    stopMoh: Op;
    play: Op;
  }
  export interface AriClient extends EventEmitter {
    channels: AriClientChannels;
    bridges: AriClientBridges;
    playbacks: { get: Op; stop: Op };
    deviceStates: { get: Op; list: Op<unknown[]> };
    endpoints: { get: Op; list: Op<unknown[]> };
    applications: { get: Op; subscribe: Op; list: Op<unknown[]> };
    asterisk: { getInfo: Op };
    start(apps: string | string[], subscribeAll?: boolean): Promise<void>;
    stop(): void;
    /** The event socket (ws 6) of the last start(); replaced by each of ari-client's reconnects. */
    _ws?: EventEmitter & { terminate(): void; readyState: number };
  }
  export function connect(url: string, user: string, password: string): Promise<AriClient>;
}
