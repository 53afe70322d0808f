import { AriChannel, AriEvent } from './ari-events';

/**
 * The narrow interface the call logic uses to act on Asterisk. Only src/ari/ implements it over
 * ari-client; tests may swap it. Every method maps to one ARI request.
 */
export interface OriginateRequest {
  channelId: string;
  endpoint: string;
  appArgs: string[];
  /** `"Name" <number>`: what the called phone shows. Without it Asterisk sends "Anonymous". */
  callerId?: string;
  timeoutSec: number;
  variables?: Record<string, string>;
}

export interface CreateChannelRequest {
  channelId: string;
  endpoint: string;
  appArgs: string[];
  /** The channel this one is created for (caller-id inheritance, linked ids). */
  originator?: string;
  variables?: Record<string, string>;
}

export interface CallControl {
  answer(channelId: string): Promise<void>;
  /**
   * The channel leaves the app and continues in the dialplan: at `to` (e.g. app_voicemail's
   * context), or, without `to`, at the step after its Stasis() (POST /channels/{id}/continue with
   * no context, extension or priority; measured in docs/asterisk-facts.md). A priority alone
   * would restart the channel's own extension, and with it Stasis().
   */
  continueInDialplan(channelId: string, to?: { context: string; extension: string; priority?: number }): Promise<void>;
  /** Sets a channel variable (POST /channels/{id}/variable), e.g. for the dialplan to read after Stasis(). */
  setChannelVariable(channelId: string, name: string, value: string): Promise<void>;
  hangup(channelId: string, reason?: 'normal' | 'busy' | 'congestion' | 'no_answer'): Promise<void>;
  /**
   * Plays one or more media in sequence; resolves with the playback id. `lang` selects the
   * sounds' language (ARI `lang`; without it Asterisk uses the channel's language).
   */
  play(channelId: string, media: string[], playbackId: string, lang?: string): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  /**
   * GET /playbacks/{id}: true while Asterisk still has the playback (queued or playing), false
   * once it has ended (404 "Playback not found"). Asks without touching it, unlike a stop.
   */
  playbackExists(playbackId: string): Promise<boolean>;
  ring(channelId: string): Promise<void>;
  ringStop(channelId: string): Promise<void>;
  startMoh(channelId: string): Promise<void>;
  stopMoh(channelId: string): Promise<void>;
  createBridge(bridgeId: string, type: 'mixing' | 'holding', name: string): Promise<void>;
  addToBridge(bridgeId: string, channelIds: string[]): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  startBridgeMoh(bridgeId: string): Promise<void>;
  stopBridgeMoh(bridgeId: string): Promise<void>;
  originate(req: OriginateRequest): Promise<void>;
  createChannel(req: CreateChannelRequest): Promise<void>;
  dial(channelId: string, timeoutSec: number): Promise<void>;
  getDeviceState(deviceName: string): Promise<string>;
  subscribe(eventSources: string[]): Promise<void>;
  /** Ids of the channels currently in our Stasis application (for reconciliation). */
  applicationChannelIds(): Promise<string[]>;
  /** Every live channel (GET /channels), for reconciliation after a gap in the event stream. */
  listChannels(): Promise<AriChannel[]>;
  /** Every bridge with its channel ids (GET /bridges), for reconciliation. */
  listBridges(): Promise<{ id: string; channels: string[] }[]>;
  /** Asterisk's entity id (which server holds a call) and version (GET /asterisk/info). */
  asteriskInfo(): Promise<{ entityId: string; version: string }>;
}

export type AriEventHandler = (event: AriEvent) => void;

/** How an ARI request failed, classified so that callers can tell "already gone" from "broken". */
export class AriRequestError extends Error {
  constructor(
    message: string,
    readonly kind: 'not_found' | 'conflict' | 'rejected' | 'server' | 'transport',
    readonly operation: string,
    /** The HTTP status Asterisk answered, when it answered (for the log; `kind` is what callers read). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AriRequestError';
  }
}

/**
 * A failed request's error carries the raw body as its message ("{\"message\":\"Channel not
 * found\"}" or, for a failed originate, "{\"error\":\"Allocation failed\"}"), as ari-client's did,
 * and our REST client's its status too (kept on the result for the log).
 * Classify by the body Asterisk is known to send (see the recorded traces b, d6, f2 in test/fixtures/asterisk-22.10.1).
 */
export function classifyAriError(operation: string, err: unknown): AriRequestError {
  if (err instanceof AriRequestError) return err;
  const kind = classifyAriFailure(err);
  const status = (err as { status?: unknown } | null)?.status;
  return new AriRequestError(kind.body, kind.kind, operation, typeof status === 'number' ? status : undefined);
}

function classifyAriFailure(err: unknown): { body: string; kind: AriRequestError['kind'] } {
  const text = err instanceof Error ? err.message : String(err);
  let body = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    const detail = parsed.message ?? parsed.error;
    body = typeof detail === 'string' ? detail : detail === undefined ? text : JSON.stringify(detail);
  } catch {
    /* not JSON: a transport error such as ECONNREFUSED */
  }
  if (/not found/i.test(body)) return { body, kind: 'not_found' };
  if (/Allocation failed/i.test(body)) return { body, kind: 'rejected' };
  if (/ECONNREFUSED|ECONNRESET|socket hang up|ETIMEDOUT|EPIPE/i.test(body)) return { body, kind: 'transport' };
  // 409 "Bridge with id '…' already exists" (shared probes): the object is there, which an
  // adopting process treats as success.
  if (/conflict|not in Stasis|Uncontrolled|already exists/i.test(body)) return { body, kind: 'conflict' };
  return { body, kind: 'server' };
}

/** True when the object to create already exists (a bridge left by a previous process). */
export function alreadyExists(err: unknown): boolean {
  return err instanceof AriRequestError && err.kind === 'conflict' && /already exists/i.test(err.message);
}

/** True for failures that only mean "the channel/playback/bridge is already gone". */
export function isGone(err: unknown): boolean {
  return err instanceof AriRequestError && err.kind === 'not_found';
}
