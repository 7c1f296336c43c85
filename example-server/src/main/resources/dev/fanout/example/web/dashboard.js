/* The payment dashboard: a live table over FanoutClient (the fanout-client package, whose
   browser file the build copies here), the ops panels of ops.js, and the merchant filters from
   the server's GET /merchants. No build step, no framework. */
(function () {
  'use strict';
  const METHODS = ['card', 'sepa', 'wallet', 'paypal'];
  const STATUSES = ['authorized', 'captured', 'failed', 'refunded'];
  const MAX_ROWS = 200;
  const DEBUG_IDS = 20000; // a wall display runs for days: the test hook keeps a bounded tail

  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // paymentId -> {tr, status}
  let eventCount = 0;
  let busUp = true;
  let connected = false;
  const ops = window.FanoutOps.create();

  // Test hook: the newest ids the page received (at most DEBUG_IDS), so a browser test can
  // check order and gaps, and how many in all.
  window.fanoutDebug = {ids: [], count: 0, resets: [], dropped: 0, transport: null};

  /** values: strings, or {id, name} (the label then shows both). */
  function checkboxes(container, values, name) {
    container.textContent = '';
    values.forEach((v) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.name = name;
      box.value = v.id || v;
      box.addEventListener('change', applyFilters);
      label.append(box, ' ' + (v.id || v));
      if (v.name) {
        label.title = v.name;
        const n = document.createElement('span');
        n.className = 'merchant-name';
        n.textContent = ' ' + v.name;
        label.append(n);
      }
      container.append(label);
    });
  }

  function checked(name) {
    return Array.from(document.querySelectorAll('input[name="' + name + '"]:checked'))
      .map((b) => b.value);
  }

  function applyFilters() {
    client.subscribe({topics: checked('merchant'), filters: {method: checked('method')}});
  }

  function notice(text, bad) {
    const n = $('notice');
    n.textContent = text;
    n.className = 'notice' + (bad ? ' bad' : '');
    n.hidden = false;
  }

  function clearTable() {
    rows.clear();
    $('rows').textContent = '';
    updateCounters();
  }

  function updateCounters() {
    const counts = {authorized: 0, captured: 0, failed: 0, refunded: 0};
    rows.forEach((r) => { counts[r.status] = (counts[r.status] || 0) + 1; });
    STATUSES.forEach((s) => { $('count-' + s).textContent = counts[s]; });
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
    return td;
  }

  function show(event) {
    const p = event.data;
    let row = rows.get(p.paymentId);
    if (row) {
      row.tr.remove();
    }
    const tr = document.createElement('tr');
    tr.dataset.id = p.paymentId;
    tr.dataset.eventId = event.id;
    const status = document.createElement('span');
    status.className = 'status ' + p.status;
    status.textContent = p.status;
    const statusCell = document.createElement('td');
    statusCell.append(status);
    const time = p.publishedAt ? new Date(p.publishedAt).toLocaleTimeString() : '';
    tr.append(cell(time), cell(p.paymentId), cell(p.merchantId), cell(p.method), statusCell,
      cell(Number(p.amount).toFixed(2) + ' ' + (p.currency || ''), 'num'));
    tr.className = 'flash' + (p.status === 'failed' ? ' failed' : '');
    $('rows').prepend(tr);
    rows.set(p.paymentId, {tr, status: p.status});
    while (rows.size > MAX_ROWS) {
      const oldest = $('rows').lastElementChild;
      rows.delete(oldest.dataset.id);
      oldest.remove();
    }
  }

  function render(state, text) {
    const c = $('connection');
    c.className = 'connection ' + state;
    c.dataset.state = state;
    $('state').textContent = text;
  }

  /** Live only while connected and the server's event bus is up; else say what is true. */
  function setState(state, detail) {
    ops.state(state, detail);
    connected = state === 'open';
    if (state === 'open') {
      if (busUp) {
        render('open', 'live');
      } else {
        render('delayed', 'delayed: the server lost its event bus, events will arrive late');
      }
    } else if (state === 'reconnecting') {
      // detail.status: the server refused the handshake for a while (503: full, shutting down)
      render(state, 'reconnecting in ' + (detail.delayMs / 1000).toFixed(1) + ' s' +
        (detail.status ? ' (refused ' + detail.status + ': ' + detail.reason + ')'
          : detail.code ? ' (closed ' + detail.code + (detail.reason ? ': ' + detail.reason : '') +
          ')' : ''));
    } else if (state === 'stopped') {
      render(state, 'stopped');
      if (detail && detail.code === 4003) {
        notice('Your access expired. Open the dashboard again with a fresh link.', true);
      } else if (detail && detail.status === 401) {
        notice('Not signed in: ' + detail.reason + '. Open the dashboard with a valid link.', true);
      } else if (detail && detail.status) {
        notice('The server refused this page (' + detail.status + '): ' + detail.reason + '.',
          true);
      }
    } else if (state === 'connecting') {
      render(state, 'connecting…');
    } else {
      render(state, state);
    }
  }

  /* Signing in (docs/jwt.md, "Where the token travels"): a link carries the token in its
     fragment, #token=<jwt>, which the browser never sends to a server. The page takes it out of
     the address bar and history at once, and hands it to POST /session, which answers with the
     HttpOnly cookie that the WebSocket handshake then carries: no script reads the token again,
     and no URL, log or Referer ever holds it. */

  /** The token of a #token= link, or null; the link's fragment is gone from the address bar
      and the history entry before anything else happens. */
  function takeFragmentToken() {
    const m = /^#(?:.*&)?token=([^&]*)/.exec(window.location.hash);
    if (!m) {
      return null;
    }
    history.replaceState(null, '', window.location.pathname + window.location.search);
    try {
      return decodeURIComponent(m[1]);
    } catch (e) {
      return m[1]; // a JWT needs no decoding; the server says what is wrong with anything else
    }
  }

  /** Exchanges a token for the session cookie. */
  async function signIn(token) {
    const r = await fetch('/session', {method: 'POST', headers: {Authorization: 'Bearer ' + token},
      credentials: 'same-origin', cache: 'no-store'});
    return {ok: r.ok, body: await r.json()};
  }

  /** Clears the session cookie and stops. */
  async function signOut() {
    client.stop();
    await fetch('/session', {method: 'DELETE', credentials: 'same-origin'});
    $('sign-out').hidden = true;
    render('stopped', 'signed out');
    notice('Signed out. Open the dashboard with a sign-in link to see payments again.', false);
  }

  /** Who this page is (its cookie, after signing in with a #token= link), or why it is not. */
  async function session() {
    const t = takeFragmentToken();
    if (t !== null) {
      const s = await signIn(t);
      if (!s.ok) {
        return s;
      }
    } else if (new URLSearchParams(window.location.search).has('token')) {
      history.replaceState(null, '', window.location.pathname); // out of the history at least
      return {ok: false, body: {error: 'a token in the address (?token=) is not accepted; ' +
        'open the link with #token= instead'}};
    }
    const r = await fetch('/session', {credentials: 'same-origin', cache: 'no-store'});
    return {ok: r.ok, body: await r.json()};
  }

  /** Offers signing out when the page is signed in (a token has an expiry; no token, none). */
  function showSignOut(who) {
    const b = $('sign-out');
    b.hidden = who.expiresAt === null;
    b.title = 'signed in as ' + who.principal;
  }

  // ?transport=sse: the same feed as Server-Sent Events at /events (docs/protocol.md)
  const sse = new URLSearchParams(window.location.search).get('transport') === 'sse';
  const client = new FanoutClient({
    // this origin's /ws (or /events), and never the page's query: a token travels in the cookie
    transport: sse ? 'sse' : 'websocket',
    url: sse ? window.location.origin + '/events'
      : (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host +
        '/ws',
    onState: setState,
    onBus(up) {
      busUp = up;
      if (connected) {
        setState('open');
      }
    },
    onEvent(event) {
      eventCount++;
      const debug = window.fanoutDebug;
      debug.count++;
      debug.ids.push(event.id);
      if (debug.ids.length > DEBUG_IDS) {
        debug.ids.splice(0, debug.ids.length - DEBUG_IDS);
      }
      $('last-id').textContent = event.id;
      $('event-count').textContent = eventCount;
      ops.event(event);
      show(event);
      updateCounters();
    },
    onReset(info) {
      window.fanoutDebug.resets.push(info.reason);
      ops.reset(info.reason);
      clearTable();
      if (info.reason === 'not-recovered' || info.reason === 'server-resync') {
        notice('Some events could not be recovered after the connection was lost; ' +
          'the table was reloaded from a fresh snapshot.', true);
      }
    },
    onSubscribed(info) {
      ops.subscribed(info);
      if (info.resumed && info.recovered) {
        notice('Reconnected: ' + info.missed + ' missed event' + (info.missed === 1 ? '' : 's') +
          ' replayed, nothing lost.', false);
      }
    },
    onDropped(count) {
      window.fanoutDebug.dropped += count;
      notice(count + ' event' + (count === 1 ? ' was' : 's were') +
        ' dropped because this page fell behind.', true);
    },
    onError(error) {
      notice('Server refused a request: ' + error.message, true);
    },
  });

  /** The server's merchant directory, as this page's token may see it: [{id, name}]. */
  async function merchants() {
    const r = await fetch('/merchants'); // the session's cookie goes with it
    if (!r.ok) {
      throw new Error('GET /merchants: ' + r.status);
    }
    return (await r.json()).merchants;
  }

  /** Offers the merchants, then connects: the filters are there once the page is live. */
  function offerMerchantsAndStart() {
    merchants().then((list) => checkboxes($('merchants'), list, 'merchant'), (e) => {
      $('merchants').textContent = 'The merchant list did not load (' + e.message +
        '); with no merchant chosen, every merchant this page may see is shown.';
    }).then(() => {
      window.fanoutDebug.transport = client.transport;
      client.start();
    });
  }

  checkboxes($('methods'), METHODS, 'method');
  $('sign-out').addEventListener('click', signOut);
  // a #token= link opened on this page changes only the fragment: sign in with it afresh
  window.addEventListener('hashchange', () => {
    if (/^#(?:.*&)?token=/.test(window.location.hash)) {
      window.location.reload();
    }
  });
  window.fanoutClient = client;
  session().then((s) => {
    if (!s.ok) {
      render('stopped', 'stopped');
      notice('Not signed in: ' + s.body.error + '. Open the dashboard with a valid link.', true);
      return;
    }
    showSignOut(s.body);
    offerMerchantsAndStart();
  }, offerMerchantsAndStart);
})();
