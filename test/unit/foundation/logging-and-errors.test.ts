import { expect } from 'chai';
import { Writable } from 'node:stream';
import { classifyAriError, isGone } from '../../../src/ari/call-control';
import { callLogger, createLogger, registerSecret } from '../../../src/logging/logger';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('logging', () => {
  it('writes one JSON object per line with the call ids of a child logger', async () => {
    const { lines, stream } = capture();
    const log = callLogger(createLogger({ stream }), { callId: 'c-1', kind: 'queue-caller', queueId: 'support' });
    log.info('caller queued', { position: 3 });
    await new Promise((r) => setImmediate(r));
    const obj = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(obj).to.include({
      message: 'caller queued',
      callId: 'c-1',
      kind: 'queue-caller',
      queueId: 'support',
      position: 3,
      level: 'info',
    });
  });

  it('masks registered secrets in messages and metadata', async () => {
    const { lines, stream } = capture();
    registerSecret('s3cr3t-ari-pass');
    const log = createLogger({ stream });
    log.warn('connect failed for http://u:s3cr3t-ari-pass@host', {
      url: 'ws://x?api_key=u:s3cr3t-ari-pass',
      nested: { p: 's3cr3t-ari-pass' },
    });
    await new Promise((r) => setImmediate(r));
    expect(lines.join('')).to.not.include('s3cr3t-ari-pass');
    expect(lines.join('')).to.include('[REDACTED]');
  });
});

describe('ARI error classification', () => {
  it('recognises the bodies the real Asterisk sends (traces b, d6, f2)', () => {
    expect(classifyAriError('play', new Error('{"message":"Channel not found"}')).kind).to.equal('not_found');
    expect(isGone(classifyAriError('stop', new Error('{"message":"Playback not found"}')))).to.equal(true);
    expect(classifyAriError('originate', new Error('{"error":"Allocation failed"}')).kind).to.equal('rejected');
    expect(classifyAriError('stop', new Error('{"message":"Could not stop playback"}')).kind).to.equal('server');
    expect(classifyAriError('answer', new Error('connect ECONNREFUSED 127.0.0.1:8088')).kind).to.equal('transport');
    expect(isGone(classifyAriError('x', new Error('{"message":"Could not stop playback"}')))).to.equal(false);
  });
});
