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
  window.fanoutDebug = {ids: [], count: 0, resets: [], dropped: 0};

  function token() {
    return new URLSearchParams(window.location.search).get('token');
  }

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

  /** Asks the server who this page's token is; null when it is fine, else why not. */
  async function session() {
    const t = token();
    const r = await fetch('/session' + (t ? '?token=' + encodeURIComponent(t) : ''));
    return {ok: r.ok, body: await r.json()};
  }

  const client = new FanoutClient({
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
    const t = token();
    const r = await fetch('/merchants' + (t ? '?token=' + encodeURIComponent(t) : ''));
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
    }).then(() => client.start());
  }

  checkboxes($('methods'), METHODS, 'method');
  window.fanoutClient = client;
  session().then((s) => {
    if (!s.ok) {
      render('stopped', 'stopped');
      notice('Not signed in: ' + s.body.error + '. Open the dashboard with a valid link.', true);
      return;
    }
    offerMerchantsAndStart();
  }, offerMerchantsAndStart);
})();
