import type { AriClient } from 'ari-client';
import type { Logger } from '../logging/logger';
import type { AriChannel } from './ari-events';
import { AriRequestError, CallControl, CreateChannelRequest, OriginateRequest, classifyAriError } from './call-control';
import { AriRestClient, AriRestRequest, AriRestTarget, ariPath } from './rest-client';

/** Longest wait for one ARI request (Asterisk answers in milliseconds when it is up). */
const REQUEST_TIMEOUT_MS = 8000;

/** The waits before a refused hangup is sent again (see `hangup`). */
const HANGUP_RETRY_DELAYS_MS = [250, 500, 1000];

/** ARI's `variables` body, as ari-client sent it: `{ variables: {...} }`, or none. */
function variablesBody(variables: Record<string, string> | undefined): { variables: Record<string, string> } | undefined {
  return variables ? { variables } : undefined;
}

/** The ARI connection as the adapter needs it (AriConnection is one). */
export interface AriLink {
  /** The live client; throws while there is none. */
  current(): AriClient;
  /** Where REST requests go and as whom. */
  readonly restTarget: AriRestTarget;
}

/**
 * CallControl over ARI's REST API. The only file that issues ARI REST requests. They go through
 * our own small client (rest-client.ts) to the connection's Asterisk, with its credentials, while
 * ari-client keeps the WebSocket: ari-client's swagger-built REST path cost more CPU per request
 * than the plugin's own handling of the event that asked for it (issue 21).
 * No connection (`current()` throws) fails each request as a transport error, as ari-client's
 * own REST path did.
 */
export class AriClientCallControl implements CallControl {
  private readonly restClient: AriRestClient;

  constructor(
    private readonly link: AriLink,
    private readonly app: string,
    /** False once this process no longer leads its standby group: no request may leave then. */
    private readonly mayAct: () => boolean = () => true,
    /**
     * Every request is logged at debug level (operation, target, result, ms): on a real Asterisk
     * this is the only record of what the plugin asked and how long Asterisk made it wait (some
     * channel requests wait behind a running playback; shared probes).
     */
    private readonly logger?: Logger,
  ) {
    this.restClient = new AriRestClient(link.restTarget);
  }

  private rest(): AriRestClient {
    this.link.current();
    return this.restClient;
  }

  /**
   * One request, bounded: a request whose connection dies with Asterisk (outage, restart) would
   * otherwise never settle, and the call waiting on it would hang for ever.
   */
  private async send(operation: string, target: string | undefined, request: AriRestRequest): Promise<unknown> {
    if (!this.mayAct())
      throw new AriRequestError(`not sent: this process no longer leads its standby group (${operation})`, 'transport', operation);
    const t0 = this.logger ? performance.now() : 0;
    try {
      const r = await this.rest().request({ ...request, timeoutMs: REQUEST_TIMEOUT_MS });
      this.logger?.debug('ari request', { op: operation, target, result: 'ok', ms: Math.round(performance.now() - t0) });
      return r;
    } catch (e) {
      const err = classifyAriError(operation, e);
      this.logger?.debug('ari request', {
        op: operation,
        target,
        result: err.kind,
        error: err.message.slice(0, 200),
        ms: Math.round(performance.now() - t0),
      });
      throw err;
    }
  }

  async answer(channelId: string): Promise<void> {
    await this.send('answer', channelId, { method: 'POST', path: ariPath('channels', channelId, 'answer') });
  }
  async continueInDialplan(channelId: string, to?: { context: string; extension: string; priority?: number }): Promise<void> {
    await this.send('continueInDialplan', channelId, {
      method: 'POST',
      path: ariPath('channels', channelId, 'continue'),
      query: to ? { context: to.context, extension: to.extension, priority: to.priority ?? 1 } : undefined,
    });
  }
  async setChannelVariable(channelId: string, name: string, value: string): Promise<void> {
    await this.send('setChannelVariable', `${channelId} ${name}`, {
      method: 'POST',
      path: ariPath('channels', channelId, 'variable'),
      query: { variable: name, value },
    });
  }
  /**
   * A hangup Asterisk refused (5xx) is sent again, after 250, 500 and 1000 ms:
   * every caller of it treats the call as over, so a channel left up would sit in Stasis with
   * nobody listening (the fuzzer: agent legs up 6 s after their attempt ended). It is
   * idempotent: a channel already gone answers 404, which ends the retries.
   */
  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' | 'no_answer' = 'normal'): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send('hangup', channelId, { method: 'DELETE', path: ariPath('channels', channelId), query: { reason } });
        return;
      } catch (e) {
        const retryable = e instanceof AriRequestError && e.kind === 'server' && this.mayAct();
        if (!retryable || attempt >= HANGUP_RETRY_DELAYS_MS.length) throw e;
        await new Promise((r) => setTimeout(r, HANGUP_RETRY_DELAYS_MS[attempt]));
      }
    }
  }
  async play(channelId: string, media: string[], playbackId: string, lang?: string): Promise<void> {
    await this.send('play', `${channelId} ${playbackId}`, {
      method: 'POST',
      path: ariPath('channels', channelId, 'play'),
      query: { media, lang, playbackId },
    });
  }
  async stopPlayback(playbackId: string): Promise<void> {
    await this.send('stopPlayback', playbackId, { method: 'DELETE', path: ariPath('playbacks', playbackId) });
  }
  async playbackExists(playbackId: string): Promise<boolean> {
    try {
      await this.send('getPlayback', playbackId, { method: 'GET', path: ariPath('playbacks', playbackId) });
      return true;
    } catch (e) {
      if (e instanceof AriRequestError && e.kind === 'not_found') return false;
      throw e;
    }
  }
  async ring(channelId: string): Promise<void> {
    await this.send('ring', channelId, { method: 'POST', path: ariPath('channels', channelId, 'ring') });
  }
  async ringStop(channelId: string): Promise<void> {
    await this.send('ringStop', channelId, { method: 'DELETE', path: ariPath('channels', channelId, 'ring') });
  }
  async startMoh(channelId: string): Promise<void> {
    await this.send('startMoh', channelId, { method: 'POST', path: ariPath('channels', channelId, 'moh') });
  }
  async stopMoh(channelId: string): Promise<void> {
    await this.send('stopMoh', channelId, { method: 'DELETE', path: ariPath('channels', channelId, 'moh') });
  }
  async createBridge(bridgeId: string, type: 'mixing' | 'holding', name: string): Promise<void> {
    await this.send('createBridge', bridgeId, { method: 'POST', path: '/bridges', query: { type, bridgeId, name } });
  }
  async addToBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    await this.send('addToBridge', `${bridgeId} ${channelIds.join(',')}`, {
      method: 'POST',
      path: ariPath('bridges', bridgeId, 'addChannel'),
      query: { channel: channelIds },
    });
  }
  async destroyBridge(bridgeId: string): Promise<void> {
    await this.send('destroyBridge', bridgeId, { method: 'DELETE', path: ariPath('bridges', bridgeId) });
  }
  async startBridgeMoh(bridgeId: string): Promise<void> {
    await this.send('startBridgeMoh', bridgeId, { method: 'POST', path: ariPath('bridges', bridgeId, 'moh') });
  }
  async stopBridgeMoh(bridgeId: string): Promise<void> {
    await this.send('stopBridgeMoh', bridgeId, { method: 'DELETE', path: ariPath('bridges', bridgeId, 'moh') });
  }
  async originate(req: OriginateRequest): Promise<void> {
    await this.send('originate', req.channelId, {
      method: 'POST',
      path: '/channels',
      query: {
        endpoint: req.endpoint,
        app: this.app,
        appArgs: req.appArgs.join(','),
        callerId: req.callerId,
        timeout: req.timeoutSec,
        channelId: req.channelId,
      },
      body: variablesBody(req.variables),
    });
  }
  async createChannel(req: CreateChannelRequest): Promise<void> {
    await this.send('createChannel', req.channelId, {
      method: 'POST',
      path: '/channels/create',
      query: {
        endpoint: req.endpoint,
        app: this.app,
        appArgs: req.appArgs.join(','),
        channelId: req.channelId,
        originator: req.originator,
      },
      body: variablesBody(req.variables),
    });
  }
  async dial(channelId: string, timeoutSec: number): Promise<void> {
    await this.send('dial', channelId, { method: 'POST', path: ariPath('channels', channelId, 'dial'), query: { timeout: timeoutSec } });
  }
  async getDeviceState(deviceName: string): Promise<string> {
    const r = (await this.send('getDeviceState', deviceName, { method: 'GET', path: ariPath('deviceStates', deviceName) })) as
      { state?: unknown } | undefined;
    return typeof r?.state === 'string' ? r.state : 'UNKNOWN';
  }
  async subscribe(eventSources: string[]): Promise<void> {
    if (eventSources.length === 0) return;
    await this.send('subscribe', undefined, {
      method: 'POST',
      path: ariPath('applications', this.app, 'subscription'),
      query: { eventSource: eventSources },
    });
  }
  async applicationChannelIds(): Promise<string[]> {
    const r = (await this.send('applications.get', this.app, { method: 'GET', path: ariPath('applications', this.app) })) as
      { channel_ids?: unknown } | undefined;
    return Array.isArray(r?.channel_ids) ? r.channel_ids.filter((x): x is string => typeof x === 'string') : [];
  }
  async listChannels(): Promise<AriChannel[]> {
    const r = await this.send('channels.list', undefined, { method: 'GET', path: '/channels' });
    if (!Array.isArray(r)) return [];
    return r.filter((x): x is AriChannel => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string');
  }
  async asteriskInfo(): Promise<{ entityId: string; version: string }> {
    const r = (await this.send('asterisk.getInfo', undefined, { method: 'GET', path: '/asterisk/info' })) as
      { system?: { entity_id?: unknown; version?: unknown } } | undefined;
    return {
      entityId: typeof r?.system?.entity_id === 'string' ? r.system.entity_id : 'unknown',
      version: typeof r?.system?.version === 'string' ? r.system.version : 'unknown',
    };
  }
  async listBridges(): Promise<{ id: string; channels: string[] }[]> {
    const r = await this.send('bridges.list', undefined, { method: 'GET', path: '/bridges' });
    if (!Array.isArray(r)) return [];
    const out: { id: string; channels: string[] }[] = [];
    for (const b of r as { id?: unknown; channels?: unknown }[]) {
      if (typeof b?.id !== 'string') continue;
      out.push({ id: b.id, channels: Array.isArray(b.channels) ? b.channels.filter((x): x is string => typeof x === 'string') : [] });
    }
    return out;
  }
}
