/**
 * What `direct-callback doctor` reports: one line per check, ✓ or ✗, every ✗ with the fix.
 * A check that could not run (its prerequisite failed, or AMI is not configured) is listed as
 * skipped with the reason; it neither passes nor fails the installation.
 */
export interface CheckResult {
  /** Stable name, e.g. `ari`, `prompts` (the JSON output and the tests use it). */
  name: string;
  ok: boolean;
  /** What was found, in one line: the version, the counts, the missing items. */
  detail: string;
  /** On ✗: what to change, concretely. */
  fix?: string;
}

export interface SkippedCheck {
  name: string;
  reason: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
  skipped: SkippedCheck[];
}

export function passed(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

export function failed(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

export function reportOf(checks: CheckResult[], skipped: SkippedCheck[]): DoctorReport {
  return { ok: checks.every((c) => c.ok), checks, skipped };
}

/** `--json`: one line, `{"ok":…,"checks":[{"name":…,"ok":…,"fix":…,"detail":…}],"skipped":[…]}`. */
export function reportJson(report: DoctorReport): string {
  return JSON.stringify({
    ok: report.ok,
    checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, fix: c.fix ?? null, detail: c.detail })),
    skipped: report.skipped,
  });
}

export function reportText(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(...c.fix.split('\n').map((l, i) => `    ${i === 0 ? 'fix: ' : '     '}${l}`));
  }
  for (const s of report.skipped) lines.push(`- ${s.name}: not checked (${s.reason})`);
  const failures = report.checks.filter((c) => !c.ok).length;
  lines.push('', failures === 0 ? `all ${report.checks.length} checks passed` : `${failures} of ${report.checks.length} checks failed`);
  return lines.join('\n');
}
