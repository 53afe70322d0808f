import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROMPTS, queueAnnouncement } from '../../../src/calls/prompts';
import { parseConfig } from '../../../src/config/config';
import { PROMPT_SOUNDS_DIR, shippedLanguages } from '../../../src/config/prompt-languages';
import { storyConfig } from '../../../tools/support/story-config';

const root = path.resolve(__dirname, '..', '..', '..');
const soundsDir = path.join(root, 'asterisk-config', 'sounds');
const script = path.join(root, 'scripts', 'generate-prompts.sh');

/** `sound:callback/offer` -> `callback/offer` */
const soundPath = (media: string) => media.replace(/^sound:/, '');

/** The queue announcements (media) the shipped configurations make the whisper play. */
function shippedAnnouncements(): string[] {
  const example = JSON.parse(fs.readFileSync(path.join(root, 'docker', 'direct-callback.example.json'), 'utf8')) as unknown;
  const queues = [...parseConfig(example, { ARI_PASSWORD: 'x' }).queues, ...parseConfig(storyConfig(), { ARI_PASSWORD: 'x' }).queues];
  return [...new Set(queues.flatMap((q) => queueAnnouncement(q.id, q.announcement)))];
}

/** Every `lang/callback/name.wav` under a language folder, as `callback/name`. */
function promptFilesOf(language: string): string[] {
  return fs
    .readdirSync(path.join(soundsDir, language, 'callback'))
    .filter((f) => f.endsWith('.wav'))
    .map((f) => `callback/${f.replace(/\.wav$/, '')}`)
    .sort();
}

function runScript(...args: string[]): string {
  return execFileSync('bash', [script, ...args], { encoding: 'utf8' });
}

describe('prompts', () => {
  it('the shipped languages are the language folders under asterisk-config/sounds (en and es)', () => {
    expect(PROMPT_SOUNDS_DIR).to.equal(soundsDir);
    const folders = fs
      .readdirSync(soundsDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(shippedLanguages()).to.deep.equal(folders);
    expect(shippedLanguages()).to.include.members(['en', 'es']);
    expect(runScript('--languages').trim().split('\n').sort(), 'a text table in the generator for each folder').to.deep.equal(folders);
  });

  it('every prompt the code plays, and the shipped queue announcements, exist in every shipped language as 8 kHz mono 16-bit WAV', () => {
    const sounds = [...Object.values(PROMPTS), ...shippedAnnouncements()].map(soundPath);
    expect(sounds).to.include('callback/queue-support');
    for (const language of shippedLanguages()) {
      for (const sound of sounds) {
        const file = path.join(soundsDir, language, `${sound}.wav`);
        expect(fs.existsSync(file), file).to.equal(true);
        const header = fs.readFileSync(file).subarray(0, 44);
        expect(header.toString('ascii', 0, 4), file).to.equal('RIFF');
        expect(header.readUInt16LE(22), `${file}: channels`).to.equal(1);
        expect(header.readUInt32LE(24), `${file}: sample rate`).to.equal(8000);
        expect(header.readUInt16LE(34), `${file}: bits`).to.equal(16);
      }
    }
  });

  it('every language folder holds the same prompt files (none missing in one language)', () => {
    const english = promptFilesOf('en');
    for (const language of shippedLanguages()) expect(promptFilesOf(language), language).to.deep.equal(english);
  });

  it('the generator has a text for every prompt in every language', () => {
    const rows = runScript('--table')
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| ?|`/g, '').trim()));
    for (const media of Object.values(PROMPTS)) {
      const name = media.replace(/^sound:callback\//, '');
      const row = rows.find((r) => r[0] === name);
      expect(row, name).to.not.equal(undefined);
      for (const [i, language] of shippedLanguages().entries()) expect(row?.[1 + i], `${name} in ${language}`).to.match(/\S/);
    }
  });

  it("asterisk-config/sounds/README.md's table is the generator's (every prompt's text in every language)", () => {
    const readme = fs.readFileSync(path.join(soundsDir, 'README.md'), 'utf8');
    const table = /<!-- prompt-table:start[^>]*-->\n([\s\S]*?)<!-- prompt-table:end -->/.exec(readme)?.[1];
    expect(table, 'the README marks its table with prompt-table:start/end').to.be.a('string');
    expect(table, 'regenerate it with scripts/generate-prompts.sh --table').to.equal(runScript('--table'));
  });
});
