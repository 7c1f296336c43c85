// The resume and backoff rules of fanout-client.js, run on the very file the page loads, against
// a scripted socket. Run: npm test (the Maven build does).
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
require(path.join(__dirname, '../fanout-client.js'));

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

// The resume rule: the table of cases that ResumePointTest runs against the Java clients' rule.
const table = require(path.join(__dirname,
    '../../fanout-client/src/test/resources/resume-cases.json'));

test('the table of resume cases is there', () => {
  assert.ok(table.cases.length > 10, 'resume-cases.json has its cases');
});

for (const kase of table.cases) {
  test('resume: ' + kase.name, () => {
    let merchants = ['a'];
    const {c, socket, resets} = client({merchants});
    let started = false;
    let connected = false;
    kase.steps.forEach((step, i) => {
      const at = 'step ' + i + ' ' + JSON.stringify(step);
      if ('connect' in step) {
        if (started) {
          reconnect();
        }
        started = true;
        socket().open();
        connected = true;
        const sent = socket().sent[socket().sent.length - 1];
        assert.strictEqual(sent.lastEventId === undefined ? null : sent.lastEventId,
            step.connect, at);
        assert.deepStrictEqual(sent.merchants, merchants, at);
      } else if ('receive' in step) {
        socket().frame(step.receive);
      } else if ('disconnect' in step) {
        socket().drop(step.disconnect);
        connected = false;
      } else if ('changeFilters' in step) {
        merchants = step.changeFilters;
        const before = socket().sent.length;
        c.subscribe({merchants});
        if (connected) {
          assert.strictEqual(socket().sent.length, before + 1, at);
          assert.deepStrictEqual(socket().sent[before],
              {type: 'subscribe', merchants, methods: []}, at);
        }
      } else {
        assert.fail('unknown step ' + at);
      }
    });
    assert.deepStrictEqual(resets, kase.resets);
  });
}

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
