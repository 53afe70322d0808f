/**
 * The floor for `npm run bench`: a bare ari-client Stasis app doing the least an ARI app can do
 * for the figure it is compared with. Run as a child process; env ARI_URL, ARI_USER,
 * ARI_PASSWORD, FLOOR_APP. Prints {"ready":true} on stdout once connected.
 *
 * - Always: every StasisStart is answered with one request (POST answer) - the simulator bench's
 *   arrival floor.
 * - Its HTTP connections to ARI are capped like the plugin's (FLOOR_MAX_CONNECTIONS, by default
 *   the plugin's default ari.maxConnections): src/ari/http-connections.ts says why.
 * - With FLOOR_PROMPT and FLOOR_REPLY (the real-Asterisk bench): after the answer FLOOR_PROMPT
 *   plays; a digit stops it (if it still plays) and FLOOR_REPLY plays; once that reply finishes
 *   the call is hung up. That is the plugin's press-1 path (stop the offer, play the
 *   confirmation, hang up after it) without the database, so DTMF -> reply measures what
 *   Asterisk, the WebSocket and ari-client cost on their own.
 * - With FLOOR_DATABASE_URL as well (the commit floor): the digit also sends one INSERT, committed
 *   synchronously (autocommit, synchronous_commit on, as the plugin's booking), beside the stop,
 *   and FLOOR_REPLY plays only once both are answered. That is the least the plugin's press 1 must
 *   do (a durable row before "we will call you back"): its distance to the raw floor is
 *   PostgreSQL's share, the rest is the plugin's.
 */
import ariClient from 'ari-client';
import { Pool } from 'pg';
import { capAriHttpConnections } from '../../src/ari/http-connections';
import { DEFAULT_ARI_MAX_CONNECTIONS } from '../../src/config/config';

interface ChannelEvent {
  channel?: { id?: unknown };
  playback?: { id?: unknown };
}

async function main(): Promise<void> {
  (globalThis as { log?: unknown }).log = () => undefined; // swagger-client's deprecation notice
  // The same HTTP connection cap as the plugin (ari.maxConnections): uncapped, a bare ari-client
  // app runs into Asterisk's session limit in a burst and its requests never settle.
  capAriHttpConnections(Number(process.env.FLOOR_MAX_CONNECTIONS ?? DEFAULT_ARI_MAX_CONNECTIONS));
  const client = await ariClient.connect(process.env.ARI_URL ?? '', process.env.ARI_USER ?? '', process.env.ARI_PASSWORD ?? '');
  const prompt = process.env.FLOOR_PROMPT;
  const reply = process.env.FLOOR_REPLY;
  const databaseUrl = process.env.FLOOR_DATABASE_URL;
  // As many connections as the plugin's pool by default (database.poolMax 10).
  const pool = databaseUrl ? new Pool({ connectionString: databaseUrl, max: 10 }) : undefined;
  if (pool)
    await pool.query(
      'CREATE TABLE IF NOT EXISTS bench_floor_commit (id bigserial PRIMARY KEY, channel_id text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
    );
  const promptOf = new Map<string, string>(); // channel id -> its prompt's playback id, while it plays
  const replyOf = new Map<string, string>(); // reply playback id -> channel id
  const replied = new Set<string>(); // channels that got their reply: later digits change nothing
  let seq = 0;
  client.on('StasisStart', (event: ChannelEvent) => {
    const id = event.channel?.id;
    if (typeof id !== 'string') return;
    const answered = client.channels.answer({ channelId: id });
    if (!prompt || !reply) {
      void answered.catch(() => undefined);
      return;
    }
    const playbackId = `floor-prompt-${++seq}`;
    promptOf.set(id, playbackId);
    void answered.then(() => client.channels.play({ channelId: id, media: prompt, playbackId })).catch(() => undefined);
  });
  if (prompt && reply) {
    client.on('ChannelDtmfReceived', (event: ChannelEvent) => {
      const id = event.channel?.id;
      if (typeof id !== 'string' || replied.has(id)) return;
      replied.add(id);
      const running = promptOf.get(id);
      promptOf.delete(id);
      // A play on a channel that still plays would queue behind the prompt: stop it first.
      const stopped = running ? client.playbacks.stop({ playbackId: running }).catch(() => undefined) : Promise.resolve();
      // The commit floor: the row is committed before the reply, sent beside the stop.
      const committed = pool ? pool.query('INSERT INTO bench_floor_commit (channel_id) VALUES ($1)', [id]) : Promise.resolve();
      const playbackId = `floor-reply-${++seq}`;
      replyOf.set(playbackId, id);
      void Promise.all([stopped, committed])
        .then(() => client.channels.play({ channelId: id, media: reply, playbackId }))
        .catch((e: unknown) => process.stderr.write(`floor-app: ${String(e)}\n`));
    });
    client.on('PlaybackFinished', (event: ChannelEvent) => {
      const playbackId = event.playback?.id;
      if (typeof playbackId !== 'string') return;
      for (const [channelId, p] of promptOf) if (p === playbackId) promptOf.delete(channelId);
      const channelId = replyOf.get(playbackId);
      if (channelId === undefined) return;
      replyOf.delete(playbackId);
      void client.channels.hangup({ channelId }).catch(() => undefined);
    });
    client.on('StasisEnd', (event: ChannelEvent) => {
      const id = event.channel?.id;
      if (typeof id !== 'string') return;
      promptOf.delete(id);
      replied.delete(id);
    });
  }
  await client.start(process.env.FLOOR_APP ?? 'bench-floor');
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

void main().catch((e: unknown) => {
  process.stderr.write(`floor-app: ${String(e)}\n`);
  process.exit(1);
});
