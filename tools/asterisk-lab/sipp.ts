import fs from 'node:fs';
import path from 'node:path';
import dgram from 'node:dgram';
import { ChildProcess, spawn } from 'node:child_process';
import { callMediaPcap, DigitsAt, dtmfDurationMs } from './dtmf-pcap';

/**
 * SIPp parties for the real-Asterisk level: callers (UAC) dialling the project's DIDs, and phones
 * (UAS) standing for agents' desk phones and for the customers behind the trunk.
 *
 * A SIPp scenario is a fixed script, so a story is written as timed steps (wait, press digits,
 * hang up, wait for the far end's BYE). Every wait also accepts what Asterisk may send in the
 * middle of a call (a re-INVITE or UPDATE for a connected-line change when a call is bridged, a BYE
 * when the plugin hangs up): a bare `<pause>` would be aborted by them (SIPp pitfall noted in the
 * runtime's README). DTMF is RFC 4733, from SIPp's own pcaps. Every step writes a log line with the
 * call's Call-ID, so a test can tell how far each call got.
 */
export type SippStep =
  /** Wait this long, answering re-INVITEs/UPDATEs; a BYE from Asterisk ends the script. */
  | { wait: number }
  /** Press these digits (RFC 4733), 0-9 * #, 160 ms each, 200 ms apart. */
  | { dtmf: string }
  /** Hang up (send BYE). */
  | { hangup: true }
  /** Wait up to this long for Asterisk's BYE; not receiving it fails the call. */
  | { waitForBye: number };

export interface CallerScript {
  /** From user (the caller id number), or 'anonymous' for a withheld caller id. */
  from: string;
  fromName?: string;
  steps: readonly SippStep[];
  /**
   * Calls as a phone with a SIP account (an agent's desk phone): Asterisk challenges the INVITE
   * (401, or 407), and the caller sends it again with digest credentials (SIPp's `[authentication]`).
   * Without it the caller is a party behind the trunk, which Asterisk identifies by address only.
   */
  auth?: { user: string; password: string };
}

export type PhoneAnswer =
  /** Ring this long, then answer. */
  | { answerAfterMs: number }
  /** Ring, then reject with this SIP code (486 busy, 480, 603…). */
  | { rejectWith: number; afterMs?: number }
  /** Ring until Asterisk cancels. */
  | { neverAnswer: true };

export interface PhoneScript {
  /** The SIP user this phone is (for its From when it hangs up). */
  user: string;
  answer: PhoneAnswer;
  /** After answering. */
  steps: readonly SippStep[];
}

const SDP = `v=0
o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv`;

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function cdata(text: string): string {
  return `<![CDATA[\n${text}\n\n]]>`;
}

/** Response to a request Asterisk sent inside the dialog (re-INVITE, UPDATE, BYE). */
function okTo(withSdp: boolean): string {
  const lines = [
    'SIP/2.0 200 OK',
    '[last_Via:]',
    '[last_From:]',
    '[last_To:]',
    '[last_Call-ID:]',
    '[last_CSeq:]',
    'Contact: <sip:[local_ip]:[local_port];transport=[transport]>',
  ];
  return withSdp
    ? [...lines, 'Content-Type: application/sdp', 'Content-Length: [len]', '', SDP].join('\n')
    : [...lines, 'Content-Length: 0'].join('\n');
}

interface Role {
  /** Headers of a request this party sends inside the dialog (BYE). */
  inDialog(method: string, cseq: number): string;
}

const MEDIA_FILE = 'media.pcap';

/** A SIPp scenario and the files it plays (the call's media), written beside it. */
export interface Scenario {
  xml: string;
  files: Record<string, Buffer>;
}

class ScriptWriter {
  private readonly out: string[] = [];
  readonly files: Record<string, Buffer> = {};
  private label = 0;
  private cseq = 10;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);

  /** Where the script stands on the call's media timeline, and the digits on it. */
  private clockMs = 0;
  private readonly digits: DigitsAt[] = [];

  constructor(private readonly role: Role) {}

  /**
   * From the answer on, the call's media plays: silence, and every digit of the script at its
   * moment (tools/asterisk-lab/dtmf-pcap.ts). The file is written when the script is complete.
   */
  startMedia(): string {
    return `<exec play_pcap_audio="${MEDIA_FILE}"/>`;
  }

  emit(xml: string): void {
    this.out.push(xml);
  }

  log(message: string): void {
    this.emit(`<nop><action><log message="[call_id] ${xmlEscape(message)}"/></action></nop>`);
  }

  /**
   * Waits `ms`, re-answering re-INVITEs/UPDATEs; a BYE jumps to the end (`got_bye`).
   *
   * The BYE is `optional="global"`: SIPp 3.6.1 then takes a BYE that arrives while the script is
   * between two waits (on a step's log `nop`, just after a timeout jumped) as this one. With
   * `optional="true"` it aborted the call as "an unexpected BYE": seen once in the project's CI,
   * a BYE 0.7 ms after a wait timed out, and reproduced with two SIPps and a `<pause>`.
   */
  wait(ms: number, onTimeout?: string): void {
    const id = `w${++this.label}`;
    const done = `${id}_done`;
    this.emit(`<label id="${id}"/>`);
    this.emit(
      `<recv request="BYE" optional="global" next="got_bye" timeout="${Math.max(1, Math.round(ms))}" ontimeout="${onTimeout ?? done}"/>`,
    );
    this.emit(`<recv request="INVITE" optional="true" next="${id}_reinvite"/>`);
    this.emit('<recv request="UPDATE"/>');
    this.emit(`<send>${cdata(okTo(false))}</send>`);
    this.emit(`<nop next="${id}"><action><log message="[call_id] answered UPDATE"/></action></nop>`);
    this.emit(`<label id="${id}_reinvite"/>`);
    this.emit(`<send>${cdata(okTo(true))}</send>`);
    this.emit(`<recv request="ACK" next="${id}"/>`);
    this.emit(`<label id="${done}"/>`);
  }

  /**
   * The steps as one run of waits: nothing that expects no message (a log `nop`) stands between
   * two waits, because SIPp 3.6.1 aborts a call whose request arrives on such an element (a BYE
   * and, on a real Asterisk, a connected-line UPDATE did). A DTMF step is a wait: its digits are
   * in the call's media, at this moment of the timeline.
   */
  steps(steps: readonly SippStep[]): void {
    steps.forEach((step, i) => {
      if ('wait' in step) {
        this.wait(step.wait);
        this.clockMs += step.wait;
      } else if ('dtmf' in step) {
        if (!/^[0-9*#]+$/.test(step.dtmf)) throw new Error(`SIPp can only send DTMF 0-9 * #, not '${step.dtmf}'`);
        // Sent by the media timeline at this moment; the script waits as long.
        this.digits.push({ digits: step.dtmf, atMs: this.clockMs });
        const ms = dtmfDurationMs(step.dtmf) + 100;
        this.wait(ms);
        this.clockMs += ms;
      } else if ('hangup' in step) {
        this.log(`step ${i} hangup`);
        this.emit(`<send retrans="500">${cdata(this.role.inDialog('BYE', ++this.cseq))}</send>`);
        this.emit('<recv response="200" next="the_end"/>');
      } else {
        this.wait(step.waitForBye, 'no_bye');
        this.emit('<nop next="no_bye"/>');
        this.clockMs += step.waitForBye;
      }
    });
    this.files[MEDIA_FILE] = callMediaPcap(this.digits, this.clockMs + 2000, this.ssrc);
  }

  /** The common tail: a BYE from Asterisk is answered; a missing one fails the call. */
  finish(): string {
    this.emit('<nop next="the_end"/>');
    this.emit('<label id="no_bye"/>');
    this.log('failed: no BYE from Asterisk');
    // An explicit failure: SIPp counts the call as failed when a mandatory message never comes.
    this.emit('<recv request="BYE" timeout="1"/>');
    this.emit('<label id="got_bye"/>');
    this.emit(`<send>${cdata(okTo(false))}</send>`);
    this.log('got bye');
    this.emit('<label id="the_end"/>');
    this.log('ended');
    return this.out.join('\n');
  }
}

/** A caller dialling `[service]` (sipp -s <DID>) at Asterisk. */
export function callerScenario(script: CallerScript): Scenario {
  const user = script.from;
  // `from` may be an injected value (`[field0]`) for runs of many callers with their own numbers.
  const display = script.from === 'anonymous' ? 'Anonymous' : (script.fromName ?? 'Caller');
  const host = script.from === 'anonymous' ? 'anonymous.invalid' : '[local_ip]:[local_port]';
  const from = `From: "${display}" <sip:${user}@${host}>;tag=[pid]SIPpTag00[call_number]`;
  const role: Role = {
    inDialog: (method, cseq) =>
      [
        `${method} [next_url] SIP/2.0`,
        'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
        from,
        'To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]',
        'Call-ID: [call_id]',
        `CSeq: ${cseq} ${method}`,
        '[routes]',
        'Max-Forwards: 70',
        'Content-Length: 0',
      ].join('\n'),
  };
  const w = new ScriptWriter(role);
  const invite = (cseq: number, credentials: string[]) =>
    [
      'INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0',
      'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
      from,
      'To: <sip:[service]@[remote_ip]:[remote_port]>',
      'Call-ID: [call_id]',
      `CSeq: ${cseq} INVITE`,
      `Contact: <sip:${user === 'anonymous' ? 'anonymous' : user}@[local_ip]:[local_port]>`,
      ...credentials,
      'Max-Forwards: 70',
      'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE',
      'Content-Type: application/sdp',
      'Content-Length: [len]',
      '',
      SDP,
    ].join('\n');
  w.emit(`<send retrans="500">${cdata(invite(1, []))}</send>`);
  w.emit('<recv response="100" optional="true"/>');
  let cseq = 1;
  if (script.auth) {
    // Asterisk challenges a phone's INVITE: ACK the challenge (same branch: a non-2xx ACK belongs
    // to the INVITE's transaction), then the same INVITE again, with the digest and the next CSeq.
    w.emit('<recv response="401" auth="true" optional="true" next="challenged"/>');
    w.emit('<recv response="407" auth="true"/>');
    w.emit('<label id="challenged"/>');
    const ackChallenge = [
      'ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0',
      '[last_Via:]',
      '[last_From:]',
      '[last_To:]',
      '[last_Call-ID:]',
      'CSeq: 1 ACK',
      'Max-Forwards: 70',
      'Content-Length: 0',
    ].join('\n');
    w.emit(`<send>${cdata(ackChallenge)}</send>`);
    w.log('challenged');
    cseq = 2;
    const { user: authUser, password } = script.auth;
    if (/[\s\]=]/.test(authUser + password)) throw new Error('SIPp [authentication] values cannot hold spaces, = or ]');
    w.emit(`<send retrans="500">${cdata(invite(cseq, [`[authentication username=${authUser} password=${password}]`]))}</send>`);
    w.emit('<recv response="100" optional="true"/>');
  }
  w.emit('<recv response="180" optional="true"/>');
  w.emit('<recv response="183" optional="true"/>');
  w.emit('<recv response="200" rtd="true" rrs="true"/>');
  const ack = [
    'ACK [next_url] SIP/2.0',
    'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
    from,
    'To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]',
    'Call-ID: [call_id]',
    `CSeq: ${cseq} ACK`,
    '[routes]',
    'Max-Forwards: 70',
    'Content-Length: 0',
  ].join('\n');
  w.emit(`<send>${cdata(ack)}</send>`);
  // One element, then straight into the first wait: a re-INVITE that comes between two elements
  // that do not expect it aborts the call.
  w.emit(`<nop><action><log message="[call_id] answered"/>${w.startMedia()}</action></nop>`);
  w.steps(script.steps);
  return { xml: wrap(`caller ${script.from}`, w.finish()), files: w.files };
}

/** A phone that receives calls from Asterisk (an agent's desk phone, or a customer behind the trunk). */
export function phoneScenario(script: PhoneScript): Scenario {
  const role: Role = {
    inDialog: (method, cseq) =>
      [
        `${method} [next_url] SIP/2.0`,
        'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
        'From: [$local_to];tag=[pid]SIPpTag01[call_number]',
        'To: [$remote_from]',
        'Call-ID: [call_id]',
        `CSeq: ${cseq} ${method}`,
        '[routes]',
        'Max-Forwards: 70',
        'Content-Length: 0',
      ].join('\n'),
  };
  const w = new ScriptWriter(role);
  w.emit(
    '<recv request="INVITE" rrs="true"><action>' +
      '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote_from"/>' +
      '<ereg regexp="[^;]*" search_in="hdr" header="To:" assign_to="local_to"/>' +
      '<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="invite_cseq"/>' +
      '<ereg regexp="^INVITE sip:[^@;> ]*" search_in="msg" assign_to="ruri"/>' +
      '</action></recv>',
  );
  // Every captured variable is used at least twice (SIPp refuses a scenario otherwise).
  w.log('invited [$ruri] from [$remote_from] to [$local_to] cseq [$invite_cseq]');
  const tagged = (code: string) =>
    [
      `SIP/2.0 ${code}`,
      '[last_Via:]',
      '[last_From:]',
      '[last_To:];tag=[pid]SIPpTag01[call_number]',
      '[last_Call-ID:]',
      '[last_CSeq:]',
      'Contact: <sip:' + script.user + '@[local_ip]:[local_port];transport=[transport]>',
    ].join('\n');
  w.emit(`<send>${cdata(`${tagged('180 Ringing')}\nContent-Length: 0`)}</send>`);
  const a = script.answer;
  const cancelled = 'cancelled';
  // While ringing, Asterisk may CANCEL (ring timeout, the caller left).
  const ring = (ms: number, next: string) => {
    w.emit(`<recv request="CANCEL" next="${cancelled}" timeout="${Math.max(1, Math.round(ms))}" ontimeout="${next}"/>`);
    w.emit(`<label id="${next}"/>`);
  };
  if ('neverAnswer' in a) {
    ring(600_000, 'ring_out');
    w.log('failed: never cancelled');
    w.emit('<nop next="the_end"/>');
  } else if ('rejectWith' in a) {
    ring(a.afterMs ?? 200, 'reject');
    w.emit(`<send>${cdata(`${tagged(`${a.rejectWith} ${a.rejectWith === 486 ? 'Busy Here' : 'Rejected'}`)}\nContent-Length: 0`)}</send>`);
    w.emit('<recv request="ACK"/>');
    w.log(`rejected ${a.rejectWith}`);
    w.emit('<nop next="the_end"/>');
  } else {
    ring(a.answerAfterMs, 'answer');
    w.emit(`<send retrans="500">${cdata(`${tagged('200 OK')}\nContent-Type: application/sdp\nContent-Length: [len]\n\n${SDP}`)}</send>`);
    // Asterisk may re-INVITE right after the answer (connected line): no element may sit between
    // the ACK and the first wait, which is where a re-INVITE is answered.
    w.emit(`<recv request="ACK"><action><log message="[call_id] answered"/>${w.startMedia()}</action></recv>`);
    w.steps(script.steps);
    w.emit('<nop next="the_end"/>');
  }
  w.emit(`<label id="${cancelled}"/>`);
  w.emit(`<send>${cdata(okTo(false))}</send>`);
  const terminated = [
    'SIP/2.0 487 Request Terminated',
    '[last_Via:]',
    '[last_From:]',
    '[last_To:];tag=[pid]SIPpTag01[call_number]',
    '[last_Call-ID:]',
    'CSeq: [$invite_cseq] INVITE',
    'Content-Length: 0',
  ].join('\n');
  w.emit(`<send>${cdata(terminated)}</send>`);
  w.emit('<recv request="ACK"/>');
  w.log('cancelled');
  return { xml: wrap(`phone ${script.user}`, w.finish()), files: w.files };
}

function wrap(name: string, body: string): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="${xmlEscape(name)}">\n${body}\n</scenario>\n`;
}

// ---- processes --------------------------------------------------------------------------------

export interface SippStats {
  created: number;
  successful: number;
  failed: number;
  /** Raw columns of SIPp's last statistics line. */
  raw: Record<string, string>;
}

export interface SippLogLine {
  callId: string;
  message: string;
}

export interface SippOptions {
  sipp: string;
  workDir: string;
  name: string;
  scenario: Scenario;
  /** Our SIP port, media port and control port (SIPp 3.6.1 takes one media port). */
  sipPort: number;
  mediaPort: number;
  controlPort: number;
  ip?: string;
  /** Asterisk's SIP address (UAC only). */
  remote?: string;
  /** The number dialled (UAC: -s). */
  service?: string;
  /** UAC: calls to place, at `rate` per second (default 10), `limit` at once. */
  calls?: number;
  rate?: number;
  limit?: number;
  /** Values per call, read in order (`[field0]`, `[field1]`… in the scenario): SIPp's -inf file. */
  injection?: readonly (readonly string[])[];
}

/** One SIPp process; its scenario, statistics and per-call log live in its own folder. */
export class SippProcess {
  readonly dir: string;
  private readonly proc: ChildProcess;
  private readonly exitPromise: Promise<number | null>;
  private exitCode: number | null | undefined;
  readonly stderr: string[] = [];

  private constructor(private readonly opts: SippOptions) {
    this.dir = path.join(opts.workDir, opts.name);
    fs.mkdirSync(this.dir, { recursive: true });
    const scenarioFile = path.join(this.dir, 'scenario.xml');
    fs.writeFileSync(scenarioFile, opts.scenario.xml);
    for (const [name, content] of Object.entries(opts.scenario.files)) fs.writeFileSync(path.join(this.dir, name), content);
    const ip = opts.ip ?? '127.0.0.1';
    const injectionFile = path.join(this.dir, 'calls.csv');
    if (opts.injection) fs.writeFileSync(injectionFile, ['SEQUENTIAL', ...opts.injection.map((row) => row.join(';'))].join('\n') + '\n');
    const args = [
      ...(opts.remote ? [opts.remote] : []),
      '-sf',
      scenarioFile,
      '-i',
      ip,
      '-p',
      String(opts.sipPort),
      '-mi',
      ip,
      '-mp',
      String(opts.mediaPort),
      '-cp',
      String(opts.controlPort),
      '-nostdin',
      '-trace_stat',
      '-stf',
      path.join(this.dir, 'stats.csv'),
      '-fd',
      '1',
      '-trace_logs',
      '-log_file',
      path.join(this.dir, 'calls.log'),
      '-trace_err',
      '-error_file',
      path.join(this.dir, 'errors.log'),
      // An INFO, NOTIFY, OPTIONS or UPDATE that arrives where the script expects nothing (on a
      // step between two receives) is answered 200 instead of aborting the call: Asterisk's
      // connected-line UPDATE once came as a caller's script stepped from its answer to its first
      // wait (checked with two SIPps: without -aa, "Aborting call on unexpected message").
      '-aa',
      // A re-sent request Asterisk never answers must not keep a test waiting.
      '-recv_timeout',
      '120000',
      ...(opts.service ? ['-s', opts.service] : []),
      ...(opts.injection ? ['-inf', injectionFile] : []),
      ...(opts.calls !== undefined
        ? ['-m', String(opts.calls), '-r', String(opts.rate ?? 10), '-l', String(opts.limit ?? opts.calls)]
        : []),
    ];
    this.proc = spawn(opts.sipp, args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr?.on('data', (d: Buffer) => this.stderr.push(d.toString('utf8')));
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  static start(opts: SippOptions): SippProcess {
    return new SippProcess(opts);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The SIPp process's id (the benchmark reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Resolves with SIPp's exit code (0: every call succeeded) or undefined on timeout. */
  async finished(timeoutMs: number): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exitPromise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    return r;
  }

  /** Ends SIPp gracefully (control socket 'q': statistics written), then by signal. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.send('q', this.opts.controlPort, '127.0.0.1', () => {
        s.close();
        resolve();
      });
    });
    if ((await this.finished(3000)) === undefined) {
      this.proc.kill('SIGKILL');
      await this.exitPromise;
    }
  }

  /** The phone dies: SIGKILL, no BYE, no more media. */
  kill(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }

  stats(): SippStats {
    const file = path.join(this.dir, 'stats.csv');
    if (!fs.existsSync(file)) return { created: 0, successful: 0, failed: 0, raw: {} };
    const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
    const header = (rows[0] ?? '').split(';');
    const last = (rows[rows.length - 1] ?? '').split(';');
    const raw: Record<string, string> = {};
    header.forEach((h, i) => (raw[h] = last[i] ?? ''));
    const n = (k: string): number => Number(raw[k] ?? 0) || 0;
    return { created: n('TotalCallCreated'), successful: n('SuccessfulCall(C)'), failed: n('FailedCall(C)'), raw };
  }

  /** The per-call log lines the scenario wrote ("<call-id> step 2 dtmf 1", "... got bye"). */
  log(): SippLogLine[] {
    const file = path.join(this.dir, 'calls.log');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => /^(\S+) (.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ callId: m[1] ?? '', message: m[2] ?? '' }));
  }

  errors(): string {
    const file = path.join(this.dir, 'errors.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }
}
