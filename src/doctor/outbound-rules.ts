import { Dialplan, DialplanPriority } from './ami-dialplan';
import { extensionMatches } from './dialplan-rules';

/**
 * Pure reading of the dialplan for toll fraud: what happens when a phone dials a premium or
 * international number. The doctor "dials" each probe number in its head, in the context an
 * endpoint's calls start in, the way Asterisk picks an extension, and follows Goto()s; a Dial()
 * whose destination carries the number means anyone holding that phone's password can call it.
 */

export type ProbeKind = 'international' | 'premium' | 'Caribbean';

export interface ProbeNumber {
  number: string;
  kind: ProbeKind;
}

/**
 * Numbers the plugin's default number policy refuses, as a phone would dial them: with the
 * international prefixes of NANP (011) and of most of the world (00, +), 1 + 900 premium, and the
 * Caribbean +1 area codes billed as international (876 Jamaica, 809 Dominican Republic, 284 BVI),
 * each with and without the leading 1. 0116834002 is issue 19's Niue number.
 */
export const TOLL_FRAUD_PROBES: readonly ProbeNumber[] = [
  { number: '011442079460000', kind: 'international' },
  { number: '0116834002', kind: 'international' },
  { number: '00442079460000', kind: 'international' },
  { number: '+442079460000', kind: 'international' },
  { number: '19005550123', kind: 'premium' },
  { number: '9005550123', kind: 'premium' },
  { number: '18765550123', kind: 'Caribbean' },
  { number: '8765550123', kind: 'Caribbean' },
  { number: '18095550123', kind: 'Caribbean' },
  { number: '12845550123', kind: 'Caribbean' },
];

/** `.` and `!` match any run of characters: they rank after every character set. */
const ANY_RUN = 1_000_000;

/** One position of an extension, as Asterisk ranks it: how many characters it matches, then the lowest. */
interface Cell {
  count: number;
  lowest: string;
}

function cellsOf(extension: string): Cell[] {
  if (!extension.startsWith('_')) return [...extension.replace(/-/g, '')].map((c) => ({ count: 1, lowest: c }));
  const cells: Cell[] = [];
  const pattern = extension.slice(1);
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const upper = c.toUpperCase();
    if (upper === 'X') cells.push({ count: 10, lowest: '0' });
    else if (upper === 'Z') cells.push({ count: 9, lowest: '1' });
    else if (upper === 'N') cells.push({ count: 8, lowest: '2' });
    else if (c === '.') cells.push({ count: ANY_RUN, lowest: '' });
    else if (c === '!') cells.push({ count: ANY_RUN + 1, lowest: '' });
    else if (c === '-') continue;
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      const set = new Set<string>();
      const body = end < 0 ? '' : pattern.slice(i + 1, end);
      for (let j = 0; j < body.length; j++) {
        if (body[j + 1] === '-' && j + 2 < body.length) {
          for (let code = body.charCodeAt(j); code <= body.charCodeAt(j + 2); code++) set.add(String.fromCharCode(code));
          j += 2;
        } else set.add(body[j]);
      }
      cells.push({ count: set.size, lowest: [...set].sort()[0] ?? '' });
      i = end < 0 ? pattern.length : end;
    } else cells.push({ count: 1, lowest: c });
  }
  return cells;
}

/**
 * Asterisk's order between two extensions that both match a number (main/pbx.c: the pattern
 * tree's children are sorted by specificity, and the first complete match wins): position by
 * position, the one matching fewer characters first (a digit before N, N before X, X before `.`),
 * then the lower character. Negative when `a` wins.
 */
export function compareExtensions(a: string, b: string): number {
  const ca = cellsOf(a);
  const cb = cellsOf(b);
  for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (!x || !y) return x ? 1 : y ? -1 : 0;
    if (x.count !== y.count) return x.count - y.count;
    if (x.lowest !== y.lowest) return x.lowest < y.lowest ? -1 : 1;
  }
  return 0;
}

/** Where a number dialled in a context lands: the context's own best extension, else its includes in order. */
export function findExtension(
  dialplan: Dialplan,
  context: string,
  number: string,
  seen = new Set<string>(),
): DialplanPriority[] | undefined {
  if (seen.has(context)) return undefined;
  seen.add(context);
  const own = dialplan.priorities.filter((p) => p.context === context && extensionMatches(p.extension, number));
  const best = [...new Set(own.map((p) => p.extension))].sort(compareExtensions)[0];
  if (best !== undefined)
    return own.filter((p) => p.extension === best && /^\d+$/.test(p.priority)).sort((x, y) => Number(x.priority) - Number(y.priority));
  for (const included of dialplan.includes.get(context) ?? []) {
    const found = findExtension(dialplan, included, number, seen);
    if (found) return found;
  }
  return undefined;
}

/** `${EXTEN}` and `${EXTEN:n}` with the dialled number; other variables stay as they are. */
function withExten(text: string, number: string): string {
  return text.replace(/\$\{EXTEN(?::(\d+))?\}/g, (_m, skip: string | undefined) => number.slice(Number(skip ?? 0)));
}

/** The trunk call a dialled number leads to: the extension and the Dial() that carries the number. */
export interface OutboundDial {
  /** `<extension>@<context>` of the Dial() line. */
  at: string;
  dial: string;
}

const MAX_GOTOS = 8;

/**
 * Runs a number through the dialplan from `context` as far as it can be told without a call:
 * priority by priority, following Goto() (with ${EXTEN} put in); a Dial() whose destination is
 * built from a variable (`PJSIP/${EXTEN}@trunk`) is the way out. GotoIf, Gosub and the rest are
 * passed over: they depend on the call.
 */
export function outboundDialFor(dialplan: Dialplan, context: string, number: string): OutboundDial | undefined {
  let current = { context, number };
  for (let hop = 0; hop <= MAX_GOTOS; hop++) {
    const priorities = findExtension(dialplan, current.context, current.number);
    if (!priorities) return undefined;
    let next: { context: string; number: string } | undefined;
    for (const p of priorities) {
      const app = p.application.toLowerCase();
      if (app === 'dial' && p.appData.split(',')[0]?.includes('${'))
        return { at: `${p.extension}@${p.context}`, dial: `Dial(${p.appData})` };
      if (app === 'hangup') return undefined;
      if (app === 'goto') {
        const args = withExten(p.appData, current.number)
          .split(',')
          .map((a) => a.trim());
        if (args.length < 2 || args.some((a) => a.includes('${'))) return undefined;
        next = args.length >= 3 ? { context: args[0], number: args[1] } : { context: p.context, number: args[0] };
        break;
      }
    }
    if (!next) return undefined;
    current = next;
  }
  return undefined;
}

/** One way out found: the endpoints whose calls start in `context`, and the probes they can call. */
export interface UnrestrictedOutbound {
  context: string;
  endpoints: string[];
  /** The first line that dials them (they usually share it). */
  way: OutboundDial;
  reached: ProbeNumber[];
}

/** Each context calls start in (with its endpoints), dialled with every probe number. */
export function unrestrictedOutbound(
  dialplan: Dialplan,
  startContexts: ReadonlyMap<string, readonly string[]>,
  probes: readonly ProbeNumber[] = TOLL_FRAUD_PROBES,
): UnrestrictedOutbound[] {
  const out: UnrestrictedOutbound[] = [];
  for (const [context, endpoints] of startContexts) {
    let way: OutboundDial | undefined;
    const reached: ProbeNumber[] = [];
    for (const probe of probes) {
      const dial = outboundDialFor(dialplan, context, probe.number);
      if (!dial) continue;
      way ??= dial;
      reached.push(probe);
    }
    if (way) out.push({ context, endpoints: [...endpoints], way, reached });
  }
  return out;
}
