import { parseArgs } from 'node:util';

/**
 * Declarative command-line options for `npm start` and the tools' scripts (`demo`, `sim`,
 * `faults`, `bench`): each lists its options in one object. Parsing is Node's util.parseArgs with
 * `strict: true`, so an unknown option is an error with a non-zero exit rather than silently
 * ignored. The `direct-callback` CLI uses commander.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given several times (values collected in order). */
  multiple?: boolean;
  short?: string;
  /** One line for --help. */
  description: string;
  /** Shown in --help as `--name <valueName>`; default `value`. */
  valueName?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface CommandSpec<T extends OptionSpecs> {
  /** How the command is run, e.g. `npm run faults --`. */
  usage: string;
  /** One line saying what the command does. */
  summary: string;
  options: T;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

/** Parsed values; an option not given is undefined. */
export type OptionValues<T extends OptionSpecs> = { [K in keyof T]?: ValueOf<T[K]> };

/** A wrong command line: the message says what is wrong; the caller prints it with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

function withHelp(options: OptionSpecs): OptionSpecs {
  return { ...options, help: HELP };
}

/** The --help text, built from the same declarations that are parsed. */
export function usageText<T extends OptionSpecs>(spec: CommandSpec<T>): string {
  const rows = Object.entries(withHelp(spec.options)).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}`;
    return [flag, `${o.description}${o.multiple ? ' (repeatable)' : ''}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return [`Usage: ${spec.usage} [options]`, spec.summary, '', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)].join('\n');
}

/** Node's messages speak of positionals and `--`; an administrator needs the option and the list. */
function explain(e: unknown, known: string[]): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  const list = known.map((k) => `--${k}`).join(', ');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}' (known: ${list})`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${quoted}' (options: ${list})`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return message.replace(/^Option /, 'option ');
  return message;
}

/** Parses `argv` (without node and the script) or throws UsageError. `--help` is always known. */
export function parseOptions<T extends OptionSpecs>(spec: CommandSpec<T>, argv: string[]): OptionValues<T> & { help?: boolean } {
  const options = withHelp(spec.options);
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
  try {
    const { values } = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false });
    return values as OptionValues<T> & { help?: boolean };
  } catch (e) {
    throw new UsageError(explain(e, Object.keys(options)));
  }
}

/**
 * For a script's entry: the parsed options turned into what the script needs by `convert` (which
 * may throw UsageError, e.g. from numberOption), or the usage printed and the process ended
 * (0 for --help, 2 for a wrong command line).
 */
export function parseCommandLine<T extends OptionSpecs, R = OptionValues<T>>(
  name: string,
  spec: CommandSpec<T>,
  convert: (values: OptionValues<T>) => R = (v) => v as R,
  argv: string[] = process.argv.slice(2),
): R {
  try {
    const values = parseOptions(spec, argv);
    if (values.help) {
      process.stdout.write(`${usageText(spec)}\n`);
      process.exit(0);
    }
    return convert(values);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n\n${usageText(spec)}\n`);
    process.exit(2);
  }
}

/** A numeric option: undefined when not given; UsageError when not a number in range. */
export function numberOption(name: string, value: string | undefined, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok =
    value.trim() !== '' && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min);
  if (!ok)
    throw new UsageError(
      `--${name}: expected ${opts.integer ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${value}'`,
    );
  return n;
}
