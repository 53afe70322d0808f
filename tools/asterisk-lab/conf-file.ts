/**
 * A minimal editor for Asterisk's `.conf` format, for rendering the project's own
 * `asterisk-config/` for a test run: the files are copied as they are and only the options a test
 * must own (ports, addresses, secrets, the phones' contacts) are changed in place, so the rest of
 * the administrator's sample is what Asterisk really loads.
 *
 * The format: `[name]` or `[name](template,…)` opens a section (names may repeat: pjsip.conf has
 * `[1001]` as endpoint, auth and aor); `key = value` and `key => value` are options; `;` starts a
 * comment. Sections are addressed by name and, for repeated names, by their `type`.
 */
interface Section {
  name: string;
  /** Everything after the name on the header line, e.g. `(agent-endpoint)`. */
  suffix: string;
  lines: string[];
}

const HEADER = /^\[([^\]]+)\](.*)$/;

function keyOf(line: string): string | undefined {
  const stripped = line.replace(/;.*$/, '').trim();
  const m = /^([^=]+?)\s*=>?/.exec(stripped);
  return m ? m[1]?.trim() : undefined;
}

function valueOf(line: string): string | undefined {
  const stripped = line.replace(/;.*$/, '').trim();
  const m = /^[^=]+?\s*=>?\s*(.*)$/.exec(stripped);
  return m ? m[1]?.trim() : undefined;
}

export class ConfFile {
  private readonly preamble: string[] = [];
  private readonly sections: Section[] = [];

  constructor(text: string) {
    let current: Section | undefined;
    for (const line of text.split('\n')) {
      const m = HEADER.exec(line.trim());
      if (m) {
        current = { name: m[1] ?? '', suffix: (m[2] ?? '').trim(), lines: [] };
        this.sections.push(current);
      } else if (current) current.lines.push(line);
      else this.preamble.push(line);
    }
  }

  /** Sections with this name (and, when given, whose `type` option equals `type`). */
  private find(name: string, type?: string): Section[] {
    return this.sections.filter(
      (s) => s.name === name && (type === undefined || this.optionIn(s, 'type') === type || this.templateType(s) === type),
    );
  }

  /** A section inheriting a template (`[1001](agent-auth)`) takes its type from the template. */
  private templateType(s: Section): string | undefined {
    const m = /^\(([^)]*)\)/.exec(s.suffix);
    if (!m) return undefined;
    for (const t of (m[1] ?? '').split(',').map((x) => x.trim())) {
      const tpl = this.sections.find((x) => x.name === t && x.suffix.startsWith('(!'));
      const type = tpl ? this.optionIn(tpl, 'type') : undefined;
      if (type) return type;
    }
    return undefined;
  }

  private optionIn(s: Section, key: string): string | undefined {
    for (const l of s.lines) if (keyOf(l) === key) return valueOf(l);
    return undefined;
  }

  has(name: string, type?: string): boolean {
    return this.find(name, type).length > 0;
  }

  get(name: string, key: string, type?: string): string | undefined {
    const s = this.find(name, type)[0];
    return s ? this.optionIn(s, key) : undefined;
  }

  /** Sets an option in every matching section: replaces its first occurrence, or adds it. */
  set(name: string, key: string, value: string, opts: { type?: string; arrow?: boolean } = {}): this {
    const found = this.find(name, opts.type);
    if (found.length === 0) throw new Error(`no section [${name}]${opts.type ? ` of type ${opts.type}` : ''}`);
    for (const s of found) {
      const line = `${key} ${opts.arrow ? '=>' : '='} ${value}`;
      const i = s.lines.findIndex((l) => keyOf(l) === key);
      if (i >= 0) {
        s.lines[i] = line;
        // Repeated options (several `match =`): the test's value replaces all of them.
        for (let j = s.lines.length - 1; j > i; j--) if (keyOf(s.lines[j] ?? '') === key) s.lines.splice(j, 1);
      } else {
        // After the last option line, before trailing blank/comment lines.
        let at = s.lines.length;
        while (at > 0 && keyOf(s.lines[at - 1] ?? '') === undefined) at -= 1;
        s.lines.splice(at, 0, line);
      }
    }
    return this;
  }

  remove(name: string, key: string, type?: string): this {
    for (const s of this.find(name, type)) s.lines = s.lines.filter((l) => keyOf(l) !== key);
    return this;
  }

  /** Appends a new section (name, optional `(templates)` suffix, options in order). */
  append(name: string, options: readonly (readonly [string, string])[], suffix = ''): this {
    this.sections.push({ name, suffix, lines: [...options.map(([k, v]) => `${k} = ${v}`), ''] });
    return this;
  }

  /** Appends raw lines to a section (e.g. dialplan `exten =>` lines). */
  appendLines(name: string, lines: readonly string[]): this {
    const s = this.find(name)[0];
    if (!s) throw new Error(`no section [${name}]`);
    s.lines.push(...lines);
    return this;
  }

  toString(): string {
    const out = [...this.preamble];
    for (const s of this.sections) out.push(`[${s.name}]${s.suffix}`, ...s.lines);
    return out.join('\n');
  }
}
