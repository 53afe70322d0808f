import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

/**
 * A caller behind the lab's trunk that keeps every RTP packet Asterisk sends it: what a SIPp caller
 * hears cannot be read back from SIPp, and a test of music "without gaps" needs exactly that. It is
 * the least of a SIP user agent over UDP (INVITE, ACK, BYE, and 200 OK to whatever Asterisk sends
 * inside the call), sends 20 ms of PCMU silence every 20 ms (a phone's stream; with rtp_symmetric
 * Asterisk answers to the address the packets come from) and presses digits as RFC 4733 events.
 */
export interface ReceivedFrame {
  /** Arrival, ms since the epoch. */
  at: number;
  payloadType: number;
  /** The payload, hex: two callers who got the same bytes heard the same thing. */
  payload: string;
}

const DIGIT_EVENT: Record<string, number> = { '*': 10, '#': 11 };
const PCMU_SILENCE = Buffer.alloc(160, 0xff);

export class RtpCaller {
  readonly frames: ReceivedFrame[] = [];
  private readonly sip = dgram.createSocket('udp4');
  private readonly rtp = dgram.createSocket('udp4');
  private readonly callId = `${randomBytes(8).toString('hex')}@rtp-caller`;
  private readonly tag = randomBytes(4).toString('hex');
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private remoteTag = '';
  private remoteTarget = '';
  private cseq = 1;
  private seq = 0;
  private ts = 0;
  private ticker: NodeJS.Timeout | undefined;
  private sendingDigit = false;
  /** Asterisk's media port, from its answer's SDP. */
  private rtpPeer: number | undefined;
  private answered: (() => void) | undefined;
  private byeWaiters: (() => void)[] = [];
  /** Asterisk ended the call (its BYE). */
  hungUpByFarEnd = false;
  ended = false;

  private constructor(
    readonly number: string,
    private readonly asterisk: { host: string; port: number },
  ) {}

  /** Calls `did` from `number` and resolves once answered (200 OK, ACK sent). */
  static async call(asteriskSipPort: number, did: string, number: string, timeoutMs = 15_000): Promise<RtpCaller> {
    const c = new RtpCaller(number, { host: '127.0.0.1', port: asteriskSipPort });
    await Promise.all([bind(c.sip), bind(c.rtp)]);
    c.sip.on('message', (m) => c.onSip(m.toString('utf8')));
    c.rtp.on('message', (m) => c.onRtp(m));
    const answered = new Promise<void>((resolve, reject) => {
      c.answered = resolve;
      setTimeout(() => reject(new Error(`call from ${number} to ${did} not answered within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    c.remoteTarget = `sip:${did}@127.0.0.1:${asteriskSipPort}`;
    c.send(c.request('INVITE', c.remoteTarget, 1, c.sdp()));
    await answered;
    c.ticker = setInterval(() => {
      if (!c.sendingDigit) c.sendRtp(0, false, PCMU_SILENCE);
    }, 20);
    return c;
  }

  private get sipPort(): number {
    return this.sip.address().port;
  }

  /** Presses the digits, 100 ms each, 100 ms apart (RFC 4733, three end packets each). */
  async press(digits: string): Promise<void> {
    for (const d of digits) {
      const event = DIGIT_EVENT[d] ?? Number(d);
      this.sendingDigit = true;
      this.ts += 160;
      const start = this.ts;
      for (let i = 1; i <= 5; i++) {
        this.sendEvent(event, start, i * 160, false, i === 1);
        await sleep(20);
      }
      for (let i = 0; i < 3; i++) this.sendEvent(event, start, 5 * 160, true, false);
      this.ts += 5 * 160;
      this.sendingDigit = false;
      await sleep(100);
    }
  }

  /** Frames received from `from` to `to` (ms since the epoch). */
  between(from: number, to: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.at >= from && f.at <= to && f.payloadType === 0);
  }

  /** The longest time without a voice frame from `from` to `to` (the edges count). */
  longestGapMs(from: number, to: number): number {
    let last = from;
    let gap = 0;
    for (const f of this.between(from, to)) {
      gap = Math.max(gap, f.at - last);
      last = f.at;
    }
    return Math.max(gap, to - last);
  }

  /** Resolves when Asterisk hangs the call up. */
  byeReceived(timeoutMs: number): Promise<void> {
    if (this.hungUpByFarEnd) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.byeWaiters.push(resolve);
      setTimeout(() => reject(new Error(`no BYE for ${this.number} within ${timeoutMs} ms`)), timeoutMs).unref();
    });
  }

  async hangup(): Promise<void> {
    if (!this.ended) this.send(this.request('BYE', this.remoteTarget, ++this.cseq));
    await sleep(200);
    this.close();
  }

  close(): void {
    this.ended = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const s of [this.sip, this.rtp]) {
      try {
        s.close();
      } catch {
        /* closed already */
      }
    }
  }

  private sdp(): string {
    const port = this.rtp.address().port;
    return [
      'v=0',
      `o=rtp-caller ${this.ssrc} 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  private request(method: string, uri: string, cseq: number, body = ''): string {
    const to = `<sip:${uri.replace(/^sip:/, '').split('@')[0]}@127.0.0.1:${this.asterisk.port}>${this.remoteTag ? `;tag=${this.remoteTag}` : ''}`;
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      `From: "Caller" <sip:${this.number}@127.0.0.1:${this.sipPort}>;tag=${this.tag}`,
      `To: ${to}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:${this.number}@127.0.0.1:${this.sipPort}>`,
      'Max-Forwards: 70',
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  private send(msg: string): void {
    if (!this.ended) this.sip.send(msg, this.asterisk.port, this.asterisk.host);
  }

  private onSip(msg: string): void {
    const [first] = msg.split('\r\n');
    const header = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim() ?? '';
    const status = /^SIP\/2\.0 (\d+)/.exec(first);
    if (status) {
      const code = Number(status[1]);
      if (/INVITE$/.test(header('CSeq')) && code >= 200) {
        this.remoteTag = /;tag=([^;\s]+)/.exec(header('To'))?.[1] ?? this.remoteTag;
        const contact = /<([^>]+)>/.exec(header('Contact'))?.[1];
        if (contact) this.remoteTarget = contact;
        const port = /^m=audio (\d+)/m.exec(msg)?.[1];
        if (port) this.rtpPeer = Number(port);
        // ACK every final answer (a retransmitted 200 too); only a 2xx is a call.
        this.send(this.request('ACK', this.remoteTarget, Number.parseInt(header('CSeq'), 10)));
        if (code < 300) this.answered?.();
        this.answered = undefined;
      }
      return;
    }
    const method = first.split(' ')[0];
    if (method === 'ACK') return;
    const lines = ['SIP/2.0 200 OK'];
    for (const h of msg.split('\r\n').slice(1)) if (/^(Via|From|To|Call-ID|CSeq):/i.test(h)) lines.push(h);
    lines.push(`Contact: <sip:${this.number}@127.0.0.1:${this.sipPort}>`);
    const body = method === 'INVITE' ? this.sdp() : '';
    if (body) lines.push('Content-Type: application/sdp');
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
    this.send(lines.join('\r\n'));
    if (method === 'BYE') {
      this.hungUpByFarEnd = true;
      this.close();
      for (const w of this.byeWaiters.splice(0)) w();
    }
  }

  private onRtp(m: Buffer): void {
    if (m.length < 12) return;
    this.frames.push({ at: Date.now(), payloadType: m[1] & 0x7f, payload: m.subarray(12).toString('hex') });
  }

  private sendRtp(payloadType: number, marker: boolean, payload: Buffer, ts = this.ts): void {
    if (this.ended || this.rtpPeer === undefined) return;
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | payloadType;
    h.writeUInt16BE(this.seq++ & 0xffff, 2);
    h.writeUInt32BE(ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    if (payloadType === 0) this.ts += 160;
    this.rtp.send(Buffer.concat([h, payload]), this.rtpPeer, '127.0.0.1');
  }

  private sendEvent(event: number, ts: number, duration: number, end: boolean, marker: boolean): void {
    const p = Buffer.alloc(4);
    p[0] = event;
    p[1] = (end ? 0x80 : 0) | 10;
    p.writeUInt16BE(duration, 2);
    this.sendRtp(101, marker, p, ts);
  }
}

function bind(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
