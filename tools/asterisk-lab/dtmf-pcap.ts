/**
 * A SIPp phone's media for a whole call, as one pcap SIPp replays with `play_pcap_audio` right
 * after the call is answered: G.711 u-law silence every 20 ms (a phone on a call sends media; one
 * that stops is hung up by Asterisk's rtp_timeout) and, at their moments, the RFC 4733 events of
 * the digits the script presses, all in one RTP stream (one SSRC, sequence numbers and timestamps
 * always increasing).
 *
 * Why not SIPp's own pieces: its `dtmf_2833_<digit>.pcap` files carry fixed sequence numbers and
 * timestamps ordered by digit, so a repeated digit is a duplicate and a lower digit after a higher
 * one goes back in sequence (a real Asterisk heard "5553216547#" as "5", "6", "7", "#"); and mixed
 * with `rtp_stream` audio (another SSRC, other sequence numbers) the events arrived twice or not
 * at all.
 */
const DIGIT_EVENT: Record<string, number> = { '*': 10, '#': 11 };

function event(digit: string): number {
  if (/^[0-9]$/.test(digit)) return Number(digit);
  const e = DIGIT_EVENT[digit];
  if (e === undefined) throw new Error(`no RFC 4733 event for '${digit}'`);
  return e;
}

const PACKET_MS = 20;
const TONE_MS = 160;
const GAP_MS = 200;
const SAMPLES_PER_MS = 8;
/** Three end packets close each event (RFC 4733 2.5.1.4). */
const END_PACKETS = 3;
const DIGIT_MS = TONE_MS + END_PACKETS * PACKET_MS + GAP_MS;

/** How long these digits take to send. */
export function dtmfDurationMs(digits: string): number {
  return digits.length * DIGIT_MS;
}

export interface DigitsAt {
  digits: string;
  /** Offset from the start of the call's media. */
  atMs: number;
}

interface Packet {
  atMs: number;
  payloadType: number;
  marker: boolean;
  timestamp: number;
  payload: Buffer;
}

const SILENCE_PAYLOAD = Buffer.alloc(PACKET_MS * SAMPLES_PER_MS, 0xff); // u-law zero

/** The call's RTP packets, in time order: silence, with the digits' events in place of it. */
function callPackets(digits: readonly DigitsAt[], totalMs: number): Packet[] {
  const events: Packet[] = [];
  const busy: [number, number][] = [];
  for (const { digits: ds, atMs } of digits) {
    [...ds].forEach((d, i) => {
      const start = atMs + i * DIGIT_MS;
      const steps = TONE_MS / PACKET_MS;
      for (let k = 0; k < steps + END_PACKETS; k++) {
        const end = k >= steps;
        const payload = Buffer.alloc(4);
        payload[0] = event(d);
        payload[1] = (end ? 0x80 : 0) | 10; // E bit on the end packets; volume 10
        payload.writeUInt16BE(Math.min(k + 1, steps) * PACKET_MS * SAMPLES_PER_MS, 2);
        events.push({ atMs: start + k * PACKET_MS, payloadType: 101, marker: k === 0, timestamp: start * SAMPLES_PER_MS, payload });
      }
      busy.push([start, start + (steps + END_PACKETS) * PACKET_MS]);
    });
  }
  const audio: Packet[] = [];
  for (let t = 0; t < totalMs; t += PACKET_MS) {
    if (busy.some(([a, b]) => t >= a && t < b)) continue; // no audio while an event is sent
    audio.push({ atMs: t, payloadType: 0, marker: t === 0, timestamp: t * SAMPLES_PER_MS, payload: SILENCE_PAYLOAD });
  }
  return [...audio, ...events].sort((a, b) => a.atMs - b.atMs || a.payloadType - b.payloadType);
}

function ipChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The pcap (Ethernet/IPv4/UDP/RTP; SIPp rewrites the addresses and ports when it replays it). */
export function callMediaPcap(digits: readonly DigitsAt[], totalMs: number, ssrc: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const records = callPackets(digits, totalMs).map((p, seq) => {
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = (p.marker ? 0x80 : 0) | p.payloadType;
    rtp.writeUInt16BE((1000 + seq) & 0xffff, 2);
    rtp.writeUInt32BE(p.timestamp >>> 0, 4);
    rtp.writeUInt32BE(ssrc >>> 0, 8);
    const body = Buffer.concat([rtp, p.payload]);
    const eth = Buffer.from('0050bf990336000d8714ac240800', 'hex');
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + body.length, 2);
    ip[8] = 64;
    ip[9] = 17; // UDP
    Buffer.from([192, 168, 0, 3]).copy(ip, 12);
    Buffer.from([192, 168, 0, 1]).copy(ip, 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(49176, 0);
    udp.writeUInt16BE(10000, 2);
    udp.writeUInt16BE(8 + body.length, 4);
    const frame = Buffer.concat([eth, ip, udp, body]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(p.atMs / 1000), 0);
    rec.writeUInt32LE((p.atMs % 1000) * 1000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...records]);
}
