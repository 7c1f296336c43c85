/* The payment dashboard: a live table over FanoutClient. No build step, no framework. */
(function () {
  'use strict';
  const MERCHANTS = ['mch_01', 'mch_02', 'mch_03', 'mch_04', 'mch_05', 'mch_06',
    'mch_07', 'mch_08', 'mch_09', 'mch_10', 'mch_11', 'mch_12'];
  const METHODS = ['card', 'sepa', 'wallet', 'paypal'];
  const STATUSES = ['authorized', 'captured', 'failed', 'refunded'];
  const MAX_ROWS = 200;

  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // paymentId -> {tr, status}
  let eventCount = 0;

  // Test hook: what the page received, so a browser test can check order and gaps.
  window.fanoutDebug = {ids: [], resets: [], dropped: 0};

  function checkboxes(container, values, name) {
    values.forEach((v) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.name = name;
      box.value = v;
      box.addEventListener('change', applyFilters);
      label.append(box, ' ' + v);
      container.append(label);
    });
  }

  function checked(name) {
    return Array.from(document.querySelectorAll('input[name="' + name + '"]:checked'))
      .map((b) => b.value);
  }

  function applyFilters() {
    client.subscribe({merchants: checked('merchant'), methods: checked('method')});
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
    tr.className = 'flash';
    $('rows').prepend(tr);
    rows.set(p.paymentId, {tr, status: p.status});
    while (rows.size > MAX_ROWS) {
      const oldest = $('rows').lastElementChild;
      rows.delete(oldest.dataset.id);
      oldest.remove();
    }
  }

  function setState(state, detail) {
    const c = $('connection');
    c.className = 'connection ' + state;
    c.dataset.state = state;
    let text = state;
    if (state === 'open') {
      text = 'live';
    } else if (state === 'reconnecting') {
      text = 'reconnecting in ' + (detail.delayMs / 1000).toFixed(1) + ' s' +
        (detail.code ? ' (closed ' + detail.code + (detail.reason ? ': ' + detail.reason : '') + ')' : '');
    } else if (state === 'connecting') {
      text = 'connecting…';
    }
    $('state').textContent = text;
  }

  const client = new FanoutClient({
    onState: setState,
    onEvent(event) {
      eventCount++;
      window.fanoutDebug.ids.push(event.id);
      $('last-id').textContent = event.id;
      $('event-count').textContent = eventCount;
      show(event);
      updateCounters();
    },
    onReset(info) {
      window.fanoutDebug.resets.push(info.reason);
      clearTable();
      if (info.reason === 'not-recovered' || info.reason === 'server-resync') {
        notice('Some events could not be recovered after the connection was lost; ' +
          'the table was reloaded from a fresh snapshot.', true);
      }
    },
    onSubscribed(info) {
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

  checkboxes($('merchants'), MERCHANTS, 'merchant');
  checkboxes($('methods'), METHODS, 'method');
  client.start();
  window.fanoutClient = client;
})();
