// Supervisors' wallboard: sign in with a supervisor token, then one frame a second from
// GET /api/v1/wall/events (server-sent events, through the shared reader in event-stream.js).
// The charts are inline SVG drawn here: no library, nothing from outside this server.
'use strict';
(function () {
  const API = '/api/v1';
  const KEY = 'direct-callback.wall-token';
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const STATE_NAMES = {
    free: 'Free',
    on_call: 'On a call',
    wrap_up: 'Wrap-up',
    paused: 'Paused',
    logged_out: 'Logged out',
    unavailable: 'Unavailable',
  };
  // A wall screen keeps its token across reloads only when asked; otherwise the tab alone has it.
  let token = sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
  let streamAbort = null;
  let lastFrameAt = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** 75 -> "1:15", 3725 -> "1:02:05". */
  function duration(sec) {
    if (sec === null || sec === undefined) return '–';
    const s = Math.max(0, Math.round(sec));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }

  // ---- sign in / out ----
  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    token = null;
    if (streamAbort) streamAbort.abort();
    show('board', false);
    show('who', false);
    show('signin', true);
    $('signin-token').value = '';
    $('signin-error').textContent = message || '';
    show('signin-error', !!message);
  }

  /** Opens the stream; resolves once the server accepted the token, rejects with the reason if not. */
  function start(candidate, keep) {
    token = candidate;
    return new Promise((resolve, reject) => {
      void stream(resolve, (message) => {
        token = null;
        reject(new Error(message));
      });
    }).then(() => {
      (keep ? localStorage : sessionStorage).setItem(KEY, candidate);
      show('signin', false);
      show('who', true);
      show('board', true);
    });
  }

  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('signin-token').value.trim();
    if (!value) return;
    $('signin-button').disabled = true;
    start(value, $('signin-keep').checked)
      .catch((e) => {
        $('signin-error').textContent = e.message;
        show('signin-error', true);
      })
      .finally(() => ($('signin-button').disabled = false));
  });
  $('signout').addEventListener('click', () => signOut());
  $('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) void document.documentElement.requestFullscreen();
  });

  // ---- the stream ----
  function stream(accepted, refused) {
    return window.DirectCallbackEventStream.follow({
      url: API + '/wall/events',
      token: () => token,
      refusedStatuses: [401, 403],
      onRefused: (status, first) => {
        const message =
          status === 401 ? 'This token is not valid.' : 'This token may not view the wallboard: it needs a supervisor (or admin) token.';
        return first ? refused(message) : signOut(message);
      },
      onAccepted: accepted,
      onFirstFailure: refused,
      onEvent: (event, data) => {
        if (event === 'wall' && data) render(data);
      },
      onConnecting: (abort) => (streamAbort = abort),
    });
  }

  // ---- rendering ----
  function tile(label, value, key, mood) {
    const word = typeof value === 'string' && /[a-z]/.test(value);
    return el('div', { class: 'tile' + (mood ? ' ' + mood : '') }, [
      el('span', { class: 'k', text: label }),
      el('span', { class: 'v' + (word ? ' word' : ''), 'data-k': key, text: String(value) }),
    ]);
  }

  function chip(cls, n, label, key) {
    return el('span', { class: 'chip ' + cls }, [el('b', { 'data-k': key, text: String(n) }), document.createTextNode(label)]);
  }

  function itemRow(item, i) {
    const what =
      item.kind === 'caller'
        ? 'Caller waiting'
        : item.status === 'dialling'
          ? 'Callback · dialling'
          : item.status === 'scheduled'
            ? 'Callback · due in ' + duration(item.dueInSec)
            : 'Callback owed';
    const priority = item.priority || 0;
    return el('li', { 'data-kind': item.kind, 'data-priority': String(priority) }, [
      el('span', { class: 'pos', text: String(i + 1) }),
      el('span', { text: what }),
      el('span', { class: 'prio' + (priority > 0 ? ' up' : ''), title: 'priority', text: 'P' + priority }),
      el('span', { class: 'age', text: duration(item.waitedSec) }),
    ]);
  }

  function queueCard(q) {
    const a = q.agents;
    const noOne = (q.callersWaiting > 0 || q.callbacksDueNow > 0) && a.free === 0;
    const card = el('section', { class: 'panel queue', 'data-queue': q.id }, [
      el('h2', {}, [el('span', { text: q.name }), el('span', { class: 'muted', text: q.id === q.name ? '' : q.id })]),
      el('div', { class: 'tiles' }, [
        tile('Callers waiting', q.callersWaiting, 'callersWaiting', q.callersWaiting > 0 && noOne ? 'hot' : ''),
        tile('Callbacks due now', q.callbacksDueNow, 'callbacksDueNow', q.callbacksDueNow > 0 ? 'warm' : ''),
        tile('Scheduled', q.callbacksScheduled, 'callbacksScheduled'),
        tile('Oldest wait', duration(q.oldestWaitSec), 'oldestWaitSec', q.oldestWaitSec >= 300 ? 'hot' : ''),
        // Nobody staffed: the estimate is only the engine's ceiling, not a wait anyone could promise.
        tile(
          'Est. wait now',
          a.staffed === 0 ? 'no agent' : duration(q.estimatedWaitSec),
          'estimatedWaitSec',
          a.staffed === 0 ? 'warm' : '',
        ),
      ]),
      el('div', { class: 'staff' }, [
        chip('', a.staffed, 'staffed', 'staffed'),
        chip('free', a.free, 'free', 'free'),
        chip('on_call', a.onCall, 'on a call', 'onCall'),
        chip('wrap_up', a.wrapUp, 'wrap-up', 'wrapUp'),
        chip('paused', a.paused, 'paused', 'paused'),
      ]),
    ]);
    if (q.items.length > 0) {
      card.append(el('ol', { class: 'line', 'aria-label': 'Next in line' }, q.items.map(itemRow)));
      if (q.itemsTotal > q.items.length) card.append(el('p', { class: 'more', text: '+ ' + (q.itemsTotal - q.items.length) + ' more' }));
    }
    return card;
  }

  function agentRow(a) {
    return el('tr', { 'data-agent': a.id }, [
      el('td', { text: a.name }),
      el('td', {}, [
        el('span', { class: 'state ' + a.state, 'data-k': 'state', 'data-state': a.state, text: STATE_NAMES[a.state] || a.state }),
      ]),
      el('td', { class: 'num', text: duration(a.inStateSec) + (a.inStateKnown ? '' : '+') }),
      el('td', { class: 'num', 'data-k': 'callsToday', text: String(a.callsToday) }),
      el('td', { class: 'num', 'data-k': 'callbacksToday', text: String(a.callbacksToday) }),
    ]);
  }

  function renderDay(day, stale, now) {
    const put = (key, value) => (document.querySelector('[data-day="' + key + '"]').textContent = value);
    show('stale', !!stale);
    $('stale').textContent = stale
      ? 'The day’s figures could not be read just now; they are from ' +
        (day ? new Date(day.generatedAt).toLocaleTimeString() : 'earlier') +
        '.'
      : '';
    if (!day) return;
    const t = day.total;
    $('day-date').textContent = '· ' + day.date;
    put('offersMade', String(t.offersMade));
    put('offersAccepted', String(t.offersAccepted));
    put('callbacksCompleted', String(t.callbacksCompleted));
    put('callbacksFailed', String(t.callbacksFailed));
    put('abandoned', String(t.abandoned));
    const sl = t.serviceLevel;
    put('serviceLevel', sl.share === null ? '–' : Math.round(sl.share * 100) + '%');
    $('sl-label').textContent = 'Served within ' + duration(sl.withinSec);
    $('failed-reasons').replaceChildren(
      ...Object.entries(t.failedReasons || {})
        .sort((x, y) => y[1] - x[1])
        .map(([reason, n]) => el('li', { text: reason.replace(/_/g, ' ') + ': ' + n })),
    );
    const hours = day.hours.filter((h) => new Date(h.start).getTime() <= now);
    lineChart(
      $('chart-load'),
      hours,
      [
        { cls: 's1', value: (h) => h.callersWaiting },
        { cls: 's2', value: (h) => h.callbacksOwed },
      ],
      (v) => String(Math.round(v * 10) / 10),
      COUNT_SCALE,
    );
    lineChart(
      $('chart-delay'),
      hours,
      [
        { cls: 's1', value: (h) => h.requestToConversationMedianSec },
        { cls: 's3', value: (h) => h.requestToConversationP90Sec },
      ],
      (v) => duration(v),
      SECONDS_SCALE,
    );
  }

  /** A step-free line chart: one point per hour, gaps where an hour has no value (null). */
  function lineChart(target, hours, series, format, scale) {
    // Drawn at the size it is shown (1 unit = 1 CSS pixel), so that its text reads the same on a phone and a wall.
    const W = Math.max(280, Math.round(target.getBoundingClientRect().width)) || 640;
    const H = Math.round(Math.min(320, Math.max(180, W * 0.38)));
    target.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    const pad = { l: 52, r: 12, t: 12, b: 28 };
    const nodes = [];
    if (hours.length === 0) {
      nodes.push(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'No figures yet today'));
      target.replaceChildren(...nodes);
      return;
    }
    let max = 0;
    for (const s of series) for (const h of hours) max = Math.max(max, s.value(h) || 0);
    const top = scale.find((step) => step >= max) || Math.ceil(max / scale[scale.length - 1]) * scale[scale.length - 1];
    const x = (i) => pad.l + (hours.length === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (hours.length - 1));
    const y = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
    for (let k = 0; k <= 4; k++) {
      const v = (top * k) / 4;
      nodes.push(svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }));
      nodes.push(svg('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, format(v)));
    }
    // An hour label needs about 46 px: fewer labels on a narrow screen.
    const every = Math.max(1, Math.ceil(hours.length / Math.max(2, Math.floor((W - pad.l - pad.r) / 46))));
    hours.forEach((h, i) => {
      if (i % every === 0) nodes.push(svg('text', { x: x(i), y: H - 8, 'text-anchor': 'middle', class: 'axis' }, h.label));
    });
    for (const s of series) {
      let run = [];
      const flush = () => {
        if (run.length > 1) nodes.push(svg('polyline', { points: run.join(' '), class: 'series ' + s.cls }));
        run = [];
      };
      hours.forEach((h, i) => {
        const v = s.value(h);
        if (v === null || v === undefined) return flush();
        run.push(x(i).toFixed(1) + ',' + y(v).toFixed(1));
        nodes.push(svg('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3, class: s.cls }, undefined));
      });
      flush();
    }
    target.replaceChildren(...nodes);
  }

  // The top of a chart's scale: the first of these at or above its highest value (four grid steps each).
  const COUNT_SCALE = [4, 8, 20, 40, 80, 200, 400, 800, 2000, 4000];
  const SECONDS_SCALE = [60, 120, 240, 600, 1200, 2400, 3600, 7200, 14400, 28800, 86400];

  function render(frame) {
    lastFrameAt = Date.now();
    $('queues').replaceChildren(...frame.queues.map(queueCard));
    $('agents').replaceChildren(...frame.agents.map(agentRow));
    renderDay(frame.day, frame.dayStale, Date.parse(frame.at));
    $('clock').textContent = new Date(frame.at).toLocaleTimeString();
  }

  // A frozen stream shows: the dot goes grey when no frame came for a while.
  setInterval(() => {
    if (token && lastFrameAt && Date.now() - lastFrameAt > 5000) $('stream-state').className = 'dot';
  }, 1000);

  if (token) start(token, !!localStorage.getItem(KEY)).catch((e) => signOut(e.message));
  else signOut();
})();
