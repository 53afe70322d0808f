// Agent panel: sign in with the agent's own token (kept in sessionStorage), presence, and the
// preview card with Accept / Decline (the same actions as keys 1 and 2 on the phone).
// Live updates come from GET /api/v1/me/events, through the shared reader in event-stream.js.
'use strict';
(function () {
  const API = '/api/v1';
  const KEY = 'direct-callback.token';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(KEY);
  let me = null;
  let preview = null;
  let streamAbort = null;
  let refreshTimer = null;

  async function api(method, path, body) {
    const res = await fetch(API + path, {
      method,
      headers: Object.assign({ authorization: 'Bearer ' + token }, body ? { 'content-type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) signOut('Your token is no longer valid. Sign in again.');
    if (!res.ok) throw new Error(data.error || 'HTTP ' + res.status);
    return data;
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }
  function text(id, value) {
    $(id).textContent = value;
  }

  function minutes(sec) {
    if (sec < 60) return 'just now';
    const m = Math.round(sec / 60);
    if (m < 60) return m + ' min ago';
    const h = Math.floor(m / 60);
    return h + ' h ' + (m % 60) + ' min ago';
  }

  // ---- sign in / out ----
  async function signIn(candidate) {
    token = candidate;
    try {
      me = await api('GET', '/me');
    } catch (e) {
      token = null;
      throw e;
    }
    sessionStorage.setItem(KEY, token);
    startDesk();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    token = null;
    me = null;
    if (streamAbort) streamAbort.abort();
    if (refreshTimer) clearInterval(refreshTimer);
    show('desk', false);
    show('who', false);
    show('signin', true);
    $('signin-token').value = '';
    text('signin-error', message || '');
    show('signin-error', !!message);
  }

  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('signin-token').value.trim();
    if (!value) return;
    $('signin-button').disabled = true;
    signIn(value)
      .catch((e) => {
        text('signin-error', e.message === 'invalid token' ? 'This token is not valid.' : e.message);
        show('signin-error', true);
      })
      .finally(() => ($('signin-button').disabled = false));
  });
  $('signout').addEventListener('click', () => signOut());

  // ---- presence ----
  function renderMe() {
    if (!me) return;
    text('agent-name', me.name);
    const badge = $('presence-state');
    const state = !me.loggedIn ? 'Logged out' : me.paused ? 'Paused' : me.onPluginCall ? 'On a callback' : me.available ? 'Ready' : 'Busy';
    badge.textContent = state;
    badge.className = 'badge ' + (!me.loggedIn ? 'out' : me.paused ? 'paused' : 'ready');
    text(
      'presence-detail',
      me.loggedIn
        ? me.paused
          ? 'You get no calls while paused.'
          : 'You get calls from: ' + me.queues.join(', ') + '.'
        : 'Log in to get calls.',
    );
    text('toggle-login', me.loggedIn ? 'Log out' : 'Log in');
    text('toggle-pause', me.paused ? 'Resume' : 'Pause');
    $('toggle-pause').disabled = !me.loggedIn;
  }

  async function setPresence(change) {
    try {
      me = await api('POST', '/me/presence', change);
      renderMe();
    } catch (e) {
      text('presence-detail', e.message);
    }
  }
  $('toggle-login').addEventListener('click', () => setPresence({ loggedIn: !me.loggedIn }));
  $('toggle-pause').addEventListener('click', () => setPresence({ paused: !me.paused }));

  // ---- the preview card ----
  function renderPreview() {
    show('preview-card', !!preview);
    show('idle', !preview);
    if (!preview) return;
    text('pv-queue', preview.queueName);
    text('pv-name', preview.name || 'Customer');
    text('pv-number', preview.number);
    text('pv-waited', minutes(preview.waitedSec));
    text('pv-attempts', preview.attempts + ' of ' + preview.maxAttempts + ' made');
    const list = $('pv-history');
    list.replaceChildren(
      ...preview.history.map((h) => {
        const li = document.createElement('li');
        li.textContent = new Date(h.at).toLocaleString() + ' — ' + h.type.replace(/_/g, ' ') + (h.agentId ? ' (' + h.agentId + ')' : '');
        return li;
      }),
    );
    const crm = $('pv-crm');
    crm.replaceChildren();
    if (preview.crm) {
      if (preview.crm.ok && preview.crm.data && typeof preview.crm.data === 'object') {
        for (const [k, v] of Object.entries(preview.crm.data).slice(0, 8)) {
          const row = document.createElement('div');
          const b = document.createElement('b');
          b.textContent = k;
          row.append(b, document.createTextNode(typeof v === 'object' ? JSON.stringify(v) : String(v)));
          crm.append(row);
        }
      } else {
        crm.textContent = preview.crm.ok ? String(preview.crm.data) : 'CRM: ' + preview.crm.error;
      }
    }
    show('pv-crm', !!preview.crm);
    show('pv-error', false);
    $('accept').disabled = false;
    $('decline').disabled = false;
  }

  async function loadPreview() {
    try {
      preview = (await api('GET', '/me/preview')).preview;
    } catch {
      preview = null;
    }
    renderPreview();
  }

  async function act(action) {
    const shown = preview;
    if (!shown) return;
    $('accept').disabled = true;
    $('decline').disabled = true;
    try {
      await api('POST', '/me/preview/' + action, { callbackId: shown.callbackId });
      text(
        'idle-text',
        action === 'accept'
          ? 'Calling ' + (shown.name || shown.number) + '… stay on your phone.'
          : 'Skipped. The callback goes to another agent.',
      );
      if (preview === shown) preview = null;
      renderPreview();
    } catch (e) {
      text('pv-error', e.message);
      show('pv-error', true);
      $('accept').disabled = false;
      $('decline').disabled = false;
    }
  }
  $('accept').addEventListener('click', () => act('accept'));
  $('decline').addEventListener('click', () => act('decline'));
  // The phone's keys work here too: 1 accepts, 2 declines (not while typing in a field).
  document.addEventListener('keydown', (ev) => {
    if (!preview || ev.target instanceof HTMLInputElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === '1') act('accept');
    else if (ev.key === '2') act('decline');
  });

  // ---- live updates ----
  function stream() {
    return window.DirectCallbackEventStream.follow({
      url: API + '/me/events',
      token: () => token,
      refusedStatuses: [401],
      onRefused: () => signOut('Your token is no longer valid. Sign in again.'),
      onEvent: (event, data) => onEvent(event, data || {}),
      onConnecting: (abort) => (streamAbort = abort),
    });
  }

  function onEvent(event, data) {
    if (event === 'preview_started') {
      text('idle-text', 'No callback on your phone right now.');
      void loadPreview();
    } else if (event === 'preview_ended') {
      if (preview && preview.callbackId === data.callbackId) {
        preview = null;
        renderPreview();
      }
    }
    void refreshMe();
  }

  async function refreshMe() {
    try {
      me = await api('GET', '/me');
      renderMe();
    } catch {
      /* shown on the next action */
    }
  }

  function startDesk() {
    show('signin', false);
    show('who', true);
    show('desk', true);
    renderMe();
    void loadPreview();
    void stream();
    refreshTimer = setInterval(refreshMe, 10000);
  }

  if (token) signIn(token).catch(() => signOut());
  else signOut();
})();
