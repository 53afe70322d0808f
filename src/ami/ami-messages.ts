import type AsteriskManager from 'asterisk-manager';

/**
 * The AMI vocabulary shared by the connection and its users: messages, actions, their errors,
 * and the checks and normalisation between our types and the asterisk-manager library's.
 */

/** An AMI message with lower-cased header names (the library's convention). For a header that
 * appears twice the first value is kept, as Asterisk's own astman_get_header() does. */
export type AmiFields = Readonly<Record<string, string>>;

export interface AmiEvent {
  /** Event name as sent, e.g. `PresenceStateChange`. */
  readonly name: string;
  readonly fields: AmiFields;
}

export type AmiHeaderValue = string | number | boolean | undefined;

export interface AmiAction {
  /** Action name, e.g. `QueueStatus`. */
  readonly action: string;
  /** Further headers, e.g. `{ Queue: 'support' }`. `ActionID` is set by the connection. */
  readonly [header: string]: AmiHeaderValue;
}

export type AmiActionErrorKind =
  /** No answer within the timeout. */
  | 'timeout'
  /** The socket closed (or was given up) before the answer came. */
  | 'disconnected'
  /** Not logged in at the time of the call. */
  | 'not_connected'
  /** `Response: Error` from Asterisk; `response` holds it. */
  | 'rejected'
  /** stop() was called. */
  | 'stopped'
  /** Refused locally (bad header name or value). */
  | 'invalid';

export class AmiActionError extends Error {
  constructor(
    readonly kind: AmiActionErrorKind,
    readonly action: string,
    message: string,
    readonly response?: AmiFields,
  ) {
    super(message);
    this.name = 'AmiActionError';
  }
}

export interface AmiListResult {
  response: AmiFields;
  /** The list's events, without the closing `...Complete` event. */
  events: AmiEvent[];
  /** The closing event (e.g. `QueueStatusComplete`). */
  complete: AmiEvent;
}

export interface AmiActionOptions {
  timeoutMs?: number;
}

export interface AmiListOptions extends AmiActionOptions {
  /** Called for each list event as it arrives, in stream order relative to unsolicited events. */
  onEvent?: (event: AmiEvent) => void;
}

const HEADER_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Library message -> our fields: strings kept, repeated headers -> first value, variable maps dropped. */
export function fieldsOf(raw: AsteriskManager.RawMessage | undefined): AmiFields {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[key] = value;
    else if (Array.isArray(value)) out[key] = value[0] ?? '';
  }
  return out;
}

/** Why an action must not be sent (a header that would break the framing), or undefined. */
export function whyRefused(action: AmiAction): string | undefined {
  if (!action.action || !HEADER_NAME.test(action.action)) return 'bad action name';
  for (const [key, value] of Object.entries(action)) {
    if (!HEADER_NAME.test(key)) return `bad header name ${JSON.stringify(key)}`;
    if (key.toLowerCase() === 'actionid') return 'ActionID is set by the connection';
    if (typeof value === 'string' && /[\r\n]/.test(value)) return `header ${key} contains a line break`;
  }
  return undefined;
}
