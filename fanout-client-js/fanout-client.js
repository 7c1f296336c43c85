/*
 * fanout-client: a small, dependency-free client for fanout's wire protocol v1 (docs/protocol.md),
 * for browsers and Node. One file: a classic <script> (it defines the global FanoutClient) and a
 * CommonJS module (require('fanout-client')); index.mjs is its ES module entry. README.md and
 * index.d.ts document the options.
 *
 *   const client = new FanoutClient({
 *     url: 'wss://feed.example.com/ws',           // default in a page: its origin + /ws (+ ?token=)
 *     topics: ['mch_01'],                         // empty or absent: every topic you may see
 *     filters: {method: ['card']},                // attribute -> allowed values
 *     onEvent(event) {},          // {id, data}: in order, once each
 *     onReset(info) {},           // drop your state: what follows rebuilds it.
 *                                 // info.reason: 'fresh' | 'not-recovered' | 'server-resync'
 *     onSubscribed(info) {},      // {recovered, missed, resumed}
 *     onDropped(count) {},        // the server dropped events because this client was slow
 *     onError(error) {},          // {code, message}: a refused message; the connection stays
 *     onBus(up) {},               // false: the server lost its event bus, events will come late
 *     onState(state, detail) {},  // 'connecting' | 'open' | 'reconnecting' ({delayMs, attempt,
 *                                 // code, reason, status?}) | 'stopped' (after stop(); {status,
 *                                 // reason} when the server refused the handshake; {code, reason}
 *                                 // when it ended the connection for good: 4003)
 *   });
 *   client.start();
 *   client.subscribe({topics: [], filters: {method: ['sepa']}});  // new filters: fresh snapshot
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
 *
 * A browser sees a refused WebSocket handshake only as close 1006. So when a connection closes
 * before it opened, the client asks the server why, once (GET of checkUrl, by default the
 * endpoint's URL over http(s) with /check appended to its path: protocol.md, "When a handshake
 * is refused"). A refusal that cannot heal by waiting (401 'token expired', 403 'origin not
 * allowed') stops the client with {status, reason}; one that may (503 'server shutting down',
 * 'connection limit reached') is retried with backoff, and 'reconnecting' carries it.
 */
(function (root, factory) {
  'use strict';
  const api = factory(root);
  if (typeof module === 'object' && module !== null && module.exports) {
    module.exports = api; // CommonJS (Node, bundlers); index.mjs re-exports it as an ES module
  } else {
    root.FanoutClient = api.FanoutClient; // a classic <script>
  }
}(typeof globalThis !== 'undefined' ? globalThis : this, function (root) {
  'use strict';

  /** The header that tells a same-origin check the page's origin (browsers send no Origin). */
  const PAGE_ORIGIN_HEADER = 'Fanout-Page-Origin';
  const CHECK_TIMEOUT_MS = 10000;
  const CALLBACKS = ['onEvent', 'onReset', 'onSubscribed', 'onDropped', 'onError', 'onBus',
    'onState'];
  const OPTIONS = ['url', 'transport', 'topics', 'filters', 'aliases', 'backoff', 'checkUrl',
    'WebSocket', 'EventSource', 'fetch'].concat(CALLBACKS);
  /** The SSE event types that carry protocol v1 frames (docs/protocol.md). */
  const SSE_TYPES = ['subscribed', 'event', 'dropped', 'bus'];
  const RENAMED = {
    merchants: "use topics: [...] (to send the server's word 'merchants' instead, add " +
      "aliases: {topics: 'merchants'})",
    methods: "use filters: {method: [...]} (to send the server's word 'methods' instead, add " +
      "aliases: {filters: {method: 'methods'}})",
  };

  function fail(message) {
    throw new TypeError('fanout-client: ' + message);
  }

  function noop() {}

  function isStrings(value) {
    return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function checkKeys(given, known, what) {
    Object.keys(given).forEach((key) => {
      if (Object.prototype.hasOwnProperty.call(RENAMED, key)) {
        fail('unknown ' + what + " '" + key + "': " + RENAMED[key]);
      }
      if (!known.includes(key)) {
        fail('unknown ' + what + " '" + key + "'; known: " + known.join(', '));
      }
    });
  }

  /** {topics, filters} as the client keeps it: validated copies, absent = everything. */
  function subscription(given) {
    const s = given || {};
    if (!isPlainObject(s)) {
      fail('a subscription must be an object {topics, filters}');
    }
    checkKeys(s, ['topics', 'filters'], 'subscription field');
    const topics = s.topics === undefined || s.topics === null ? [] : s.topics;
    if (!isStrings(topics)) {
      fail('topics must be an array of strings');
    }
    const filters = s.filters === undefined || s.filters === null ? {} : s.filters;
    if (!isPlainObject(filters)) {
      fail('filters must be an object: attribute name -> array of allowed values');
    }
    const copy = {};
    Object.keys(filters).forEach((attribute) => {
      const values = filters[attribute] === null ? [] : filters[attribute];
      if (!isStrings(values)) {
        fail("filters." + attribute + ' must be an array of strings');
      }
      copy[attribute] = values.slice();
    });
    return {topics: topics.slice(), filters: copy};
  }

  function aliasesOf(given) {
    if (given === undefined || given === null) {
      return {topics: null, filters: {}};
    }
    if (!isPlainObject(given)) {
      fail("aliases must be an object such as {topics: 'merchants', filters: {method: 'methods'}}");
    }
    checkKeys(given, ['topics', 'filters'], 'alias');
    if (given.topics !== undefined && typeof given.topics !== 'string') {
      fail('aliases.topics must be the name the server uses for topics');
    }
    const filters = given.filters === undefined ? {} : given.filters;
    if (!isPlainObject(filters) || !Object.keys(filters).every(
        (a) => typeof filters[a] === 'string')) {
      fail('aliases.filters must map attribute names to the names the server uses for them');
    }
    return {topics: given.topics || null, filters: Object.assign({}, filters)};
  }

  function backoffOf(given) {
    const b = given || {};
    checkKeys(b, ['initialMs', 'maxMs'], 'backoff setting');
    const initialMs = b.initialMs === undefined ? 500 : b.initialMs;
    const maxMs = b.maxMs === undefined ? 30000 : b.maxMs;
    if (!(initialMs > 0) || !(maxMs >= initialMs)) {
      fail('backoff needs 0 < initialMs <= maxMs, got ' + JSON.stringify(b));
    }
    return {initialMs, maxMs};
  }

  /** In a page: its origin + /ws, with the page's own ?token= passed on. */
  function defaultUrl() {
    const l = root.location;
    if (!l || !l.host) {
      fail('url is required outside a browser page');
    }
    const token = new URLSearchParams(l.search).get('token');
    return (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + '/ws' +
      (token ? '?token=' + encodeURIComponent(token) : '');
  }

  /** In a page: its origin + /events (a token travels in a cookie, never in this URL). */
  function defaultStreamUrl() {
    const l = root.location;
    if (!l || !l.host) {
      fail('url is required outside a browser page');
    }
    return l.protocol + '//' + l.host + '/events';
  }

  /** ws://host/ws?token=x -> http://host/ws/check?token=x (query and cookies as the handshake). */
  function defaultCheckUrl(url) {
    const u = new URL(url, root.location ? root.location.href : undefined);
    u.protocol = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
    u.pathname = u.pathname.replace(/\/$/, '') + '/check';
    u.hash = '';
    return u.toString();
  }

  /** Refusals that waiting can heal: the server is busy, full or going away. */
  function mayHeal(status) {
    return status >= 500 || status === 429 || status === 408;
  }

  /**
   * Asks the server whether, and why, it refuses this client's handshake: {status, reason}, or
   * null when it would accept it or cannot say (no check endpoint, the server is away, the
   * answer is not readable from this origin).
   */
  async function askWhy(fetchImpl, checkUrl) {
    const headers = {};
    const page = root.location;
    // A same-origin GET carries no Origin header (Fetch standard), a cross-origin one always
    // does; a header of its own would need a CORS preflight there, so only here.
    if (page && page.origin && new URL(checkUrl).origin === page.origin) {
      headers[PAGE_ORIGIN_HEADER] = page.origin;
    }
    const init = {credentials: 'include', headers};
    if (typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function') {
      init.signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
    }
    try {
      const response = await fetchImpl(checkUrl, init);
      if (response.status === 200) { // accepted (a stream that opened: not read, let go)
        if (response.body && typeof response.body.cancel === 'function') {
          response.body.cancel();
        }
        return null;
      }
      const answer = await response.json();
      if (answer && answer.accepted === false && Number.isInteger(answer.status) &&
          typeof answer.reason === 'string') {
        return {status: answer.status, reason: answer.reason};
      }
    } catch (e) {
      // not an answer of the check: the server is away, or this is not a fanout endpoint
    }
    return null;
  }

  class FanoutClient {
    constructor(options) {
      const o = options === undefined ? {} : options;
      if (!isPlainObject(o)) {
        fail('options must be an object');
      }
      checkKeys(o, OPTIONS, 'option');
      if (o.transport !== undefined && o.transport !== 'websocket' && o.transport !== 'sse') {
        fail("transport '" + o.transport + "' is not supported: 'websocket' or 'sse'");
      }
      this.transport = o.transport || 'websocket';
      const sse = this.transport === 'sse';
      this.url = o.url === undefined ? (sse ? defaultStreamUrl() : defaultUrl()) : String(o.url);
      let parsed;
      try {
        parsed = new URL(this.url, root.location ? root.location.href : undefined);
      } catch (e) {
        parsed = null;
      }
      if (sse && (parsed === null || !['http:', 'https:'].includes(parsed.protocol))) {
        fail("url must be an http:// or https:// URL for 'sse', got '" + this.url + "'");
      }
      if (parsed === null || !['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
        fail("url must be a ws:// or wss:// URL, got '" + this.url + "'");
      }
      this.subscription = subscription({topics: o.topics, filters: o.filters});
      this.aliases = aliasesOf(o.aliases);
      // 'sse' asks the stream's own URL: a refused stream answers why, with its status
      this.checkUrl = o.checkUrl === false ? null : o.checkUrl !== undefined ? String(o.checkUrl)
        : sse ? undefined : defaultCheckUrl(this.url);
      this.WebSocket = o.WebSocket || root.WebSocket;
      this.EventSource = o.EventSource || root.EventSource;
      if (sse && typeof this.EventSource !== 'function') {
        fail('no EventSource here: pass one with {EventSource}');
      }
      if (!sse && typeof this.WebSocket !== 'function') {
        fail("no WebSocket here: pass one, e.g. {WebSocket: require('ws')}");
      }
      this.fetch = o.fetch || (typeof root.fetch === 'function' ? root.fetch.bind(root) : null);
      this.on = {};
      CALLBACKS.forEach((name) => {
        if (o[name] !== undefined && typeof o[name] !== 'function') {
          fail(name + ' must be a function');
        }
        this.on[name.charAt(2).toLowerCase() + name.slice(3)] = o[name] || noop;
      });
      const backoff = backoffOf(o.backoff);
      this.initialDelayMs = backoff.initialMs;
      this.maxDelayMs = backoff.maxMs;
      this.lastEventId = null;
      this.lastByPartition = new Map(); // partition -> the last id processed there
      this.opaque = false; // an id outside the protocol was processed: only the last one counts
      this.position = null; // from the latest 'subscribed', once its replay is done; resumeFrom()
      this.pendingPosition = null; // {id, remaining}: replay events still to deliver before it counts
      this.attempt = 0;
      this.socket = null;
      this.timer = null;
      this.stopped = true;
      this.run = 0; // counts start() and stop(): a check answered after either is ignored
      this.pending = []; // for each subscribe sent and not yet answered: was it a resume?
    }

    start() {
      this.stopped = false;
      this.run++;
      this.connect();
    }

    stop() {
      this.stopped = true;
      this.run++;
      clearTimeout(this.timer);
      if (this.socket) {
        this.socket.close(1000, 'bye');
        if (this.transport === 'sse') {
          this.socket = null; // an EventSource says nothing once closed
        }
      }
      this.on.state('stopped');
    }

    /**
     * Replaces the filters ({topics, filters}); the server answers with a fresh snapshot.
     * Connected or not: a resume point of the old filters must not be used for the new ones (the
     * server would answer 'recovered' and the new filters' snapshot would never come).
     */
    subscribe(filters) {
      this.subscription = subscription(filters);
      this.forgetResumePoint();
      if (this.transport === 'sse') { // a stream's subscription is its URL: open another
        if (this.socket) {
          this.socket.close();
          this.socket = null;
          this.connect();
        }
        return;
      }
      this.send(false);
    }

    forgetResumePoint() {
      this.forgetLast();
      this.position = null;
      this.pendingPosition = null;
    }

    connect() {
      if (this.transport === 'sse') {
        this.connectStream();
        return;
      }
      this.on.state('connecting');
      const ws = new this.WebSocket(this.url);
      let opened = false;
      this.socket = ws;
      ws.onopen = () => {
        opened = true;
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
        } else if (this.stopped) {
          return;
        } else if (!opened && this.checkUrl !== null && this.fetch !== null) {
          this.explain(e.code, e.reason);
        } else {
          this.reconnect(e.code, e.reason, null);
        }
      };
    }

    /**
     * Server-Sent Events: the subscription and the resume point go in the URL, each frame comes
     * as an SSE event of its type. The EventSource's own reconnect is not used: on an error the
     * stream is closed, and reconnected with this client's backoff and resume point, as a
     * WebSocket is.
     */
    connectStream() {
      this.on.state('connecting');
      const resume = this.resumeFrom();
      const url = this.streamUrl(resume);
      const es = new this.EventSource(url, {withCredentials: true});
      let opened = false;
      this.socket = es;
      this.pending = [resume !== null]; // the URL is this stream's one subscribe
      es.onopen = () => {
        if (this.socket === es) {
          opened = true;
          this.on.state('open');
        }
      };
      const frame = (m) => {
        if (this.socket === es) {
          this.receive(JSON.parse(m.data));
        }
      };
      SSE_TYPES.forEach((type) => es.addEventListener(type, frame));
      es.addEventListener('error', (e) => {
        if (e && typeof e.data === 'string') {
          frame(e); // the server's own 'error' frame
          return;
        }
        if (this.socket !== es) {
          return;
        }
        es.close();
        this.socket = null;
        this.pending = [];
        if (this.stopped) {
          return;
        }
        if (!opened && this.checkUrl !== null && this.fetch !== null) {
          this.explain(null, null, this.checkUrl || url);
        } else {
          this.reconnect(null, null, null);
        }
      });
    }

    /** The stream's URL: the subscription (in the server's words where given) and resume point. */
    streamUrl(resume) {
      const u = new URL(this.url, root.location ? root.location.href : undefined);
      const m = this.message();
      Object.keys(m).forEach((field) => {
        if (field === 'filters') {
          Object.keys(m.filters).forEach((attribute) =>
            u.searchParams.set('filter.' + attribute, m.filters[attribute].join(',')));
        } else if (field !== 'type' && m[field].length > 0) {
          u.searchParams.set(field, m[field].join(','));
        }
      });
      if (resume !== null) {
        u.searchParams.set('lastEventId', resume);
      }
      return u.toString();
    }

    /** The handshake failed: stop on a refusal that cannot heal, else retry (with its reason). */
    explain(code, reason, checkUrl) {
      const run = this.run;
      askWhy(this.fetch, checkUrl || this.checkUrl).then((refusal) => {
        if (this.stopped || this.run !== run) {
          return; // stopped, or started afresh, meanwhile
        }
        if (refusal !== null && !mayHeal(refusal.status)) {
          this.stopped = true;
          this.on.state('stopped', refusal);
        } else {
          this.reconnect(code, reason, refusal);
        }
      });
    }

    reconnect(code, reason, refusal) {
      const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * Math.pow(2, this.attempt));
      const delayMs = Math.round(ceiling / 2 + Math.random() * ceiling / 2); // equal jitter
      this.attempt++;
      const detail = {delayMs, attempt: this.attempt, code, reason};
      if (refusal !== null) {
        detail.status = refusal.status;
        detail.reason = refusal.reason;
      }
      this.on.state('reconnecting', detail);
      this.timer = setTimeout(() => this.connect(), delayMs);
    }

    /** The subscribe message in the protocol's words, or the server's aliases where given. */
    message() {
      const s = this.subscription;
      const aliases = this.aliases;
      const message = {type: 'subscribe'};
      message[aliases.topics || 'topics'] = s.topics;
      const filters = {};
      Object.keys(s.filters).forEach((attribute) => {
        const alias = aliases.filters[attribute];
        if (alias) {
          message[alias] = s.filters[attribute];
        } else {
          filters[attribute] = s.filters[attribute];
        }
      });
      if (Object.keys(filters).length > 0) {
        message.filters = filters;
      }
      return message;
    }

    send(resume) {
      if (!this.socket || this.socket.readyState !== 1) { // 1: OPEN
        return; // sent on (re)connect
      }
      const message = this.message();
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
            this.forgetLast(); // what follows rebuilds the view, and the resume point
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
     *
     * On a partitioned stream (ids '<partition>.<epoch>:<seq>', positions their ids joined by
     * commas) the rule holds per partition, and the resume point is one id per partition, joined
     * by commas in partition order. With one partition that is the one id, as it always was.
     */
    resumeFrom() {
      const last = this.lastEventId;
      const pos = this.position;
      if (last === null || this.opaque) {
        return last === null ? pos : last;
      }
      const from = new Map(this.lastByPartition);
      if (pos !== null) {
        const ids = pos.split(',').map(parseId);
        if (ids.some((id) => id === null)) {
          return last; // not ids of this protocol: only the one processed means anything
        }
        for (const p of ids) {
          const l = from.get(p.partition);
          if (l === undefined || (l.epoch === p.epoch && l.named === p.named
              && seqBelow(l.seq, p.seq))) {
            from.set(p.partition, p);
          }
        }
      }
      const ids = [...from.values()];
      if (ids.length > 1 && ids.some((id) => !id.named)) {
        return last; // one id names no partition: not a position of this protocol
      }
      return ids.sort((a, b) => a.partition - b.partition).map((id) => id.text).join(',');
    }

    forgetLast() {
      this.lastEventId = null;
      this.lastByPartition = new Map();
      this.opaque = false;
    }

    deliver(e) {
      this.lastEventId = e.id;
      const id = parseId(e.id);
      if (id === null) {
        this.opaque = true;
      } else {
        this.lastByPartition.set(id.partition, id);
      }
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

  /**
   * An event id of the protocol: '<epoch>:<seq>', or '<partition>.<epoch>:<seq>' on a stream of
   * several partitions; null for anything else.
   */
  function parseId(text) {
    const m = /^(?:(0|[1-9][0-9]{0,3})\.)?([A-Za-z0-9]{1,32}):([1-9][0-9]{0,18})$/.exec(text);
    if (m === null) {
      return null;
    }
    return {text, named: m[1] !== undefined, partition: m[1] === undefined ? 0 : Number(m[1]),
      epoch: m[2], seq: m[3]};
  }

  /** Whether decimal sequence a is below b (exact, however long: no leading zeros). */
  function seqBelow(a, b) {
    return a.length !== b.length ? a.length < b.length : a < b;
  }

  return {FanoutClient};
}));
