/** Endpoints (PJSIP peers), their scripted behaviour for outbound legs, and device states. */
import type { CallerId } from './support';

export type DeviceStateName = 'UNKNOWN' | 'NOT_INUSE' | 'INUSE' | 'BUSY' | 'INVALID' | 'UNAVAILABLE' | 'RINGING' | 'RINGINUSE' | 'ONHOLD';
export const DEVICE_STATES: DeviceStateName[] = [
  'UNKNOWN',
  'NOT_INUSE',
  'INUSE',
  'BUSY',
  'INVALID',
  'UNAVAILABLE',
  'RINGING',
  'RINGINUSE',
  'ONHOLD',
];

/** What the phone behind an endpoint / dial target does when a leg is dialled to it. */
export type LegBehaviour =
  | { kind: 'answer'; afterMs: number }
  | { kind: 'ringForever' }
  | { kind: 'busy'; afterMs?: number }
  | { kind: 'congestion'; afterMs?: number }
  /** Static contact, nothing listening (trace d5/d5b): no 180, SIP timer B after 32 s. */
  | { kind: 'unreachable' }
  /** Rings; the test answers or rejects the leg. */
  | { kind: 'manual' };

export interface EndpointRecord {
  /** "PJSIP/1001" */
  key: string;
  tech: string;
  resource: string;
  online: boolean;
  /** No contact registered: ARI cannot allocate a channel (500 Allocation failed). */
  registered: boolean;
  deviceOverride: DeviceStateName | null;
  lastDeviceState: DeviceStateName | null;
  lastEndpointState: 'online' | 'offline' | null;
  /** callerid= configured on the PJSIP endpoint (channel `caller` of legs created towards it). */
  callerId: CallerId;
  context: string;
}

/** A scripted dial target: an endpoint ("PJSIP/1001") or a number behind one ("PJSIP/5559876@trunk"). */
export interface TargetScript {
  key: string;
  behaviour: LegBehaviour | null;
}

/** Split "PJSIP/5559876@trunk" into tech, the dial string after the tech, and the endpoint key. */
export function parseDialTarget(endpoint: string): { tech: string; dialString: string; endpointKey: string; resource: string } | null {
  const slash = endpoint.indexOf('/');
  if (slash <= 0 || slash === endpoint.length - 1) return null;
  const tech = endpoint.slice(0, slash);
  const dialString = endpoint.slice(slash + 1);
  const at = dialString.lastIndexOf('@');
  const resource = at >= 0 ? dialString.slice(at + 1) : dialString;
  return { tech, dialString, endpointKey: `${tech}/${resource}`, resource };
}

export function newEndpointRecord(key: string): EndpointRecord {
  const slash = key.indexOf('/');
  const tech = key.slice(0, slash);
  const resource = key.slice(slash + 1);
  return {
    key,
    tech,
    resource,
    online: true,
    registered: true,
    deviceOverride: null,
    lastDeviceState: null,
    lastEndpointState: null,
    callerId: { name: '', number: '' },
    context: resource === 'trunk' ? 'from-trunk' : 'from-agents',
  };
}
