/**
 * `n` calls of `request` sent at once; how many settled (answered or failed) within `withinMs`.
 * A request that never settles (ari-client on a connection Asterisk closed unanswered) counts in
 * neither: the tests of Asterisk's HTTP session limit read that from `settled < n`.
 */
export async function burst(request: () => Promise<unknown>, n: number, withinMs: number): Promise<{ settled: number; failed: number }> {
  let settled = 0;
  let failed = 0;
  for (let i = 0; i < n; i++) {
    request().then(
      () => settled++,
      () => {
        settled++;
        failed++;
      },
    );
  }
  const until = Date.now() + withinMs;
  while (settled < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return { settled, failed };
}
