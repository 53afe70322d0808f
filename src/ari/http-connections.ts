import http from 'node:http';

/** Idle time after which a kept-alive connection is closed by this side (Asterisk's is 15 s). */
const FREE_CONNECTION_IDLE_MS = 5000;

/**
 * Caps the HTTP connections this process opens to ARI. ari-client's REST requests go through
 * Node's global agent, which has no cap; past http.conf's `sessionlimit` Asterisk closes new
 * connections at once, and the library never settles a request whose connection closed. A burst
 * therefore waits here for a free connection instead. WebSockets do not use the agent.
 * Free connections close before Asterisk's own idle limit, for the same never-settling reason.
 */
export function capAriHttpConnections(maxConnections: number): void {
  if (!Number.isInteger(maxConnections) || maxConnections < 1)
    throw new Error(`capAriHttpConnections: expected a whole number >= 1, got ${maxConnections}`);
  http.globalAgent = new http.Agent({
    keepAlive: true,
    maxSockets: maxConnections,
    maxFreeSockets: maxConnections,
    timeout: FREE_CONNECTION_IDLE_MS,
    scheduling: 'lifo',
  });
}
