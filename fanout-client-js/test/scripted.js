// What the client talks to in the unit tests: a scripted WebSocket, fake timers, a scripted
// check endpoint, and jitter fixed at its middle. Reset before every test.
'use strict';
const {beforeEach} = require('node:test');

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
  open() { this.readyState = 1; this.onopen({}); }
  frame(f) { this.onmessage({data: JSON.stringify(f)}); }
  drop(code) { this.readyState = 3; this.onclose({code: code || 1006, reason: ''}); }
}

const timers = [];
globalThis.setTimeout = (fn, ms) => { timers.push({fn, ms}); return timers.length; };
globalThis.clearTimeout = () => {};
Math.random = () => 0.5;

/** Fires the next timer (a reconnect) and returns its delay. */
function reconnect() {
  const t = timers.shift();
  t.fn();
  return t.ms;
}

/** The check endpoint: every fetch waits until answerChecks. */
const checks = {
  asked: [],
  waiting: [],
  fetch(url, init) {
    checks.asked.push({url, init});
    return new Promise((resolve, reject) => checks.waiting.push({resolve, reject}));
  },
};

/** Answers the waiting checks: an Error (the fetch failed) or {status, body}. */
function answerChecks(answer) {
  checks.waiting.splice(0).forEach((w) => {
    if (answer instanceof Error) {
      w.reject(answer);
    } else {
      w.resolve({status: answer.status, ok: answer.status === 200, json: async () =>
        (typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body)});
    }
  });
}

/** Lets every promise that can settle do so (no time passes: setImmediate runs after them). */
function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}

beforeEach(() => {
  sockets.length = 0;
  timers.length = 0;
  checks.asked.length = 0;
  checks.waiting.length = 0;
});

module.exports = {FakeSocket, sockets, timers, reconnect, checks, answerChecks, settle};
