// One reader of server-sent events for the agent panel and the wallboard. It reads with fetch,
// not EventSource, so that the token travels in the Authorization header (EventSource cannot
// send it, and a token in a URL ends up in logs). While the page holds a token it reconnects
// 2 s after a stream ends or fails; the #stream-state dot shows whether a stream is live.
'use strict';
window.DirectCallbackEventStream = (function () {
  const RECONNECT_MS = 2000;

  function showLive(live) {
    document.getElementById('stream-state').className = live ? 'dot live' : 'dot';
  }

  /**
   * Follows `url` while `token()` returns a token.
   * - refusedStatuses / onRefused(status, first): the server refused the token; the stream stops.
   * - onAccepted(): the first connection was accepted.
   * - onFirstFailure(message): the first connection failed; the stream stops (without it: retried).
   * - onEvent(event, data): one event; data is the parsed JSON, or null when the event had none.
   * - onConnecting(abortController): aborting it ends the current connection (signing out).
   */
  async function follow(opts) {
    let first = true;
    while (opts.token()) {
      const abort = new AbortController();
      opts.onConnecting(abort);
      try {
        const res = await fetch(opts.url, {
          headers: { authorization: 'Bearer ' + opts.token(), accept: 'text/event-stream' },
          signal: abort.signal,
          cache: 'no-store',
        });
        if (opts.refusedStatuses.includes(res.status)) return opts.onRefused(res.status, first);
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        if (first && opts.onAccepted) opts.onAccepted();
        first = false;
        showLive(true);
        await readEvents(res.body, opts.onEvent);
      } catch (e) {
        if (!opts.token()) return;
        if (first && opts.onFirstFailure) return opts.onFirstFailure(e && e.message ? e.message : 'The server did not answer.');
      }
      showLive(false);
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
    }
  }

  /** Blocks separated by a blank line; `event:` names one (default "message"), `data:` lines carry JSON. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        onEvent(event, data ? JSON.parse(data) : null);
      }
    }
  }

  return { follow };
})();
