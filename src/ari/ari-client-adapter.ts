import type { AriClient } from 'ari-client';
import type { Logger } from '../logging/logger';
import type { AriChannel } from './ari-events';
import { AriRequestError, CallControl, CreateChannelRequest, OriginateRequest, classifyAriError } from './call-control';

/** Longest wait for one ARI request (Asterisk answers in milliseconds when it is up). */
const REQUEST_TIMEOUT_MS = 8000;

/** The waits before a refused hangup is sent again (see `hangup`). */
const HANGUP_RETRY_DELAYS_MS = [250, 500, 1000];

/** CallControl over an ari-client connection. The only file that issues ARI REST requests. */
export class AriClientCallControl implements CallControl {
  constructor(
    private readonly client: () => AriClient,
    private readonly app: string,
    /** False once this process no longer leads its standby group: no request may leave then. */
    private readonly mayAct: () => boolean = () => true,
    /**
     * Every request is logged at debug level (operation, target, result, ms): on a real Asterisk
     * this is the only record of what the plugin asked and how long Asterisk made it wait (some
     * channel requests wait behind a running playback; shared probes).
     */
    private readonly logger?: Logger,
  ) {}

  private async run(operation: string, target: string | undefined, fn: (c: AriClient) => Promise<unknown>): Promise<unknown> {
    if (!this.mayAct())
      throw new AriRequestError(`not sent: this process no longer leads its standby group (${operation})`, 'transport', operation);
    // ari-client has no request timeout: a request whose connection dies with Asterisk (outage,
    // restart) may never settle, and the call waiting on it would hang for ever. Bound it.
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    try {
      const r = await Promise.race([
        fn(this.client()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new AriRequestError(`ETIMEDOUT: no answer to ${operation} in ${REQUEST_TIMEOUT_MS} ms`, 'transport', operation)),
            REQUEST_TIMEOUT_MS,
          );
        }),
      ]);
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
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async answer(channelId: string): Promise<void> {
    await this.run('answer', channelId, (c) => c.channels.answer({ channelId }));
  }
  async continueInDialplan(channelId: string, to?: { context: string; extension: string; priority?: number }): Promise<void> {
    await this.run('continueInDialplan', channelId, (c) =>
      c.channels.continueInDialplan(
        to ? { channelId, context: to.context, extension: to.extension, priority: to.priority ?? 1 } : { channelId },
      ),
    );
  }
  async setChannelVariable(channelId: string, name: string, value: string): Promise<void> {
    await this.run('setChannelVariable', `${channelId} ${name}`, (c) => c.channels.setChannelVar({ channelId, variable: name, value }));
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
        await this.run('hangup', channelId, (c) => c.channels.hangup({ channelId, reason }));
        return;
      } catch (e) {
        const retryable = e instanceof AriRequestError && e.kind === 'server' && this.mayAct();
        if (!retryable || attempt >= HANGUP_RETRY_DELAYS_MS.length) throw e;
        await new Promise((r) => setTimeout(r, HANGUP_RETRY_DELAYS_MS[attempt]));
      }
    }
  }
  async play(channelId: string, media: string[], playbackId: string, lang?: string): Promise<void> {
    await this.run('play', `${channelId} ${playbackId}`, (c) =>
      c.channels.play({ channelId, media, playbackId, ...(lang !== undefined ? { lang } : {}) }),
    );
  }
  async stopPlayback(playbackId: string): Promise<void> {
    await this.run('stopPlayback', playbackId, (c) => c.playbacks.stop({ playbackId }));
  }
  async ring(channelId: string): Promise<void> {
    await this.run('ring', channelId, (c) => c.channels.ring({ channelId }));
  }
  async ringStop(channelId: string): Promise<void> {
    await this.run('ringStop', channelId, (c) => c.channels.ringStop({ channelId }));
  }
  async startMoh(channelId: string): Promise<void> {
    await this.run('startMoh', channelId, (c) => c.channels.startMoh({ channelId }));
  }
  async stopMoh(channelId: string): Promise<void> {
    await this.run('stopMoh', channelId, (c) => c.channels.stopMoh({ channelId }));
  }
  async createBridge(bridgeId: string, type: 'mixing' | 'holding', name: string): Promise<void> {
    await this.run('createBridge', bridgeId, (c) => c.bridges.create({ bridgeId, type, name }));
  }
  async addToBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    await this.run('addToBridge', `${bridgeId} ${channelIds.join(',')}`, (c) => c.bridges.addChannel({ bridgeId, channel: channelIds }));
  }
  async destroyBridge(bridgeId: string): Promise<void> {
    await this.run('destroyBridge', bridgeId, (c) => c.bridges.destroy({ bridgeId }));
  }
  async startBridgeMoh(bridgeId: string): Promise<void> {
    await this.run('startBridgeMoh', bridgeId, (c) => c.bridges.startMoh({ bridgeId }));
  }
  async stopBridgeMoh(bridgeId: string): Promise<void> {
    await this.run('stopBridgeMoh', bridgeId, (c) => c.bridges.stopMoh({ bridgeId }));
  }
  async originate(req: OriginateRequest): Promise<void> {
    await this.run('originate', req.channelId, (c) =>
      c.channels.originate({
        endpoint: req.endpoint,
        app: this.app,
        appArgs: req.appArgs.join(','),
        callerId: req.callerId,
        timeout: req.timeoutSec,
        channelId: req.channelId,
        variables: req.variables,
      }),
    );
  }
  async createChannel(req: CreateChannelRequest): Promise<void> {
    await this.run('createChannel', req.channelId, (c) =>
      c.channels.create({
        endpoint: req.endpoint,
        app: this.app,
        appArgs: req.appArgs.join(','),
        channelId: req.channelId,
        originator: req.originator,
        variables: req.variables,
      }),
    );
  }
  async dial(channelId: string, timeoutSec: number): Promise<void> {
    await this.run('dial', channelId, (c) => c.channels.dial({ channelId, timeout: timeoutSec }));
  }
  async getDeviceState(deviceName: string): Promise<string> {
    const r = (await this.run('getDeviceState', deviceName, (c) => c.deviceStates.get({ deviceName }))) as { state?: unknown };
    return typeof r.state === 'string' ? r.state : 'UNKNOWN';
  }
  async subscribe(eventSources: string[]): Promise<void> {
    if (eventSources.length === 0) return;
    await this.run('subscribe', undefined, (c) => c.applications.subscribe({ applicationName: this.app, eventSource: eventSources }));
  }
  async applicationChannelIds(): Promise<string[]> {
    const r = (await this.run('applications.get', this.app, (c) => c.applications.get({ applicationName: this.app }))) as {
      channel_ids?: unknown;
    };
    return Array.isArray(r.channel_ids) ? r.channel_ids.filter((x): x is string => typeof x === 'string') : [];
  }
  async listChannels(): Promise<AriChannel[]> {
    const r = await this.run('channels.list', undefined, (c) => c.channels.list());
    if (!Array.isArray(r)) return [];
    // ari-client wraps each item in a resource instance whose own fields are the channel JSON.
    return r.filter((x): x is AriChannel => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string');
  }
  async asteriskInfo(): Promise<{ entityId: string; version: string }> {
    const r = (await this.run('asterisk.getInfo', undefined, (c) => c.asterisk.getInfo())) as {
      system?: { entity_id?: unknown; version?: unknown };
    };
    return {
      entityId: typeof r.system?.entity_id === 'string' ? r.system.entity_id : 'unknown',
      version: typeof r.system?.version === 'string' ? r.system.version : 'unknown',
    };
  }
  async listBridges(): Promise<{ id: string; channels: string[] }[]> {
    const r = await this.run('bridges.list', undefined, (c) => c.bridges.list());
    if (!Array.isArray(r)) return [];
    const out: { id: string; channels: string[] }[] = [];
    for (const b of r as { id?: unknown; channels?: unknown }[]) {
      if (typeof b?.id !== 'string') continue;
      out.push({ id: b.id, channels: Array.isArray(b.channels) ? b.channels.filter((x): x is string => typeof x === 'string') : [] });
    }
    return out;
  }
}
