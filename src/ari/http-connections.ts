import http from 'node:http';

/** Idle time after which a kept-alive connection is closed by this side (Asterisk's is 15 s). */
const FREE_CONNECTION_IDLE_MS = 5000;

/**
 * How many HTTP connections this process opens to Asterisk's ARI at most.
 *
 * Why this exists (measured on Asterisk 22.10.1, see tools/asterisk-lab/README.md "HTTP sessions"):
 * - ari-client 2.2.0 sends its REST requests through swagger-client 2.0.26 and shred, which use
 *   Node's global HTTP agent and offer no way to pass another one.
 * - Node 20's global agent keeps connections alive but has no cap: a burst of requests (200
 *   callers pressing 1 within seconds) opens one TCP connection per request in flight.
 * - Asterisk's HTTP server serves at most `sessionlimit` sessions (http.conf, default 100; every
 *   ARI WebSocket is one of them). Over it, Asterisk accepts the connection and closes it at once
 *   ("HTTP session count exceeded 100 sessions.").
 * - shred has no listener for a connection that closes before its answer: the request never
 *   settles. Only our adapter's timeout ends it (8 s), and the caller waiting behind it hears
 *   nothing. In the benchmark's burst this left a third of the callers unconfirmed.
 *
 * A capped agent makes a burst wait in this process's queue (milliseconds, since Asterisk answers
 * REST requests in 2-10 ms) instead of at Asterisk's door. The cap applies per origin, so only
 * the ARI server is affected in practice; WebSockets (ws) do not go through the agent.
 *
 * Free connections are closed after 5 s idle, well before Asterisk's own idle limit
 * (`session_keep_alive`, 15 s by default): reusing a connection Asterisk has just closed would be
 * the same never-settling request.
 */
export function capAriHttpConnections(maxConnections: number): void {
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new Error(`capAriHttpConnections: expected a whole number >= 1, got ${maxConnections}`);
  http.globalAgent = new http.Agent({ keepAlive: true, maxSockets: maxConnections, maxFreeSockets: maxConnections, timeout: FREE_CONNECTION_IDLE_MS, scheduling: 'lifo' });
}
