/**
 * RFC 4733 DTMF for SIPp, as pcap files SIPp replays with `play_pcap_audio`.
 *
 * SIPp's own `dtmf_2833_<digit>.pcap` files each carry fixed RTP sequence numbers and timestamps
 * (ordered by digit). Replayed one after the other, a repeated digit has the same timestamp (a
 * duplicate event to Asterisk) and a lower digit after a higher one goes back in sequence: on a real
 * Asterisk "5553216547#" arrived as "5", "6", "7", "#". So a digit string is written here as one
 * stream: one event per digit, 160 ms long, 200 ms apart, sequence numbers and timestamps always
 * increasing from `base` (each step of a script gets its own, higher base).
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

/** How long SIPp takes to play these digits. */
export function dtmfDurationMs(digits: string): number {
  return digits.length * (TONE_MS + 3 * PACKET_MS + GAP_MS);
}

function ipChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A pcap (Ethernet/IPv4/UDP/RTP, payload type 101) of these digits; SIPp rewrites the addresses. */
export function dtmfPcap(digits: string, base: { seq: number; timestamp: number; ssrc: number }): Buffer {
  const packets: { atMs: number; rtp: Buffer }[] = [];
  let seq = base.seq;
  let atMs = 0;
  [...digits].forEach((d, i) => {
    const ts = (base.timestamp + i * (TONE_MS + 3 * PACKET_MS + GAP_MS) * SAMPLES_PER_MS) >>> 0;
    const steps = TONE_MS / PACKET_MS;
    for (let k = 0; k <= steps + 2; k++) {
      const end = k >= steps;
      const duration = Math.min(k + 1, steps) * PACKET_MS * SAMPLES_PER_MS;
      const rtp = Buffer.alloc(16);
      rtp[0] = 0x80;
      rtp[1] = (k === 0 ? 0x80 : 0) | 101; // marker on the event's first packet
      rtp.writeUInt16BE(seq & 0xffff, 2);
      rtp.writeUInt32BE(ts, 4);
      rtp.writeUInt32BE(base.ssrc >>> 0, 8);
      rtp[12] = event(d);
      rtp[13] = (end ? 0x80 : 0) | 10; // E bit on the three end packets; volume 10
      rtp.writeUInt16BE(duration, 14);
      packets.push({ atMs: atMs + k * PACKET_MS, rtp });
      seq += 1;
    }
    atMs += TONE_MS + 3 * PACKET_MS + GAP_MS;
  });
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const records = packets.map(({ atMs: t, rtp }) => {
    const eth = Buffer.from('0050bf990336000d8714ac240800', 'hex');
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + rtp.length, 2);
    ip[8] = 64;
    ip[9] = 17; // UDP
    Buffer.from([192, 168, 0, 3]).copy(ip, 12);
    Buffer.from([192, 168, 0, 1]).copy(ip, 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(49176, 0);
    udp.writeUInt16BE(10000, 2);
    udp.writeUInt16BE(8 + rtp.length, 4);
    const frame = Buffer.concat([eth, ip, udp, rtp]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(t / 1000), 0);
    rec.writeUInt32LE((t % 1000) * 1000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...records]);
}
