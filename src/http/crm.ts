/**
 * Optional CRM lookup for the agent's preview: GET the configured URL template with {number}
 * replaced (URL-encoded), with a short timeout. Any failure is reported in the result and never
 * stops the preview from being shown.
 */
export type CrmResult = { ok: true; status: number; data: unknown } | { ok: false; error: string };

export async function crmLookup(urlTemplate: string, number: string, timeoutMs: number): Promise<CrmResult> {
  const url = urlTemplate.split('{number}').join(encodeURIComponent(number));
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!res.ok) return { ok: false, error: `CRM answered HTTP ${res.status}` };
    const text = await res.text();
    if (text.length > 64 * 1024) return { ok: false, error: 'CRM answer too large' };
    try {
      return { ok: true, status: res.status, data: JSON.parse(text) as unknown };
    } catch {
      return { ok: true, status: res.status, data: text };
    }
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    return {
      ok: false,
      error:
        name === 'TimeoutError' || name === 'AbortError'
          ? `CRM did not answer within ${timeoutMs} ms`
          : `CRM unreachable: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
