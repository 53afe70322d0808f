import { expect } from 'chai';
import { Writable } from 'node:stream';
import { callLogger, createLogger, registerSecret } from '../../../src/logging/logger';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('logger: lines below the level stop before any formatting', () => {
  it('never formats a suppressed line (its metadata is not even serialised), from the root or a child', async () => {
    registerSecret('gate-secret-value');
    const { lines, stream } = capture();
    const root = createLogger({ stream, level: 'info' });
    const child = callLogger(root, { callId: 'c-9', kind: 'queue-caller' });
    let serialised = 0;
    const meta = {
      detail: {
        toJSON() {
          serialised += 1;
          return 'x';
        },
      },
    };
    root.debug('not printed', meta);
    child.debug('not printed either', meta);
    child.log('debug', 'nor this', meta);
    await flush();
    expect(lines).to.deep.equal([]);
    expect(serialised).to.equal(0);
    child.info('printed', meta);
    await flush();
    expect(lines.map((l) => l.message)).to.deep.equal(['printed']);
    expect(lines[0]).to.include({ callId: 'c-9', level: 'info', detail: 'x' });
    expect(serialised).to.be.greaterThan(0);
  });

  it('follows a level changed while running', async () => {
    const { lines, stream } = capture();
    const root = createLogger({ stream, level: 'warn' });
    const child = callLogger(root, { callId: 'c-10', kind: 'queue-caller' });
    child.info('before');
    root.level = 'debug';
    child.debug('after');
    root.level = 'error';
    child.warn('silenced again');
    child.error('still printed');
    await flush();
    expect(lines.map((l) => l.message)).to.deep.equal(['after', 'still printed']);
  });
});
