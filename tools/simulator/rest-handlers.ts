/**
 * ARI REST operations, keyed by `${resource}.${nickname}` from the spec. Each handler does the
 * object lookups in the order Asterisk does them (probes.md), then enforces the strict parameter
 * check, then acts on the model.
 */
import os from 'node:os';
import type { AsteriskModel } from './model/asterisk-model';
import { AriHttpError, HANGUP_REASON_CAUSE, asteriskTime, notFound } from './model/support';
import type { SimChannel } from './model/channels';

export interface RestRequest {
  method: string;
  pathParams: Record<string, string>;
  query: Map<string, string[]>;
  body: Record<string, unknown> | null;
  /** Strict-validation problems (already recorded as violations by the server). */
  problems: string[];
}

export interface RestResponse {
  status: number;
  body?: unknown;
  /** Runs right after the response was written. */
  after?: () => void;
}

export type RestHandler = (req: RestRequest) => RestResponse | Promise<RestResponse>;

export interface RestEnv {
  model: AsteriskModel;
  asteriskId: string;
  startedAt: Date;
  globalVars: Map<string, string>;
}

function q(req: RestRequest, name: string): string | undefined {
  const v = req.query.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}
function qList(req: RestRequest, name: string): string[] {
  return (req.query.get(name) ?? []).flatMap((v) => v.split(',')).filter((s) => s !== '');
}
function qInt(req: RestRequest, name: string, dflt: number): number {
  const v = q(req, name);
  if (v === undefined) return dflt;
  const n = parseInt(v, 10);
  return Number.isNaN(n) ? 0 : n;
}
function strict(req: RestRequest): void {
  if (req.problems.length) throw new AriHttpError(400, { message: req.problems.join('; ') });
}
function vars(req: RestRequest, key = 'variables'): Record<string, string> {
  const v = req.body?.[key];
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = String(val);
  }
  return out;
}
const ok = (body: unknown): RestResponse => ({ status: 200, body });
const noContent: RestResponse = { status: 204 };

function controlled(ch: SimChannel): void {
  if (!ch.inStasis) throw new AriHttpError(409, { message: 'Channel not in Stasis application' });
}

export function buildRestHandlers(env: RestEnv): Map<string, RestHandler> {
  const { model } = env;
  const h = new Map<string, RestHandler>();
  const chan = (req: RestRequest, message?: string): SimChannel => model.requireChannel(req.pathParams.channelId, message);

  // ------------------------------------------------------------ asterisk
  h.set('asterisk.getInfo', (req) => {
    strict(req);
    const info: Record<string, unknown> = {
      build: {
        os: 'Linux',
        kernel: os.release(),
        machine: os.arch() === 'x64' ? 'x86_64' : os.arch(),
        options: 'OPTIONAL_API',
        date: asteriskTime(env.startedAt).replace('T', ' ').slice(0, 19) + ' UTC',
        user: 'root',
      },
      system: { version: '22.10.1', entity_id: env.asteriskId },
      config: { name: '', default_language: 'en', setid: { user: '', group: '' } },
      status: { startup_time: asteriskTime(env.startedAt), last_reload_time: asteriskTime(env.startedAt) },
    };
    const only = qList(req, 'only');
    if (only.length) for (const k of Object.keys(info)) if (!only.includes(k)) delete info[k];
    return ok(info);
  });
  h.set('asterisk.ping', (req) => {
    strict(req);
    return ok({ asterisk_id: env.asteriskId, ping: 'pong', timestamp: asteriskTime() });
  });
  h.set('asterisk.getGlobalVar', (req) => {
    strict(req);
    return ok({ value: env.globalVars.get(q(req, 'variable') ?? '') ?? '' });
  });
  h.set('asterisk.setGlobalVar', (req) => {
    strict(req);
    env.globalVars.set(q(req, 'variable') ?? '', q(req, 'value') ?? '');
    return noContent;
  });

  // ------------------------------------------------------------ applications
  const app = (name: string) => {
    const a = model.apps.get(name);
    if (!a) throw notFound('Application not found');
    return a;
  };
  h.set('applications.list', (req) => {
    strict(req);
    return ok([...model.apps.values()].map((a) => model.appJson(a)));
  });
  h.set('applications.get', (req) => {
    const a = app(req.pathParams.applicationName);
    strict(req);
    return ok(model.appJson(a));
  });
  for (const [nick, unsub] of [
    ['subscribe', false],
    ['unsubscribe', true],
  ] as const) {
    h.set(`applications.${nick}`, (req) => {
      const a = app(req.pathParams.applicationName);
      strict(req);
      model.subscribe(a, qList(req, 'eventSource'), unsub);
      return ok(model.appJson(a));
    });
  }

  // ------------------------------------------------------------ channels
  h.set('channels.list', (req) => {
    strict(req);
    return ok([...model.channels.values()].filter((c) => c.alive).map((c) => c.snapshot()));
  });
  const originate = (req: RestRequest, channelId: string | undefined): RestResponse => {
    const endpoint = q(req, 'endpoint');
    if (!endpoint) throw new AriHttpError(400, { message: 'Endpoint must be specified' });
    const appName = q(req, 'app');
    const extension = q(req, 'extension');
    if (!appName && !extension) throw new AriHttpError(400, { message: 'Application or extension must be specified' });
    strict(req);
    const ch = model.originate({
      endpoint,
      app: appName,
      appArgs: q(req, 'appArgs'),
      extension,
      context: q(req, 'context'),
      priority: q(req, 'priority') ? qInt(req, 'priority', 1) : undefined,
      callerId: q(req, 'callerId'),
      timeoutSec: qInt(req, 'timeout', 30),
      channelId,
      originator: q(req, 'originator'),
      variables: vars(req),
    });
    return ok(ch.snapshot());
  };
  h.set('channels.originate', (req) => originate(req, q(req, 'channelId')));
  h.set('channels.originateWithId', (req) => originate(req, req.pathParams.channelId));
  h.set('channels.create', (req) => {
    const endpoint = q(req, 'endpoint');
    if (!endpoint) throw new AriHttpError(400, { message: 'Endpoint must be specified' });
    strict(req);
    const r = model.create({
      endpoint,
      app: q(req, 'app') ?? '',
      appArgs: q(req, 'appArgs'),
      channelId: q(req, 'channelId'),
      originator: q(req, 'originator'),
      variables: vars(req),
    });
    return { status: 200, body: r.snapshot, after: r.enterBeforeResponse ? undefined : r.enterStasis };
  });
  h.set('channels.get', (req) => {
    const ch = chan(req);
    strict(req);
    return ok(ch.snapshot());
  });
  h.set('channels.hangup', (req) => {
    const ch = chan(req);
    const reason = q(req, 'reason');
    const code = q(req, 'reason_code');
    if (reason !== undefined && code !== undefined)
      throw new AriHttpError(400, { message: "The reason and reason_code can't both be specified" });
    strict(req);
    let cause = 16;
    if (reason !== undefined) cause = HANGUP_REASON_CAUSE[reason] ?? 16;
    if (code !== undefined) cause = parseInt(code, 10) || 16;
    model.appHangup(ch, cause);
    return noContent;
  });
  h.set('channels.continueInDialplan', (req) => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    const priority = q(req, 'priority');
    model.continueInDialplan(ch, {
      context: q(req, 'context'),
      extension: q(req, 'extension'),
      priority: priority === undefined ? undefined : parseInt(priority, 10),
      label: q(req, 'label'),
    });
    return noContent;
  });
  h.set('channels.answer', async (req) => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    await model.waitChannelPlaybacks(ch);
    if (ch.alive) model.answer(ch);
    return noContent;
  });
  for (const nick of ['ring', 'ringStop', 'progress', 'mute', 'unmute', 'hold', 'unhold', 'startSilence', 'stopSilence', 'sendDTMF']) {
    h.set(`channels.${nick}`, (req) => {
      const ch = chan(req);
      controlled(ch);
      strict(req);
      return noContent;
    });
  }
  h.set('channels.startMoh', (req) => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    ch.mohActive = true;
    ch.mohClass = q(req, 'mohClass') ?? 'default';
    model.changed();
    return noContent;
  });
  h.set('channels.stopMoh', (req) => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    ch.mohActive = false;
    ch.mohClass = null;
    model.changed();
    return noContent;
  });
  const playOnChannel = (req: RestRequest, playbackId: string | undefined): RestResponse => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    const pb = model.play({ kind: 'channel', channel: ch }, qList(req, 'media'), playbackId, q(req, 'lang'));
    return { status: 201, body: pb.snapshot() };
  };
  h.set('channels.play', (req) => playOnChannel(req, q(req, 'playbackId')));
  h.set('channels.playWithId', (req) => playOnChannel(req, req.pathParams.playbackId));
  h.set('channels.getChannelVar', (req) => {
    const ch = chan(req, 'Provided channel was not found');
    strict(req);
    const v = model.getVariable(ch, q(req, 'variable') ?? '');
    if (v === undefined) throw notFound('Provided variable was not found');
    return ok({ value: v });
  });
  h.set('channels.setChannelVar', async (req) => {
    const ch = chan(req);
    strict(req);
    await model.waitChannelPlaybacks(ch);
    model.setVariable(ch, q(req, 'variable') ?? '', q(req, 'value') ?? '');
    return noContent;
  });
  h.set('channels.dial', (req) => {
    const ch = chan(req);
    controlled(ch);
    strict(req);
    model.dial(ch, q(req, 'caller'), qInt(req, 'timeout', 0));
    return noContent;
  });

  // ------------------------------------------------------------ bridges
  h.set('bridges.list', (req) => {
    strict(req);
    return ok([...model.bridges.values()].filter((b) => b.alive).map((b) => b.snapshot()));
  });
  h.set('bridges.create', (req) => {
    const b = model.createBridge(q(req, 'type'), q(req, 'bridgeId'), q(req, 'name'));
    if (req.problems.length) {
      model.bridges.delete(b.id);
      strict(req);
    }
    return ok(b.snapshot());
  });
  h.set('bridges.createWithId', (req) => {
    const b = model.createBridge(q(req, 'type'), req.pathParams.bridgeId, q(req, 'name'));
    if (req.problems.length) {
      model.bridges.delete(b.id);
      strict(req);
    }
    return ok(b.snapshot());
  });
  h.set('bridges.get', (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    strict(req);
    return ok(b.snapshot());
  });
  h.set('bridges.destroy', (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    strict(req);
    model.destroyBridge(b);
    return noContent;
  });
  h.set('bridges.addChannel', async (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    const ids = qList(req, 'channel');
    const chans = ids.map((id) => {
      const c = model.getChannel(id);
      if (!c) throw new AriHttpError(400, { message: 'Channel not found' });
      return c;
    });
    for (const c of chans) if (!c.inStasis) throw new AriHttpError(422, { message: 'Channel not in Stasis application' });
    strict(req);
    // traces c, g, h: addChannel is queued behind a channel playback and answered when it finished
    await Promise.all(chans.map((c) => model.waitChannelPlaybacks(c)));
    if (!b.alive) throw notFound('Bridge not found');
    model.addToBridge(
      b,
      chans.filter((c) => c.alive),
    );
    return noContent;
  });
  h.set('bridges.removeChannel', (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    const chans = qList(req, 'channel').map((id) => {
      const c = model.getChannel(id);
      if (!c) throw new AriHttpError(400, { message: 'Channel not found' });
      return c;
    });
    for (const c of chans) if (c.bridge !== b) throw new AriHttpError(422, { message: 'Channel not in this bridge' });
    strict(req);
    for (const c of chans) model.leaveBridge(c, { unsubscribe: true });
    return noContent;
  });
  h.set('bridges.startMoh', (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    strict(req);
    b.mohActive = true;
    b.mohClass = q(req, 'mohClass') ?? 'default';
    model.changed();
    return noContent;
  });
  h.set('bridges.stopMoh', (req) => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    strict(req);
    b.mohActive = false;
    b.mohClass = null;
    model.changed();
    return noContent;
  });
  const playOnBridge = (req: RestRequest, playbackId: string | undefined): RestResponse => {
    const b = model.requireBridge(req.pathParams.bridgeId);
    strict(req);
    const pb = model.play({ kind: 'bridge', bridge: b }, qList(req, 'media'), playbackId, q(req, 'lang'));
    return { status: 201, body: pb.snapshot() };
  };
  h.set('bridges.play', (req) => playOnBridge(req, q(req, 'playbackId')));
  h.set('bridges.playWithId', (req) => playOnBridge(req, req.pathParams.playbackId));

  // ------------------------------------------------------------ playbacks
  h.set('playbacks.get', (req) => {
    const p = model.requirePlayback(req.pathParams.playbackId);
    strict(req);
    return ok(p.snapshot());
  });
  h.set('playbacks.stop', (req) => {
    const p = model.requirePlayback(req.pathParams.playbackId);
    strict(req);
    model.stopPlayback(p);
    return noContent;
  });
  h.set('playbacks.control', (req) => {
    const p = model.requirePlayback(req.pathParams.playbackId);
    strict(req);
    model.controlPlayback(p, q(req, 'operation') ?? '');
    return noContent;
  });

  // ------------------------------------------------------------ device states
  h.set('deviceStates.list', (req) => {
    strict(req);
    return ok([...model.stasisDevices.entries()].map(([name, state]) => ({ name, state })));
  });
  h.set('deviceStates.get', (req) => {
    strict(req);
    const name = req.pathParams.deviceName;
    return ok({ name, state: model.deviceState(name) });
  });
  h.set('deviceStates.update', (req) => {
    const name = req.pathParams.deviceName;
    if (!name.startsWith('Stasis:')) throw new AriHttpError(409, { message: 'Uncontrolled device specified' });
    strict(req);
    const state = q(req, 'deviceState') ?? '';
    if (!model.isDeviceStateName(state)) throw new AriHttpError(500, { message: 'Unknown device' });
    model.setStasisDevice(name, state);
    return noContent;
  });
  h.set('deviceStates.delete', (req) => {
    const name = req.pathParams.deviceName;
    if (!name.startsWith('Stasis:')) throw new AriHttpError(409, { message: 'Uncontrolled device specified' });
    strict(req);
    model.setStasisDevice(name, null);
    return noContent;
  });

  // ------------------------------------------------------------ sounds
  // Found: the shape of the recorded snapshot (sounds-queue-callswaiting.json). Missing: 404
  // "Sound not found", as res/ari/resource_sounds.c answers (not recorded in the lab). A sound in a
  // folder has the id "folder/name" (Asterisk's media index); the request carries it as
  // "folder%2Fname" in one path segment, decoded like the recorded GET /deviceStates/PJSIP%2F1001.
  h.set('sounds.get', (req) => {
    const id = req.pathParams.soundId;
    const formats = model.soundFormats(id);
    if (formats.length === 0) throw notFound('Sound not found');
    strict(req);
    return ok({ id, formats });
  });

  // ------------------------------------------------------------ endpoints
  h.set('endpoints.list', (req) => {
    strict(req);
    return ok([...model.endpoints.values()].map((e) => model.endpointJson(e)));
  });
  h.set('endpoints.listByTech', (req) => {
    strict(req);
    const tech = req.pathParams.tech;
    const list = [...model.endpoints.values()].filter((e) => e.tech === tech);
    // Measured on 22.10.1: a technology without endpoints (SIP: no chan_sip; Local; `pjsip`: the name
    // is case-sensitive) answers this, not "Endpoint not found".
    if (!list.length) throw notFound(`No Endpoints found - invalid tech ${tech}`);
    return ok(list.map((e) => model.endpointJson(e)));
  });
  h.set('endpoints.get', (req) => {
    const rec = model.endpoints.get(`${req.pathParams.tech}/${req.pathParams.resource}`);
    if (!rec) throw notFound('Endpoint not found');
    strict(req);
    return ok(model.endpointJson(rec));
  });

  // ------------------------------------------------------------ events
  h.set('events.userEvent', (req) => {
    const appName = q(req, 'application') ?? '';
    if (!model.apps.has(appName)) throw notFound('Application not found');
    strict(req);
    const fields: Record<string, unknown> = { eventname: req.pathParams.eventName };
    for (const src of qList(req, 'source')) {
      const m = /^(channel|bridge|endpoint):(.+)$/.exec(src);
      if (!m) throw new AriHttpError(400, { message: 'Invalid event source URI scheme' });
      if (m[1] === 'channel') {
        const c = model.getChannel(m[2]);
        if (!c) throw new AriHttpError(422, { message: 'Event source does not exist' });
        fields.channel = c.snapshot();
      } else if (m[1] === 'bridge') {
        const b = model.bridges.get(m[2]);
        if (!b) throw new AriHttpError(422, { message: 'Event source does not exist' });
        fields.bridge = b.snapshot();
      } else {
        const e = model.endpoints.get(m[2]);
        if (!e) throw new AriHttpError(422, { message: 'Event source does not exist' });
        fields.endpoint = model.endpointJson(e);
      }
    }
    fields.userevent = { eventname: req.pathParams.eventName, ...vars(req) };
    return { status: 204, after: () => model.emitUserEvent(appName, fields) };
  });
  return h;
}
