/**
 * Reads the recorded real-Asterisk traces (test/fixtures/asterisk-22.10.1/traces/*.jsonl) and reduces events to
 * comparable signatures. Noise filtered out (documented in tools/simulator/README.md):
 *  - ChannelVarset RTPAUDIOQOS* (RTP statistics at hangup, values differ per call),
 *  - ChannelVarset BRIDGEPEER / BRIDGEPVTCALLID (Asterisk sends them 2-3 times, count varies).
 * Runs of Dial("") / Dial(RINGING) / ChannelStateChange(Ringing) are compared as a set: the
 * README of the traces says their relative order varies between runs (compare c, d1, d2).
 */
import fs from 'node:fs';
import path from 'node:path';

/** What a real Asterisk 22.10.1 did in the lab, kept in the repository (see its README). */
export const ASTERISK_FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures', 'asterisk-22.10.1');
export const TRACES_DIR = path.join(ASTERISK_FIXTURES_DIR, 'traces');

export interface TraceLine {
  t_ms: number;
  dir: 'event' | 'request' | 'response';
  origin?: string;
  type?: string;
  text?: string;
  ws?: string;
  req_id?: number;
  method?: string;
  path?: string;
  status?: number;
  body?: unknown;
  raw: Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function loadTrace(file: string): TraceLine[] {
  const text = fs.readFileSync(path.join(TRACES_DIR, file), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const raw: unknown = JSON.parse(l);
      if (!isRecord(raw)) throw new Error(`bad trace line in ${file}`);
      return {
        t_ms: Number(raw.t_ms),
        dir: raw.dir as TraceLine['dir'],
        origin: raw.origin as string | undefined,
        type: raw.type as string | undefined,
        text: raw.text as string | undefined,
        ws: raw.ws as string | undefined,
        req_id: raw.req_id as number | undefined,
        method: raw.method as string | undefined,
        path: raw.path as string | undefined,
        status: raw.status as number | undefined,
        body: raw.body,
        raw,
      };
    });
}

/** Lines between the lab note starting with `from` (inclusive) and the next note starting with one of `to`. */
export function segment(lines: TraceLine[], from: string, to: string[] = []): TraceLine[] {
  const start = lines.findIndex((l) => l.type === 'lab:note' && (l.text ?? '').startsWith(from));
  if (start < 0) throw new Error(`trace note '${from}' not found`);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const t = lines[i].type === 'lab:note' ? (lines[i].text ?? '') : '';
    if (to.some((p) => t.startsWith(p))) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end);
}

export function isNoise(e: Record<string, unknown>): boolean {
  if (e.type !== 'ChannelVarset') return false;
  const v = String(e.variable);
  return v.startsWith('RTPAUDIOQOS') || v === 'BRIDGEPEER' || v === 'BRIDGEPVTCALLID';
}

function chanOf(e: Record<string, unknown>, key = 'channel'): Record<string, unknown> {
  const c = e[key];
  return isRecord(c) ? c : {};
}

/** A compact, comparable description of an ARI event (ids and timestamps left out). */
export function signature(e: Record<string, unknown>): string {
  const type = String(e.type);
  const ch = chanOf(e);
  const pb = isRecord(e.playback) ? e.playback : {};
  const br = isRecord(e.bridge) ? e.bridge : {};
  const opt = (k: string): string => {
    const v = e[k] as string | number | boolean | null | undefined; // the scalar fields of an ARI event
    return v === undefined ? '-' : String(v);
  };
  switch (type) {
    case 'StasisStart':
      return `StasisStart ${String(ch.state)} [${(e.args as unknown[]).join(',')}]`;
    case 'ChannelStateChange':
      return `ChannelStateChange ${String(ch.state)}`;
    case 'ChannelHangupRequest':
      return `ChannelHangupRequest cause=${opt('cause')} soft=${opt('soft')} tech=${opt('tech_cause')}`;
    case 'ChannelDestroyed':
      return `ChannelDestroyed ${opt('cause')} "${opt('cause_txt')}" tech=${opt('tech_cause')} state=${String(ch.state)}`;
    case 'Dial':
      return `Dial "${String(e.dialstatus)}"`;
    case 'PlaybackStarted':
    case 'PlaybackContinuing':
    case 'PlaybackFinished':
      return `${type} ${String(pb.state)} ${String(pb.media_uri)}`;
    case 'ChannelDtmfReceived':
      return `ChannelDtmfReceived ${String(e.digit)} ${String(e.duration_ms)}ms`;
    case 'ChannelEnteredBridge':
    case 'ChannelLeftBridge':
    case 'BridgeDestroyed':
      return `${type} ${String(br.bridge_type)}`;
    case 'ChannelVarset':
      return `ChannelVarset ${String(e.variable)}=${String(e.value)}`;
    case 'ChannelDialplan':
      return `ChannelDialplan ${String(e.dialplan_app)}`;
    case 'ChannelCallerId': {
      const c = chanOf(e);
      const cid = isRecord(c.caller) ? c.caller : {};
      return `ChannelCallerId ${String(cid.name)}|${String(cid.number)}`;
    }
    case 'ChannelConnectedLine': {
      const c = chanOf(e);
      const cid = isRecord(c.connected) ? c.connected : {};
      return `ChannelConnectedLine ${String(cid.name)}|${String(cid.number)}`;
    }
    case 'ChannelUserevent':
      return `ChannelUserevent ${String(e.eventname)}`;
    default:
      return type;
  }
}

const RING_GROUP = new Set(['Dial ""', 'Dial "RINGING"', 'ChannelStateChange Ringing']);

/** Sort maximal runs of ring-phase events (their order varies between real runs). */
export function canonical(sigs: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const s of sigs) {
    if (RING_GROUP.has(s)) run.push(s);
    else {
      flush();
      out.push(s);
    }
  }
  flush();
  return out;
}

/** ARI events of a trace segment (first socket only unless `ws` given), noise removed, as signatures. */
export function expectedSignatures(lines: TraceLine[], opts: { ws?: string } = {}): string[] {
  return canonical(
    lines
      .filter((l) => l.dir === 'event' && l.origin === 'ari' && (opts.ws ? l.ws === opts.ws : l.ws === undefined))
      .map((l) => l.raw)
      .filter((e) => !isNoise(e))
      .map(signature),
  );
}

export function actualSignatures(events: Array<Record<string, unknown>>): string[] {
  return canonical(events.filter((e) => !isNoise(e)).map(signature));
}

/** Requests of a segment paired with their responses. */
export function requestsWithResponses(lines: TraceLine[]): Array<{ method: string; path: string; status: number; body: unknown }> {
  const out: Array<{ method: string; path: string; status: number; body: unknown }> = [];
  for (const l of lines) {
    if (l.dir !== 'response' || l.path === undefined || l.path.includes('/api-docs/')) continue;
    out.push({ method: String(l.method), path: l.path, status: Number(l.status), body: l.body });
  }
  return out;
}
