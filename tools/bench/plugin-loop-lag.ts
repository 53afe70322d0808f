import { round2 } from './figures';

/** prom-client's default eventLoopMonitoringPrecision (src/metrics/metrics.ts keeps the default). */
const PROM_LOOP_RESOLUTION_MS = 10;

/**
 * How late the plugin's event loop ran (p99 and max, ms) since the previous read, from its own
 * /metrics (prom-client's monitorEventLoopDelay, restarted at each read). prom-client samples at a
 * 10 ms resolution and records the whole interval between samples, so an idle loop reads 10 ms:
 * the resolution is taken off to leave how late the loop ran.
 */
export async function pluginLoopLag(httpPort: number | undefined): Promise<{ p99: number; max: number }> {
  const text = await fetch(`http://127.0.0.1:${httpPort ?? 0}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const read = (name: string): number =>
    round2(
      Math.max(
        0,
        Number(new RegExp(`^direct_callback_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000 -
          PROM_LOOP_RESOLUTION_MS,
      ),
    );
  return { p99: read('p99'), max: read('max') };
}
