// fanout-client's rules against a scripted socket and a scripted check: the options, the words it
// sends, backoff, the end of a session, and what it does when a handshake is refused. The resume
// rule is resume-cases.test.js; the package as installed, package.test.js.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const {FanoutClient} = require('../fanout-client.js');
const {FakeSocket, sockets, timers, reconnect, settle, checks, answerChecks} =
    require('./scripted.js');

function client(options) {
  const states = [];
  const resets = [];
  const c = new FanoutClient(Object.assign({url: 'ws://test/ws', WebSocket: FakeSocket,
    fetch: checks.fetch, onState: (s, d) => states.push(d === undefined ? [s] : [s, d]),
    onReset: (i) => resets.push(i.reason)}, options));
  c.start();
  return {c, states, resets, socket: () => sockets[sockets.length - 1]};
}

test('a server that accepts then closes is retried with growing delays', () => {
  const {socket} = client({});
  const delays = [];
  for (let i = 0; i < 5; i++) {
    socket().open();
    socket().drop(1013);
    delays.push(reconnect());
  }
  assert.deepStrictEqual(delays, [375, 750, 1500, 3000, 6000]);
});

test('the backoff starts afresh once the server answered with subscribed', () => {
  const {socket} = client({});
  socket().open();
  socket().drop(1013);
  reconnect();
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  socket().drop(1006);
  assert.strictEqual(reconnect(), 375);
});

test('the backoff can be set, and is checked', () => {
  const {socket} = client({backoff: {initialMs: 100, maxMs: 300}});
  const delays = [];
  for (let i = 0; i < 4; i++) {
    socket().open();
    socket().drop(1013);
    delays.push(reconnect());
  }
  assert.deepStrictEqual(delays, [75, 150, 225, 225]);
  assert.throws(() => new FanoutClient({url: 'ws://x/ws', WebSocket: FakeSocket,
    backoff: {initialMs: 500, maxMs: 100}}), /0 < initialMs <= maxMs/);
});

test('it sends the generic words: topics and filters', () => {
  const {c, socket} = client({topics: ['mch_1'], filters: {method: ['card']}});
  socket().open();
  assert.deepStrictEqual(socket().sent, [{type: 'subscribe', topics: ['mch_1'],
    filters: {method: ['card']}}]);
  c.subscribe({});
  assert.deepStrictEqual(socket().sent[1], {type: 'subscribe', topics: []});
  c.subscribe({filters: {method: ['sepa'], status: ['failed']}});
  assert.deepStrictEqual(socket().sent[2], {type: 'subscribe', topics: [],
    filters: {method: ['sepa'], status: ['failed']}});
});

test("a server's own words go out only when asked for, with aliases", () => {
  const {c, socket} = client({topics: ['mch_1'], filters: {method: ['card'], status: ['failed']},
    aliases: {topics: 'merchants', filters: {method: 'methods'}}});
  socket().open();
  assert.deepStrictEqual(socket().sent, [{type: 'subscribe', merchants: ['mch_1'],
    methods: ['card'], filters: {status: ['failed']}}]);
  c.subscribe({topics: ['mch_2']});
  assert.deepStrictEqual(socket().sent[1], {type: 'subscribe', merchants: ['mch_2']});
});

test('the old payment options are refused with what to write instead', () => {
  const base = {url: 'ws://x/ws', WebSocket: FakeSocket};
  assert.throws(() => new FanoutClient(Object.assign({merchants: ['mch_1']}, base)),
      {name: 'TypeError', message: /unknown option 'merchants': use topics/});
  assert.throws(() => new FanoutClient(Object.assign({methods: ['card']}, base)),
      /unknown option 'methods': use filters: \{method: \[\.\.\.\]\}/);
  const c = new FanoutClient(base);
  assert.throws(() => c.subscribe({merchants: ['mch_1']}),
      /unknown subscription field 'merchants': use topics/);
  assert.throws(() => new FanoutClient(Object.assign({onevent() {}}, base)),
      /unknown option 'onevent'; known: url, transport, topics/);
});

test('options of the wrong type are refused', () => {
  const base = {url: 'ws://x/ws', WebSocket: FakeSocket};
  const bad = [
    [{topics: 'mch_1'}, /topics must be an array of strings/],
    [{topics: [1]}, /topics must be an array of strings/],
    [{filters: ['card']}, /filters must be an object/],
    [{filters: {method: 'card'}}, /filters.method must be an array of strings/],
    [{aliases: {topics: ['merchants']}}, /aliases.topics must be the name/],
    [{aliases: {filters: {method: 1}}}, /aliases.filters must map/],
    [{onEvent: 'yes'}, /onEvent must be a function/],
    [{url: 'ftp://x/ws'}, /url must be a ws:\/\/ or wss:\/\/ URL/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new FanoutClient(Object.assign({}, base, options)),
        {name: 'TypeError', message}, JSON.stringify(options));
  }
  assert.throws(() => new FanoutClient({WebSocket: FakeSocket}),
      /url is required outside a browser page/);
  assert.throws(() => new FanoutClient({url: 'ws://x/ws'}), /no WebSocket here: pass one/);
});

test("the transport is 'websocket' by default, or 'sse'", () => {
  const c = new FanoutClient({url: 'ws://x/ws', WebSocket: FakeSocket});
  assert.strictEqual(c.transport, 'websocket');
  assert.throws(() => new FanoutClient({url: 'ws://x/ws', WebSocket: FakeSocket,
    transport: 'pigeon'}), {name: 'TypeError', message: /transport 'pigeon' is not supported/});
});

test('credentials that expired (4003) stop the client instead of retrying them', () => {
  const {states, socket} = client({});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  socket().drop(4003);
  assert.strictEqual(timers.length, 0, 'no reconnect scheduled');
  assert.deepStrictEqual(states[states.length - 1], ['stopped', {code: 4003, reason: ''}]);
});

test('the bus frame reaches onBus', () => {
  const seen = [];
  const {socket} = client({onBus: (up) => seen.push(up)});
  socket().open();
  socket().frame({type: 'bus', state: 'down'});
  socket().frame({type: 'bus', state: 'up'});
  assert.deepStrictEqual(seen, [false, true]);
});

test('events, batches, drops and errors reach their callbacks', () => {
  const seen = [];
  const {socket} = client({onEvent: (e) => seen.push(['event', e]),
    onSubscribed: (i) => seen.push(['subscribed', i]), onDropped: (n) => seen.push(['dropped', n]),
    onError: (e) => seen.push(['error', e])});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  socket().frame({type: 'event', id: 'e:1', data: {a: 1}});
  socket().frame({type: 'batch', events: [{type: 'event', id: 'e:2', data: {a: 2}},
    {type: 'event', id: 'e:3', data: {a: 3}}]});
  socket().frame({type: 'dropped', count: 4});
  socket().frame({type: 'error', code: 'forbidden', message: 'topic x is not yours'});
  socket().frame({type: 'something-newer'});
  assert.deepStrictEqual(seen, [
    ['subscribed', {recovered: false, missed: 0, resumed: false}],
    ['event', {id: 'e:1', data: {a: 1}}], ['event', {id: 'e:2', data: {a: 2}}],
    ['event', {id: 'e:3', data: {a: 3}}], ['dropped', 4],
    ['error', {code: 'forbidden', message: 'topic x is not yours'}]]);
});

// ---- a refused handshake: the client asks why, once per failed upgrade ----

test('the check is asked at the endpoint plus /check, over http(s), with the query', () => {
  const c = new FanoutClient({url: 'wss://feed.example/ws?token=abc', WebSocket: FakeSocket});
  assert.strictEqual(c.checkUrl, 'https://feed.example/ws/check?token=abc');
  assert.strictEqual(new FanoutClient({url: 'ws://h:8080/feed/', WebSocket: FakeSocket})
      .checkUrl, 'http://h:8080/feed/check');
  assert.strictEqual(new FanoutClient({url: 'ws://h/ws', WebSocket: FakeSocket,
    checkUrl: false}).checkUrl, null);
});

test('a refusal that waiting will not heal stops the client with its status and reason',
    async () => {
      const {states, socket} = client({url: 'ws://feed/ws?token=t'});
      socket().drop(1006); // refused: closed before it opened
      answerChecks({status: 403, body: {accepted: false, status: 403,
        reason: 'origin not allowed'}});
      await settle();
      assert.deepStrictEqual(checks.asked.map((a) => a.url), ['http://feed/ws/check?token=t']);
      assert.strictEqual(checks.asked[0].init.credentials, 'include');
      assert.deepStrictEqual(states, [['connecting'],
        ['stopped', {status: 403, reason: 'origin not allowed'}]]);
      assert.strictEqual(timers.length, 0, 'no reconnect scheduled');
      assert.strictEqual(sockets.length, 1);
    });

test('an expired token (401) stops it too', async () => {
  const {states, socket} = client({});
  socket().drop(1006);
  answerChecks({status: 401, body: {accepted: false, status: 401, reason: 'token expired'}});
  await settle();
  assert.deepStrictEqual(states[states.length - 1],
      ['stopped', {status: 401, reason: 'token expired'}]);
  assert.strictEqual(timers.length, 0);
});

test('a refusal that may heal (503) is retried with backoff, and says why', async () => {
  const {states, socket} = client({});
  for (let i = 0; i < 3; i++) {
    socket().drop(1006);
    answerChecks({status: 503, body: {accepted: false, status: 503,
      reason: 'connection limit reached'}});
    await settle();
    reconnect();
  }
  assert.deepStrictEqual(states.filter((s) => s[0] === 'reconnecting').map((s) => s[1]), [
    {delayMs: 375, attempt: 1, code: 1006, reason: 'connection limit reached', status: 503},
    {delayMs: 750, attempt: 2, code: 1006, reason: 'connection limit reached', status: 503},
    {delayMs: 1500, attempt: 3, code: 1006, reason: 'connection limit reached', status: 503}]);
  assert.strictEqual(sockets.length, 4);
});

test('no answer, another answer, or an accepted handshake: it keeps retrying', async () => {
  const answers = [new TypeError('fetch failed'), {status: 404, body: 'not json'},
    {status: 200, body: {accepted: true}}, {status: 403, body: {error: 'forbidden'}}];
  const {states, socket} = client({});
  for (const answer of answers) {
    socket().drop(1006);
    answerChecks(answer);
    await settle();
    reconnect();
  }
  assert.strictEqual(checks.asked.length, 4);
  assert.deepStrictEqual(states.filter((s) => s[0] === 'reconnecting').map((s) => s[1].status),
      [undefined, undefined, undefined, undefined]);
  assert.ok(!states.some((s) => s[0] === 'stopped'));
});

test('a connection that opened and then closed is not checked', async () => {
  const {socket} = client({});
  socket().open();
  socket().drop(1006);
  await settle();
  assert.strictEqual(checks.asked.length, 0);
  assert.strictEqual(timers.length, 1, 'reconnect scheduled at once');
});

test('checkUrl false: never ask, retry', async () => {
  const {socket} = client({checkUrl: false});
  socket().drop(1006);
  await settle();
  assert.strictEqual(checks.asked.length, 0);
  assert.strictEqual(timers.length, 1);
});

test('an answer that comes after stop() changes nothing', async () => {
  const {c, states, socket} = client({});
  socket().drop(1006);
  c.stop();
  answerChecks({status: 403, body: {accepted: false, status: 403, reason: 'origin not allowed'}});
  await settle();
  assert.deepStrictEqual(states, [['connecting'], ['stopped']]);
  assert.strictEqual(timers.length, 0);
});

test('a page asking its own origin names it (a same-origin GET carries no Origin)', async () => {
  globalThis.location = {origin: 'http://ops.example:8080', host: 'ops.example:8080',
    protocol: 'http:', search: '?token=tk', href: 'http://ops.example:8080/?token=tk'};
  try {
    const {socket, c} = client({url: undefined});
    assert.strictEqual(c.url, 'ws://ops.example:8080/ws?token=tk');
    socket().drop(1006);
    answerChecks({status: 200, body: {accepted: true}});
    const other = client({url: 'ws://feed.example/ws'});
    other.socket().drop(1006);
    answerChecks({status: 200, body: {accepted: true}});
    await settle();
    assert.deepStrictEqual(checks.asked.map((a) => [a.url, a.init.headers]), [
      ['http://ops.example:8080/ws/check?token=tk',
        {'Fanout-Page-Origin': 'http://ops.example:8080'}],
      ['http://feed.example/ws/check', {}]]); // cross-origin: the browser sends Origin
  } finally {
    delete globalThis.location;
  }
});

test('as a classic <script> it defines the global FanoutClient', () => {
  const vm = require('node:vm');
  const fs = require('node:fs');
  const page = {URL, URLSearchParams, WebSocket: FakeSocket};
  vm.runInNewContext(fs.readFileSync(require.resolve('../fanout-client.js'), 'utf8'), page);
  assert.strictEqual(typeof page.FanoutClient, 'function');
  assert.strictEqual(new page.FanoutClient({url: 'ws://x/ws'}).url, 'ws://x/ws');
});
