/* The ops panels of the payment dashboard: per-status event rates over the last minutes (a
   hand-drawn SVG chart: the page works offline, no chart library), failures since the page
   opened, a search by payment id in what the page holds, and the connection's recovery. The
   dashboard (dashboard.js) hands each event, reset, 'subscribed' and state change to it. */
(function () {
  'use strict';
  const STATUSES = ['authorized', 'captured', 'failed', 'refunded'];
  const BUCKET_MS = 5000;
  const WINDOW_MS = 5 * 60 * 1000; // the chart's last five minutes
  const INDEX_SIZE = 5000; // payments the search looks through: the newest the page received
  const FAILED_IDS = 10000; // failures remembered, so a snapshot that repeats one is not counted
  const MAX_RESULTS = 20;
  const SVG = 'http://www.w3.org/2000/svg';
  const W = 600;
  const H = 150;
  const PAD = {left: 34, right: 8, top: 8, bottom: 18};

  const $ = (id) => document.getElementById(id);
  const clock = (ms) => new Date(ms).toLocaleTimeString();

  function svg(name, attributes, parent) {
    const e = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach((k) => e.setAttribute(k, attributes[k]));
    if (parent) {
      parent.append(e);
    }
    return e;
  }

  /**
   * Counts of events per status in 5-second buckets, by the time each payment was published
   * (so a replay after a reconnect lands where it belongs). Only what was published since the
   * chart started counts: a snapshot's older events would be a spike that never happened.
   */
  function createRates() {
    const buckets = new Map(); // bucket start ms -> {status: count}
    let since = Date.now();
    return {
      add(status, publishedAt) {
        if (publishedAt < since || STATUSES.indexOf(status) < 0) {
          return;
        }
        const start = Math.floor(Math.min(publishedAt, Date.now()) / BUCKET_MS) * BUCKET_MS;
        let b = buckets.get(start);
        if (!b) {
          b = {authorized: 0, captured: 0, failed: 0, refunded: 0};
          buckets.set(start, b);
        }
        b[status]++;
      },
      /** Counts from now on only (kept: what was counted stays true). */
      from(now) {
        since = now;
      },
      /** Forgets everything: another subscription's rates do not compare. */
      restart(now) {
        buckets.clear();
        since = now;
      },
      /** Per-status points {t, rate} of the window, each bucket over the time it covered. */
      series(now) {
        const first = Math.floor((now - WINDOW_MS) / BUCKET_MS) * BUCKET_MS;
        buckets.forEach((b, start) => {
          if (start < first) {
            buckets.delete(start);
          }
        });
        const out = {};
        STATUSES.forEach((s) => { out[s] = []; });
        for (let start = first; start <= now; start += BUCKET_MS) {
          const covered = Math.min(start + BUCKET_MS, now) - Math.max(start, since);
          if (start + BUCKET_MS <= since || covered < BUCKET_MS / 2) {
            continue; // before the chart started, or too short to be a steady rate yet
          }
          const b = buckets.get(start);
          STATUSES.forEach((s) => {
            out[s].push({t: Math.min(start + BUCKET_MS / 2, now), rate: (b ? b[s] : 0) * 1000 /
              covered});
          });
        }
        return out;
      },
    };
  }

  function niceMax(v) {
    if (v <= 1) {
      return 1;
    }
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
  }

  function drawChart(chart, series, now) {
    chart.textContent = '';
    const top = niceMax(Math.max(0, ...STATUSES.flatMap((s) => series[s].map((p) => p.rate))));
    const x = (t) => PAD.left + (W - PAD.left - PAD.right) * (t - (now - WINDOW_MS)) / WINDOW_MS;
    const y = (r) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - r / top);
    [0, top / 2, top].forEach((r) => {
      svg('line', {x1: PAD.left, x2: W - PAD.right, y1: y(r), y2: y(r), class: 'grid'}, chart);
      svg('text', {x: PAD.left - 4, y: y(r) + 4, class: 'axis', 'text-anchor': 'end'}, chart)
        .textContent = r % 1 === 0 ? String(r) : r.toFixed(1);
    });
    for (let m = 5; m >= 0; m--) {
      svg('text', {x: x(now - m * 60000), y: H - 4, class: 'axis',
        'text-anchor': m === 5 ? 'start' : m === 0 ? 'end' : 'middle'}, chart)
        .textContent = m === 0 ? 'now' : '−' + m + ' min';
    }
    STATUSES.forEach((s) => {
      const points = series[s].map((p) => x(p.t).toFixed(1) + ',' + y(p.rate).toFixed(1));
      svg('polyline', {class: 'line ' + s, 'data-status': s, points: points.join(' ')}, chart);
      const last = series[s][series[s].length - 1];
      if (last) { // the newest rate, visible before there is a line to draw
        svg('circle', {class: 'dot ' + s, cx: x(last.t).toFixed(1), cy: y(last.rate).toFixed(1),
          r: 2.5}, chart);
      }
    });
  }

  /** The newest rate of each status: the last ten seconds the chart covers. */
  function latest(series) {
    const out = {};
    STATUSES.forEach((s) => {
      const tail = series[s].slice(-2);
      out[s] = tail.length === 0 ? 0 : tail.reduce((a, p) => a + p.rate, 0) / tail.length;
    });
    return out;
  }

  function create() {
    const openedAt = Date.now();
    const rates = createRates();
    const index = new Map(); // paymentId -> the payment as last received (newest last)
    const failedIds = new Set(); // failures counted, newest last
    let failures = 0;
    let drops = 0; // connections lost since the page opened
    let lastState = null;
    let pendingReset = null;
    let dirty = true;

    $('failures-since').textContent = clock(openedAt);

    function countFailure(p) {
      if (failedIds.has(p.paymentId) || (p.publishedAt && p.publishedAt < openedAt)) {
        return; // counted already, or failed before the page opened (a snapshot's)
      }
      failedIds.add(p.paymentId);
      if (failedIds.size > FAILED_IDS) {
        failedIds.delete(failedIds.values().next().value);
      }
      failures++;
      $('failures-count').textContent = failures;
      $('failures').classList.add('alert');
      $('last-failure').textContent = 'last: ' + p.paymentId + ' · ' + p.merchantId + ' · ' +
        p.method + ' · ' + (p.publishedAt ? clock(p.publishedAt) : clock(Date.now()));
    }

    function search() {
      const q = $('search').value.trim().toLowerCase();
      const list = $('search-results');
      list.textContent = '';
      if (q === '') {
        $('search-summary').textContent = '';
        return;
      }
      const found = [];
      Array.from(index.values()).reverse().forEach((p) => {
        if (p.paymentId.toLowerCase().includes(q)) {
          found.push(p);
        }
      });
      $('search-summary').textContent = found.length === 0
        ? 'No payment among the ' + index.size + ' this page holds matches “' + q + '”.'
        : found.length + ' of the ' + index.size + ' payments this page holds match' +
          (found.length === 1 ? 'es' : '') + (found.length > MAX_RESULTS
          ? '; the newest ' + MAX_RESULTS + ' are shown.' : '.');
      found.slice(0, MAX_RESULTS).forEach((p) => {
        const li = document.createElement('li');
        li.dataset.id = p.paymentId;
        const status = document.createElement('span');
        status.className = 'status ' + p.status;
        status.textContent = p.status;
        li.append(p.paymentId + ' · ' + p.merchantId + ' · ' + p.method + ' · ' +
          Number(p.amount).toFixed(2) + ' ' + (p.currency || '') + ' · ' +
          (p.publishedAt ? clock(p.publishedAt) : '') + ' ', status);
        list.append(li);
      });
    }

    function render() {
      const now = Date.now();
      const series = rates.series(now);
      drawChart($('rates'), series, now);
      const r = latest(series);
      STATUSES.forEach((s) => { $('rate-' + s).textContent = r[s].toFixed(1); });
      if (dirty) {
        dirty = false;
        search();
      }
    }

    function showRecovery(kind, text) {
      const e = $('recovery');
      e.dataset.recovery = kind;
      e.className = 'recovery ' + kind;
      e.textContent = text + (drops > 0 ? ' · connection lost ' + drops + ' time' +
        (drops === 1 ? '' : 's') + ' since the page opened' : '');
    }

    $('search').addEventListener('input', search);
    render();
    setInterval(render, 1000);

    return {
      event(event) {
        const p = event.data || {};
        if (typeof p.paymentId !== 'string') {
          return;
        }
        rates.add(p.status, p.publishedAt || Date.now());
        if (p.status === 'failed') {
          countFailure(p);
        }
        index.delete(p.paymentId);
        index.set(p.paymentId, p);
        if (index.size > INDEX_SIZE) {
          index.delete(index.keys().next().value);
        }
        dirty = true;
      },

      /** What follows rebuilds the view: the search starts over with it. */
      reset(reason) {
        pendingReset = reason;
        index.clear();
        dirty = true;
        if (reason === 'fresh') {
          rates.restart(Date.now()); // new filters (or the first subscribe)
        } else {
          rates.from(Date.now()); // what the snapshot repeats was counted, or is lost
        }
      },

      subscribed(info) {
        const at = clock(Date.now());
        if (info.resumed && info.recovered) {
          showRecovery('resumed', 'resumed exactly at ' + at + ': ' + info.missed +
            ' missed event' + (info.missed === 1 ? '' : 's') + ' replayed');
        } else if (info.resumed || pendingReset === 'not-recovered') {
          showRecovery('not-recovered', 'recovered: false at ' + at +
            ': the history did not reach back; reloaded from a fresh snapshot');
        } else if (pendingReset === 'server-resync') {
          showRecovery('not-recovered', 'recovered: false at ' + at +
            ': the server lost events for this page; reloaded from a fresh snapshot');
        } else {
          showRecovery('fresh', 'subscribed at ' + at + ' with a fresh snapshot');
        }
        pendingReset = null;
      },

      state(state) {
        if (state === 'reconnecting' && lastState === 'open') {
          drops++;
        }
        lastState = state;
      },
    };
  }

  window.FanoutOps = {create};
}());
