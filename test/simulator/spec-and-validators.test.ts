/** Compact spec reproducibility, request validation (it can fail) and event validation. */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { buildCompactSpec, committedApiDocsDir, serializeCompactSpec } from '../../tools/simulator/spec/compact-spec-builder';
import { COMPACT_SPEC_PATH, loadCompactSpec } from '../../tools/simulator/spec/ari-spec';
import { EventValidator } from '../../tools/simulator/event-validator';
import { RequestValidator, parseQuery } from '../../tools/simulator/request-validator';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { rawRequest } from '../helpers/simulator-ari';

const apiDocs = committedApiDocsDir(path.resolve(__dirname, '..', '..'));

describe('simulator compact ARI spec', () => {
  it('the committed tools/simulator/spec/ari-spec.json equals what `npm run ari-spec` produces from the committed api-docs', () => {
    expect(fs.readFileSync(COMPACT_SPEC_PATH, 'utf8')).to.equal(serializeCompactSpec(buildCompactSpec(apiDocs)));
  });

  it('keeps facts only (no descriptions) and knows the event models', () => {
    const text = fs.readFileSync(COMPACT_SPEC_PATH, 'utf8');
    expect(text).to.not.match(/"(description|notes|summary)": "/);
    const spec = loadCompactSpec();
    expect(spec.eventModels).to.include.members([
      'StasisStart',
      'StasisEnd',
      'ChannelDestroyed',
      'Dial',
      'PlaybackFinished',
      'ApplicationReplaced',
    ]);
    const channels = spec.resources.find((r) => r.name === 'channels');
    const play = channels?.apis.find((a) => a.path === '/channels/{channelId}/play')?.operations[0];
    expect(play?.parameters.find((p) => p.name === 'media')).to.deep.include({ required: true, allowMultiple: true, dataType: 'string' });
  });
});

describe('simulator request validator', () => {
  const v = new RequestValidator(loadCompactSpec());
  const check = (method: string, p: string, query: string, body?: unknown): string[] => {
    const r = v.route(method, p);
    if (r.kind !== 'ok') throw new Error(`no route ${method} ${p}`);
    return v.check(r.match.operation, parseQuery(new URLSearchParams(query)), body);
  };

  it('routes literal segments before {params} and reports unknown resources and methods', () => {
    const r = v.route('POST', '/channels/create');
    expect(r.kind === 'ok' && r.match.operation.nickname).to.equal('create');
    const g = v.route('GET', '/channels/abc');
    expect(g.kind === 'ok' && g.match.pathParams).to.deep.equal({ channelId: 'abc' });
    expect(v.route('GET', '/nosuchresource').kind).to.equal('not-found');
    expect(v.route('PUT', '/asterisk/info').kind).to.equal('bad-method');
  });

  it('accepts a correct originate with a JSON variables body and comma-separated media', () => {
    expect(check('POST', '/channels', 'endpoint=PJSIP/1001&app=a&appArgs=x,y&timeout=30', { variables: { A: '1' } })).to.deep.equal([]);
    expect(check('POST', '/channels/c1/play', 'media=sound:a,digits:123&lang=en')).to.deep.equal([]);
  });

  it('rejects unknown params, wrong types, bad allowable values, missing required, bad bodies', () => {
    expect(check('POST', '/channels', 'endpoint=PJSIP/1001&app=a&bogus=1')[0]).to.match(/unknown query parameter 'bogus'/);
    expect(check('POST', '/channels', 'endpoint=PJSIP/1001&app=a&timeout=abc')[0]).to.match(/'timeout' must be an integer/);
    expect(check('DELETE', '/channels/c1', 'reason=whatever')[0]).to.match(/'reason' has value 'whatever' outside/);
    expect(check('POST', '/channels/c1/play', '')[0]).to.match(/missing required query parameter 'media'/);
    expect(check('POST', '/channels/c1/dial', 'timeout=-1')[0]).to.match(/'timeout' value -1 is outside/);
    expect(check('POST', '/channels/c1/variable', 'variable=A&report_events=yes')[0]).to.match(/'report_events' must be 'true' or 'false'/);
    expect(check('POST', '/channels', 'endpoint=PJSIP/1001&app=a', { variables: { A: 1 } })[0]).to.match(/'variables.A' must be a string/);
    expect(check('POST', '/channels', 'endpoint=PJSIP/1001&app=a', { vars: {} })[0]).to.match(/unknown body field 'vars'/);
  });
});

describe('simulator event validator', () => {
  const ev = new EventValidator(loadCompactSpec());
  const channel = {
    id: '1.0',
    name: 'PJSIP/trunk-00000000',
    state: 'Up',
    protocol_id: 'x',
    caller: { name: '', number: '1' },
    connected: { name: '', number: '' },
    accountcode: '',
    dialplan: { context: 'c', exten: 's', priority: 1, app_name: 'Stasis', app_data: 'a' },
    creationtime: '2026-11-24T19:14:49.110+0000',
    language: 'en',
  };
  const base = { timestamp: '2026-11-24T19:14:49.111+0000', application: 'a', asterisk_id: 'x' };

  it('accepts a valid StasisStart', () => {
    expect(ev.validate({ type: 'StasisStart', ...base, args: ['q'], channel })).to.deep.equal([]);
  });

  it('catches a missing required field, a wrong type, an unknown property, a bad enum and an unknown type', () => {
    expect(ev.validate({ type: 'StasisStart', ...base, channel })).to.deep.equal(['StasisStart.args: required property missing']);
    expect(ev.validate({ type: 'ChannelDtmfReceived', ...base, digit: '1', duration_ms: '280', channel })[0]).to.match(
      /duration_ms: expected integer/,
    );
    expect(ev.validate({ type: 'StasisEnd', ...base, channel, extra: 1 })[0]).to.match(/extra: property not defined/);
    expect(ev.validate({ type: 'StasisEnd', ...base, channel: { ...channel, state: 'Talking' } })[0]).to.match(
      /state: 'Talking' not one of/,
    );
    const { caller: _c, ...noCaller } = channel;
    void _c;
    expect(ev.validate({ type: 'StasisEnd', ...base, channel: noCaller })[0]).to.match(/channel.caller: required property missing/);
    expect(ev.validate({ type: 'NoSuchEvent', ...base })[0]).to.match(/unknown event type/);
    expect(ev.validate({ type: 'StasisEnd', ...base, timestamp: '2026-11-24T19:14:49Z', channel })[0]).to.match(
      /timestamp: expected Asterisk date/,
    );
  });
});

describe('simulator REST strictness over HTTP', () => {
  let sim: AriSimulator;
  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'u', password: 'p' });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('answers the probes.md bodies and records violations for what the plugin must never send', async () => {
    expect(await rawRequest(sim, 'GET', '/ari/asterisk/info', { auth: 'u:wrong' })).to.deep.equal({
      status: 401,
      body: { message: 'Authentication required' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/api-docs/resources.json', { auth: 'u:wrong' })).to.deep.equal({
      status: 401,
      body: { message: 'Authentication required' },
    });
    expect(await rawRequest(sim, 'PUT', '/ari/asterisk/info')).to.deep.equal({ status: 405, body: { message: 'Invalid method' } });
    expect(await rawRequest(sim, 'GET', '/ari/nosuchresource')).to.deep.equal({ status: 404, body: { message: 'Resource not found' } });
    expect(await rawRequest(sim, 'POST', '/ari/channels')).to.deep.equal({ status: 400, body: { message: 'Endpoint must be specified' } });
    expect(await rawRequest(sim, 'POST', '/ari/channels?endpoint=PJSIP/1001')).to.deep.equal({
      status: 400,
      body: { message: 'Application or extension must be specified' },
    });
    expect(await rawRequest(sim, 'POST', '/ari/channels/nochan/play')).to.deep.equal({
      status: 404,
      body: { message: 'Channel not found' },
    });
    expect(await rawRequest(sim, 'DELETE', '/ari/channels/nochan')).to.deep.equal({ status: 404, body: { message: 'Channel not found' } });
    expect(await rawRequest(sim, 'POST', '/ari/bridges?type=bogus')).to.deep.equal({
      status: 500,
      body: { message: "Unable to create bridge. Possible duplicate bridge id '(null)'" },
    });
    // A live bridge's id: 409 on both create routes, whatever the type (measured, probes.md).
    expect((await rawRequest(sim, 'POST', '/ari/bridges?bridgeId=dup-1&type=holding')).status).to.equal(200);
    expect(await rawRequest(sim, 'POST', '/ari/bridges?bridgeId=dup-1&type=mixing')).to.deep.equal({
      status: 409,
      body: { message: "Bridge with id 'dup-1' already exists" },
    });
    expect(await rawRequest(sim, 'POST', '/ari/bridges/dup-1?type=holding')).to.deep.equal({
      status: 409,
      body: { message: "Bridge with id 'dup-1' already exists" },
    });
    sim.endpoint('PJSIP/1001');
    const strictTimeout = await rawRequest(sim, 'POST', '/ari/channels?endpoint=PJSIP/1001&app=a&timeout=abc');
    expect(strictTimeout.status).to.equal(400);
    expect(String((strictTimeout.body as { message: string }).message)).to.match(/timeout/);
    const msgs = sim.violations.map((v) => v.message);
    expect(msgs.some((m) => /unknown resource/.test(m))).to.equal(true);
    expect(msgs.some((m) => /method PUT not allowed/.test(m))).to.equal(true);
    expect(msgs.some((m) => /missing required query parameter 'endpoint'/.test(m))).to.equal(true);
    expect(msgs.some((m) => /missing required query parameter 'media'/.test(m))).to.equal(true);
    expect(msgs.some((m) => /'timeout' must be an integer/.test(m))).to.equal(true);
    expect(() => sim.assertNoViolations()).to.throw(/problem/);
  });

  it("answers the doctor's questions as the real Asterisk did (probes.md, the doctor's questions)", async () => {
    // Outside /ari: the HTTP server's HTML page, before (and whatever) the credentials.
    for (const auth of ['u:p', 'u:wrong']) {
      const page = await rawRequest(sim, 'GET', '/asterisk/ari/asterisk/info', { auth });
      expect(page.status).to.equal(404);
      expect(String(page.body)).to.match(/^<!DOCTYPE HTML PUBLIC[\s\S]*<title>404 Not Found<\/title>[\s\S]*<address>Asterisk<\/address>/);
    }
    // /ari twice (ARI_URL ending in /ari): ARI's own 404, after the credentials.
    expect(await rawRequest(sim, 'GET', '/ari/ari/asterisk/info', { auth: 'u:wrong' })).to.deep.equal({
      status: 401,
      body: { message: 'Authentication required' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/ari/asterisk/info')).to.deep.equal({ status: 404, body: { message: 'Resource not found' } });
    sim.endpoint('PJSIP/1001');
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/PJSIP/nope')).to.deep.equal({
      status: 404,
      body: { message: 'Endpoint not found' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/SIP')).to.deep.equal({
      status: 404,
      body: { message: 'No Endpoints found - invalid tech SIP' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/Local')).to.deep.equal({
      status: 404,
      body: { message: 'No Endpoints found - invalid tech Local' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/pjsip')).to.deep.equal({
      status: 404,
      body: { message: 'No Endpoints found - invalid tech pjsip' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/PJSIP/1001')).to.include({ status: 200 });
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/PJSIP/1001A')).to.deep.equal({
      status: 404,
      body: { message: 'Endpoint not found' },
    });
    expect(await rawRequest(sim, 'GET', '/ari/sounds/callback/offer')).to.deep.equal({
      status: 404,
      body: { message: 'Resource not found' },
    });
  });

  it('api_key query auth works, and api-docs can be made to answer 503/401', async () => {
    const res = await fetch(`${sim.url}/ari/asterisk/info?api_key=u:p`);
    expect(res.status).to.equal(200);
    const info = (await res.json()) as { system: { version: string } };
    expect(info.system.version).to.equal('22.10.1');
    sim.setApiDocsStatus(503);
    expect((await rawRequest(sim, 'GET', '/ari/api-docs/resources.json')).status).to.equal(503);
    sim.setApiDocsStatus(401);
    expect((await rawRequest(sim, 'GET', '/ari/api-docs/channels.json')).status).to.equal(401);
    sim.setApiDocsStatus(200);
    const docs = await rawRequest(sim, 'GET', '/ari/api-docs/resources.json');
    expect((docs.body as { basePath: string }).basePath).to.equal(`${sim.url}/ari`);
  });
});
