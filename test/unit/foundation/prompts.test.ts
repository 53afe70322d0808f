import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PROMPTS } from '../../../src/calls/prompts';

describe('prompts', () => {
  const dir = path.resolve(__dirname, '..', '..', '..', 'asterisk-config', 'sounds', 'en', 'callback');

  it('every prompt the plugin plays exists as 8 kHz mono 16-bit WAV under asterisk-config/', () => {
    for (const media of Object.values(PROMPTS)) {
      const name = media.replace(/^sound:callback\//, '');
      const file = path.join(dir, `${name}.wav`);
      expect(fs.existsSync(file), file).to.equal(true);
      const header = fs.readFileSync(file).subarray(0, 44);
      expect(header.toString('ascii', 0, 4)).to.equal('RIFF');
      expect(header.readUInt16LE(22), `${name}: channels`).to.equal(1);
      expect(header.readUInt32LE(24), `${name}: sample rate`).to.equal(8000);
      expect(header.readUInt16LE(34), `${name}: bits`).to.equal(16);
    }
  });

  it('the generator script names every prompt (so regenerating keeps them)', () => {
    const script = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'scripts', 'generate-prompts.sh'), 'utf8');
    for (const media of Object.values(PROMPTS)) {
      const name = media.replace(/^sound:callback\//, '');
      expect(script, name).to.include(`"${name}|`);
    }
  });
});
