import { expect } from 'chai';
import { choosePromptLanguage, DEFAULT_LANGUAGE } from '../../../src/domain/language';

describe('domain/language: which language a call hears', () => {
  const available = ['en', 'es'] as const;

  it("the caller's channel language when prompts exist for it", () => {
    expect(choosePromptLanguage({ preferred: 'es', available })).to.equal('es');
    expect(choosePromptLanguage({ preferred: 'es', queueLanguage: 'en', available }), 'the caller wins over the queue').to.equal('es');
    expect(choosePromptLanguage({ preferred: 'en', queueLanguage: 'es', available }), 'an English channel in a Spanish queue').to.equal(
      'en',
    );
  });

  it('a regional variant plays its base language, as Asterisk falls back for sound files', () => {
    expect(choosePromptLanguage({ preferred: 'es_MX', available })).to.equal('es');
    expect(choosePromptLanguage({ preferred: 'es-419', queueLanguage: 'en', available })).to.equal('es');
    expect(choosePromptLanguage({ preferred: 'en_GB', queueLanguage: 'es', available })).to.equal('en');
    expect(choosePromptLanguage({ preferred: 'es_MX', available: ['en', 'es', 'es_MX'] }), 'an exact folder wins').to.equal('es_MX');
  });

  it("a language without prompts falls back to the queue's language", () => {
    expect(choosePromptLanguage({ preferred: 'de', queueLanguage: 'es', available })).to.equal('es');
    expect(choosePromptLanguage({ preferred: 'pt_BR', queueLanguage: 'es', available })).to.equal('es');
  });

  it('no usable language at all: English', () => {
    expect(DEFAULT_LANGUAGE).to.equal('en');
    expect(choosePromptLanguage({ preferred: 'de', available })).to.equal('en');
    expect(choosePromptLanguage({ preferred: undefined, available })).to.equal('en');
    expect(choosePromptLanguage({ preferred: null, queueLanguage: undefined, available })).to.equal('en');
    expect(choosePromptLanguage({ preferred: '', available }), 'a channel without a language').to.equal('en');
    expect(
      choosePromptLanguage({ preferred: 'de', queueLanguage: 'fr', available }),
      'a queue language without prompts is no choice either',
    ).to.equal('en');
  });

  it("no channel language: the queue's", () => {
    expect(choosePromptLanguage({ preferred: undefined, queueLanguage: 'es', available })).to.equal('es');
    expect(choosePromptLanguage({ preferred: '  ', queueLanguage: 'es', available })).to.equal('es');
  });
});
