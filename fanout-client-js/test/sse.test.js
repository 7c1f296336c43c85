// The 'sse' transport against a scripted EventSource: the URL, frames, resume, refusals.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const {FanoutClient} = require('../fanout-client.js');
const {timers, reconnect, settle, checks, answerChecks} = require('./scripted.js');

const streams = [];
class FakeEventSource {
  constructor(url, init) {
    this.url = url;
    this.init = init;
    this.listeners = {};
    this.closed = false;
    streams.push(this);
  }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  close() { this.closed = true; }
  // what the server does
  open() { this.onopen({}); }
  frame(f) { (this.listeners[f.type] || []).forEach((fn) => fn({data: JSON.stringify(f)})); }
  fail() { (this.listeners.error || []).forEach((fn) => fn({})); }
}

test.beforeEach(() => {
  streams.length = 0;
});

function client(options) {
  const seen = {events: [], states: [], resets: [], subscribed: []};
  const c = new FanoutClient(Object.assign({
    url: 'http://x/events', transport: 'sse', EventSource: FakeEventSource, fetch: checks.fetch,
    onEvent: (e) => seen.events.push(e.id), onState: (s, d) => seen.states.push([s, d]),
    onReset: (r) => seen.resets.push(r.reason), onSubscribed: (i) => seen.subscribed.push(i),
  }, options));
  return {c, seen};
}

test('the subscription goes in the URL, in the server\'s words where given', () => {
  const {c} = client({topics: ['mch_1', 'mch_2'], filters: {method: ['card'], status: ['ok']},
    aliases: {filters: {method: 'methods'}}});
  c.start();
  const u = new URL(streams[0].url);
  assert.strictEqual(u.pathname, '/events');
  assert.strictEqual(u.searchParams.get('topics'), 'mch_1,mch_2');
  assert.strictEqual(u.searchParams.get('methods'), 'card');
  assert.strictEqual(u.searchParams.get('filter.status'), 'ok');
  assert.strictEqual(u.searchParams.get('lastEventId'), null);
  assert.deepStrictEqual(streams[0].init, {withCredentials: true});
});

test('frames reach their callbacks; a broken stream resumes from the last event', () => {
  const {c, seen} = client({topics: ['a']});
  c.start();
  streams[0].open();
  streams[0].frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  streams[0].frame({type: 'event', id: 'e:1', data: {}});
  streams[0].frame({type: 'event', id: 'e:2', data: {}});
  assert.deepStrictEqual(seen.events, ['e:1', 'e:2']);
  assert.deepStrictEqual(seen.resets, ['fresh']);
  streams[0].fail();
  assert.ok(streams[0].closed, 'the native reconnect is not used');
  assert.strictEqual(seen.states.at(-1)[0], 'reconnecting');
  reconnect();
  assert.strictEqual(new URL(streams[1].url).searchParams.get('lastEventId'), 'e:2');
  streams[1].open();
  streams[1].frame({type: 'subscribed', recovered: true, missed: 1, replay: 1});
  streams[1].frame({type: 'event', id: 'e:3', data: {}});
  assert.deepStrictEqual(seen.events, ['e:1', 'e:2', 'e:3']);
  assert.deepStrictEqual(seen.resets, ['fresh']); // recovered: nothing to drop
  assert.strictEqual(seen.subscribed.at(-1).resumed, true);
});

test('a stream refused before it opened asks its own URL why, and stops on a 401', async () => {
  const {c, seen} = client({topics: ['a']});
  c.start();
  streams[0].fail();
  assert.strictEqual(checks.asked[0].url, streams[0].url);
  answerChecks({status: 401, body: {accepted: false, status: 401, reason: 'token expired'}});
  await settle();
  assert.deepStrictEqual(seen.states.at(-1), ['stopped', {status: 401, reason: 'token expired'}]);
  assert.strictEqual(timers.length, 0);
});

test('a 503 or an accepted stream is retried', async () => {
  const {c, seen} = client({});
  c.start();
  streams[0].fail();
  answerChecks({status: 200, body: {}});
  await settle();
  assert.strictEqual(seen.states.at(-1)[0], 'reconnecting');
});

test('new filters open a new stream without a resume point', () => {
  const {c} = client({topics: ['a']});
  c.start();
  streams[0].open();
  streams[0].frame({type: 'subscribed', recovered: false, missed: 0, replay: 0});
  streams[0].frame({type: 'event', id: 'e:5', data: {}});
  c.subscribe({topics: ['b']});
  assert.ok(streams[0].closed);
  const u = new URL(streams[1].url);
  assert.strictEqual(u.searchParams.get('topics'), 'b');
  assert.strictEqual(u.searchParams.get('lastEventId'), null);
  c.stop();
  assert.ok(streams[1].closed);
});

test("'sse' needs an http(s) URL and an EventSource", () => {
  assert.throws(() => new FanoutClient({url: 'ws://x/ws', transport: 'sse',
    EventSource: FakeEventSource}), /http:\/\/ or https:\/\/ URL for 'sse'/);
  assert.throws(() => new FanoutClient({url: 'http://x/events', transport: 'sse'}),
    /no EventSource here/);
});
