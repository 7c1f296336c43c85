/*
 * fanout-client.js: a small, dependency-free browser client for fanout's wire protocol v1.
 * Reusable by any page; documented in docs/example-server.md.
 *
 *   const client = new FanoutClient({
 *     url: 'wss://feed.example.com/ws?token=...',  // default: this page's origin + /ws
 *     merchants: ['mch_01'], methods: ['card'],     // empty = all
 *     onEvent(event) {},          // {id, data}: in order, once each
 *     onReset(info) {},           // drop your state: what follows rebuilds it.
 *                                 // info.reason: 'fresh' | 'not-recovered' | 'server-resync'
 *     onSubscribed(info) {},      // {recovered, missed, resumed}
 *     onDropped(count) {},        // the server dropped events because this client was slow
 *     onError(error) {},          // {code, message}: a refused message; the connection stays
 *     onBus(up) {},               // false: the server lost its event bus, events will come late
 *     onState(state, detail) {},  // 'connecting' | 'open' | 'reconnecting' ({delayMs, attempt, code, reason})
 *                                 // | 'stopped' ({code, reason} when the server ended it: 4003 = credentials expired)
 *   });
 *   client.start();
 *   client.subscribe({merchants: [], methods: ['sepa']});  // change filters: fresh snapshot
 *   client.stop();
 *
 * Reconnects with exponential backoff and jitter (0.5 s doubling, capped at 30 s; the backoff
 * resets only once the server answers with 'subscribed', so a server that accepts and then
 * closes is not hammered) and resumes from the last event it delivered, or from the position the
 * server gave with 'subscribed' when that is newer: the server replays exactly what was missed,
 * or says it cannot (onReset with 'not-recovered') and sends a fresh snapshot. The position
 * counts only once the 'replay' events that follow its 'subscribed' have all been delivered (and
 * none was dropped): resuming from it earlier would skip the rest of them. A filter change
 * forgets every resume point, so the next subscribe is a fresh one with a fresh snapshot.
 */
(function (global) {
  'use strict';

  function defaultUrl() {
    const l = global.location;
    const query = new URLSearchParams(l.search);
    const token = query.get('token');
    return (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + '/ws' +
      (token ? '?token=' + encodeURIComponent(token) : '');
  }

  function noop() {}

  class FanoutClient {
    constructor(options) {
      const o = options || {};
      this.url = o.url || defaultUrl();
      this.filters = {merchants: o.merchants || [], methods: o.methods || []};
      this.on = {
        event: o.onEvent || noop,
        reset: o.onReset || noop,
        subscribed: o.onSubscribed || noop,
        dropped: o.onDropped || noop,
        error: o.onError || noop,
        bus: o.onBus || noop,
        state: o.onState || noop,
      };
      this.initialDelayMs = (o.backoff && o.backoff.initialMs) || 500;
      this.maxDelayMs = (o.backoff && o.backoff.maxMs) || 30000;
      this.lastEventId = null;
      this.position = null; // from the latest 'subscribed', once its replay is done; resumeFrom()
      this.pendingPosition = null; // {id, remaining}: replay events still to deliver before it counts
      this.attempt = 0;
      this.socket = null;
      this.timer = null;
      this.stopped = true;
      this.pending = []; // for each subscribe sent and not yet answered: was it a resume?
    }

    start() {
      this.stopped = false;
      this.connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.socket) {
        this.socket.close(1000, 'bye');
      }
      this.on.state('stopped');
    }

    /**
     * Replaces the filters; the server answers with a fresh snapshot. Connected or not: a resume
     * point of the old filters must not be used for the new ones (the server would answer
     * 'recovered' and the new filters' snapshot would never come).
     */
    subscribe(filters) {
      this.filters = {merchants: filters.merchants || [], methods: filters.methods || []};
      this.forgetResumePoint();
      this.send(false);
    }

    forgetResumePoint() {
      this.lastEventId = null;
      this.position = null;
      this.pendingPosition = null;
    }

    connect() {
      this.on.state('connecting');
      const ws = new WebSocket(this.url);
      this.socket = ws;
      ws.onopen = () => {
        this.on.state('open');
        this.send(this.resumeFrom() !== null);
      };
      ws.onmessage = (m) => this.receive(JSON.parse(m.data));
      ws.onclose = (e) => {
        if (this.socket !== ws) {
          return;
        }
        this.socket = null;
        this.pending = [];
        if (e.code === 4003) { // credentials expired: the same ones would be refused
          this.stopped = true;
          this.on.state('stopped', {code: e.code, reason: e.reason});
        } else if (!this.stopped) {
          this.reconnect(e.code, e.reason);
        }
      };
    }

    reconnect(code, reason) {
      const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * Math.pow(2, this.attempt));
      const delayMs = Math.round(ceiling / 2 + Math.random() * ceiling / 2); // equal jitter
      this.attempt++;
      this.on.state('reconnecting', {delayMs, attempt: this.attempt, code, reason});
      this.timer = setTimeout(() => this.connect(), delayMs);
    }

    send(resume) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        return; // sent on (re)connect
      }
      const message = {type: 'subscribe', merchants: this.filters.merchants,
        methods: this.filters.methods};
      if (resume) {
        message.lastEventId = this.resumeFrom();
      }
      this.pending.push(resume);
      this.socket.send(JSON.stringify(message));
    }

    receive(frame) {
      switch (frame.type) {
        case 'event':
          this.deliver(frame);
          break;
        case 'batch':
          frame.events.forEach((e) => this.deliver(e));
          break;
        case 'subscribed': {
          const solicited = this.pending.length > 0;
          const resumed = solicited ? this.pending.shift() : false;
          this.attempt = 0; // the server serves us: the next drop starts the backoff afresh
          let reset = null;
          if (!solicited && !frame.recovered) {
            reset = 'server-resync';
          } else if (solicited && !resumed) {
            reset = 'fresh';
          } else if (!frame.recovered) {
            reset = 'not-recovered';
          }
          if (reset !== null) {
            this.lastEventId = null; // what follows rebuilds the view, and the resume point
            this.on.reset({reason: reset});
          }
          this.position = null;
          this.pendingPosition = frame.position
            ? {id: frame.position, remaining: frame.replay || 0} : null;
          this.adoptPositionIfReplayed();
          this.on.subscribed({recovered: frame.recovered, missed: frame.missed, resumed});
          break;
        }
        case 'dropped':
          this.pendingPosition = null; // events are missing: resume from the last one delivered
          this.on.dropped(frame.count);
          break;
        case 'error':
          this.on.error({code: frame.code, message: frame.message});
          break;
        case 'bus':
          this.on.bus(frame.state === 'up');
          break;
        default:
          break; // newer servers may send more types
      }
    }

    /**
     * Where a reconnect resumes from: the last event processed, or the position the server gave
     * with 'subscribed' when that is newer (a quiet subscription may hear nothing for a long
     * time; without the position it would have nothing to resume from, or an id so old that
     * history no longer covers it). Ids compare by sequence within one epoch. Across epochs the
     * last event processed wins: only the server knows how epochs relate, and a position from a
     * node that lagged behind, in a newer epoch, could be older than what was processed (resuming
     * from it would replay events twice); the server answers the last event exactly, or says it
     * cannot.
     */
    resumeFrom() {
      const last = this.lastEventId;
      const pos = this.position;
      if (last === null || pos === null) {
        return last === null ? pos : last;
      }
      const [lastEpoch, lastSeq] = last.split(':');
      const [posEpoch, posSeq] = pos.split(':');
      if (lastEpoch !== posEpoch) {
        return last;
      }
      return Number(lastSeq) >= Number(posSeq) ? last : pos;
    }

    deliver(e) {
      this.lastEventId = e.id;
      if (this.pendingPosition !== null) {
        this.pendingPosition.remaining--;
        this.adoptPositionIfReplayed();
      }
      this.on.event({id: e.id, data: e.data});
    }

    adoptPositionIfReplayed() {
      if (this.pendingPosition !== null && this.pendingPosition.remaining <= 0) {
        this.position = this.pendingPosition.id;
        this.pendingPosition = null;
      }
    }
  }

  global.FanoutClient = FanoutClient;
})(typeof window !== 'undefined' ? window : globalThis);
