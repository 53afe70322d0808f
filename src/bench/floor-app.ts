/**
 * The floor for `npm run bench`: a bare ari-client Stasis app that answers every StasisStart with
 * one request (POST answer) and nothing else. Run as a child process; env ARI_URL, ARI_USER,
 * ARI_PASSWORD, FLOOR_APP. Prints {"ready":true} on stdout once connected.
 */
import ariClient from 'ari-client';

async function main(): Promise<void> {
  (globalThis as { log?: unknown }).log = () => undefined; // swagger-client's deprecation notice
  const client = await ariClient.connect(process.env.ARI_URL ?? '', process.env.ARI_USER ?? '', process.env.ARI_PASSWORD ?? '');
  client.on('StasisStart', (event: { channel?: { id?: unknown } }) => {
    const id = event.channel?.id;
    if (typeof id === 'string') void client.channels.answer({ channelId: id }).catch(() => undefined);
  });
  await client.start(process.env.FLOOR_APP ?? 'bench-floor');
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

void main().catch((e: unknown) => {
  process.stderr.write(`floor-app: ${String(e)}\n`);
  process.exit(1);
});
