// The resume and backoff rules of fanout-client.js, run on the very file the page loads, against
// a scripted socket. Run: node --test example-server/src/test/js/ (ClientScriptTest does).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');

const sockets = [];
class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    sockets.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  // what the server does
  open() { this.readyState = 1; this.onopen(); }
  frame(f) { this.onmessage({data: JSON.stringify(f)}); }
  drop(code) { this.readyState = 3; this.onclose({code: code || 1006, reason: ''}); }
}
FakeSocket.OPEN = 1;
globalThis.WebSocket = FakeSocket;
const timers = [];
globalThis.setTimeout = (fn, ms) => { timers.push({fn, ms}); return timers.length; };
globalThis.clearTimeout = () => {};
Math.random = () => 0.5;
require(path.join(__dirname,
    '../../main/resources/dev/fanout/example/web/fanout-client.js'));

function client(options) {
  sockets.length = 0;
  timers.length = 0;
  const states = [];
  const resets = [];
  const c = new globalThis.FanoutClient(Object.assign({url: 'ws://test/ws',
    onState: (s, d) => states.push({s, d}), onReset: (i) => resets.push(i.reason)}, options));
  c.start();
  return {c, states, resets, socket: () => sockets[sockets.length - 1]};
}

function reconnect() {
  const t = timers.shift();
  t.fn();
  return t.ms;
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

test('a filter change while disconnected is a fresh subscribe, not a resume', () => {
  const {c, socket} = client({merchants: ['a']});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 1, position: 'e:7'});
  socket().frame({type: 'event', id: 'e:7', data: {}});
  socket().drop();
  c.subscribe({merchants: ['b']});
  reconnect();
  socket().open();
  assert.deepStrictEqual(socket().sent, [{type: 'subscribe', merchants: ['b'], methods: []}]);
});

test('the position counts only once the replay that follows it was delivered', () => {
  const {socket} = client({});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 3, position: 'e:50'});
  socket().frame({type: 'event', id: 'e:10', data: {}});
  socket().frame({type: 'batch', events: [{type: 'event', id: 'e:20', data: {}}]});
  socket().drop(); // before e:30, the last of the snapshot
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, 'e:20');
  socket().frame({type: 'subscribed', recovered: true, missed: 1, replay: 1, position: 'e:52'});
  socket().frame({type: 'event', id: 'e:30', data: {}});
  socket().drop();
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, 'e:52');
});

test('a drop notice inside the replay keeps the resume point at the last event delivered', () => {
  const {socket} = client({});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 2, position: 'e:40'});
  socket().frame({type: 'event', id: 'e:3', data: {}});
  socket().frame({type: 'dropped', count: 1});
  socket().frame({type: 'event', id: 'e:9', data: {}});
  socket().drop();
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, 'e:9');
});

test('across epochs the last event processed wins over the position', () => {
  const {socket} = client({});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  socket().frame({type: 'event', id: 'a:500', data: {}});
  socket().drop();
  reconnect();
  socket().open(); // a node that lagged behind answers in the epoch after a failover
  socket().frame({type: 'subscribed', recovered: true, missed: 0, replay: 0, position: 'b:495'});
  socket().drop();
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, 'a:500');
});

test('a resume that is not recovered forgets the old resume point', () => {
  const {socket, resets} = client({});
  socket().open();
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 0, position: 'a:5'});
  socket().drop();
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, 'a:5');
  socket().frame({type: 'subscribed', recovered: false, missed: 0, replay: 2, position: 'b:4'});
  socket().drop(); // the new snapshot did not arrive
  reconnect();
  socket().open();
  assert.strictEqual(socket().sent[0].lastEventId, undefined);
  assert.deepStrictEqual(resets, ['fresh', 'not-recovered']);
});

test('credentials that expired (4003) stop the client instead of retrying them', () => {
  const states = [];
  sockets.length = 0;
  timers.length = 0;
  const c = new globalThis.FanoutClient({url: 'ws://test/ws',
    onState: (s, d) => states.push({s, d})});
  c.start();
  const socket = sockets[sockets.length - 1];
  socket.open();
  socket.frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  socket.drop(4003);
  assert.strictEqual(timers.length, 0, 'no reconnect scheduled');
  assert.deepStrictEqual(states[states.length - 1], {s: 'stopped',
    d: {code: 4003, reason: ''}});
});

test('the bus frame reaches onBus', () => {
  const seen = [];
  sockets.length = 0;
  const c = new globalThis.FanoutClient({url: 'ws://test/ws', onBus: (up) => seen.push(up)});
  c.start();
  const socket = sockets[sockets.length - 1];
  socket.open();
  socket.frame({type: 'bus', state: 'down'});
  socket.frame({type: 'bus', state: 'up'});
  assert.deepStrictEqual(seen, [false, true]);
});
