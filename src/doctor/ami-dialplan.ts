import { Writable } from 'node:stream';
import { AmiConnection } from '../ami/ami-connection';
import { AmiActionError, AmiFields } from '../ami/ami-messages';
import { AmiConfig } from '../config/config';
import { createLogger } from '../logging/logger';

/**
 * The loaded dialplan, read over AMI with `ShowDialPlan`. The answer's format is main/pbx.c's
 * manager_show_dialplan_helper(): one `ListDialplan` event per priority (Context, Extension,
 * optional ExtensionLabel, Priority, Application, AppData, Registrar), one per include (Context,
 * IncludeContext), plus ignore patterns and switches, then `ShowDialPlanComplete`. ShowDialPlan is
 * registered with the classes config|reporting, so the sample manager.conf's `write = reporting`
 * allows it. The parser keeps what it recognises and ignores the rest.
 */
export interface DialplanPriority {
  context: string;
  /** As Asterisk lists it: a number (`5552000`, `*51`) or a pattern (`_555XXXX`). */
  extension: string;
  priority: string;
  application: string;
  appData: string;
  /**
   * Who added the line: `pbx_config` for extensions.conf. res_stasis adds a context of its own,
   * `stasis-<app>`, for every connected ARI app (`_.` → `Stasis(<app>)` with no arguments, and
   * `h` → `NoOp`); it is not the administrator's dialplan.
   */
  registrar?: string;
}

export interface Dialplan {
  priorities: DialplanPriority[];
  /** context -> the contexts it includes, in order. */
  includes: Map<string, string[]>;
}

/** A narrow source of the dialplan: AMI here; a stub or a real Asterisk in tests. */
export interface DialplanSource {
  /** Human-readable, for messages (e.g. `AMI 127.0.0.1:5038`). */
  readonly description: string;
  read(): Promise<Dialplan>;
}

/** Why the dialplan could not be read: the doctor's `ami` check reports it. */
export class DialplanUnavailable extends Error {
  override name = 'DialplanUnavailable';
  constructor(
    readonly reason: 'unreachable' | 'login-failed' | 'not-permitted' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

/** Events of a ShowDialPlan answer (header names in any case) → the dialplan. */
export function parseShowDialPlan(events: readonly AmiFields[]): Dialplan {
  const priorities: DialplanPriority[] = [];
  const includes = new Map<string, string[]>();
  for (const raw of events) {
    const f = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    const context = f.context;
    if (context === undefined) continue;
    if (f.includecontext !== undefined) {
      includes.set(context, [...(includes.get(context) ?? []), f.includecontext]);
      continue;
    }
    if (f.extension === undefined || f.application === undefined) continue;
    priorities.push({
      context,
      extension: f.extension,
      priority: f.priority ?? '',
      application: f.application,
      appData: f.appdata ?? '',
      ...(f.registrar !== undefined ? { registrar: f.registrar } : {}),
    });
  }
  return { priorities, includes };
}

const silent = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

/**
 * One login, one ShowDialPlan, then logoff. Our AmiConnection retries forever by design (for the
 * plugin's presence); here the first login outcome decides, within `timeoutMs`.
 */
export function amiDialplanSource(ami: AmiConfig, timeoutMs = 5000): DialplanSource {
  return {
    description: `AMI ${ami.host}:${ami.port}`,
    async read(): Promise<Dialplan> {
      const conn = new AmiConnection({ ...ami, logger: silent, loginTimeoutMs: timeoutMs, actionTimeoutMs: timeoutMs, pingIntervalMs: 0 });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new DialplanUnavailable('unreachable', `no AMI login at ${ami.host}:${ami.port} within ${timeoutMs} ms`)),
            timeoutMs,
          );
          conn.once('connected', () => {
            clearTimeout(timer);
            resolve();
          });
          conn.once('loginFailed', ({ message }) => {
            clearTimeout(timer);
            reject(new DialplanUnavailable('login-failed', message));
          });
          conn.start();
        });
        const list = await conn.actionList({ action: 'ShowDialPlan' }, { timeoutMs });
        return parseShowDialPlan(list.events.map((e) => e.fields));
      } catch (e) {
        if (e instanceof DialplanUnavailable) throw e;
        if (e instanceof AmiActionError && e.kind === 'rejected') {
          const message = e.response?.message ?? e.message;
          throw new DialplanUnavailable(/permission denied/i.test(message) ? 'not-permitted' : 'failed', message);
        }
        throw new DialplanUnavailable('failed', e instanceof Error ? e.message : String(e));
      } finally {
        await conn.stop();
      }
    },
  };
}
