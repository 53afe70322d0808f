import { expect } from 'chai';
import { decodeAriEvent, HANDLED_EVENT_TYPES } from '../../../src/ari/ari-events';

describe('decodeAriEvent (the ARI event stream, decoded without ari-client)', () => {
  const stasisStart = {
    type: 'StasisStart',
    timestamp: '2026-12-06T10:00:00.000+0000',
    args: ['queue', 'support'],
    channel: {
      id: '1733479200.1',
      name: 'PJSIP/trunk-00000001',
      state: 'Ring',
      caller: { name: '', number: '+15551234567' },
      connected: { name: '', number: '' },
      dialplan: { context: 'from-trunk', exten: '100', priority: 2 },
      language: 'en',
    },
    asterisk_id: '00:11:22:33:44:55',
    application: 'direct-callback',
  };

  it('gives back the object Asterisk sent, field for field, from a text frame or a buffer', () => {
    const text = JSON.stringify(stasisStart);
    expect(decodeAriEvent(text)).to.deep.equal(stasisStart);
    expect(decodeAriEvent(Buffer.from(text, 'utf8'))).to.deep.equal(stasisStart);
  });

  it('keeps characters outside ASCII in a buffer (a caller name in UTF-8)', () => {
    const ev = { ...stasisStart, channel: { ...stasisStart.channel, caller: { name: 'Zoë Müller', number: '+4930123' } } };
    const decoded = decodeAriEvent(Buffer.from(JSON.stringify(ev), 'utf8'));
    expect(decoded?.type === 'StasisStart' ? decoded.channel.caller.name : undefined).to.equal('Zoë Müller');
  });

  it('decodes every event type the plugin acts on', () => {
    for (const type of HANDLED_EVENT_TYPES) expect(decodeAriEvent(JSON.stringify({ type }))?.type).to.equal(type);
  });

  it('drops events the plugin does not act on, and anything that is not an event', () => {
    for (const data of [
      JSON.stringify({ type: 'ChannelVarset', variable: 'X', value: '1' }),
      JSON.stringify({ type: 'BridgeCreated' }),
      JSON.stringify({ type: 42 }),
      JSON.stringify({ channel: stasisStart.channel }),
      JSON.stringify(['StasisStart']),
      'null',
      '{"type":"StasisStart"',
      '',
    ])
      expect(decodeAriEvent(data), data).to.equal(undefined);
    expect(decodeAriEvent(undefined)).to.equal(undefined);
    expect(decodeAriEvent(123)).to.equal(undefined);
  });
});
