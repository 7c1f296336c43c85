// The resume rule: the table of cases that ResumePointTest runs against the Java clients' rule
// (fanout-client/src/test/resources/resume-cases.json in the repository), run here against the
// package's code.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const {FanoutClient} = require('../fanout-client.js');
const {FakeSocket, sockets, reconnect} = require('./scripted.js');

const table = require(path.join(__dirname,
    '../../fanout-client/src/test/resources/resume-cases.json'));

test('the table of resume cases is there', () => {
  assert.ok(table.cases.length > 10, 'resume-cases.json has its cases');
});

for (const kase of table.cases) {
  test('resume: ' + kase.name, () => {
    let topics = ['a'];
    const resets = [];
    const c = new FanoutClient({url: 'ws://test/ws', WebSocket: FakeSocket, topics,
      checkUrl: false, onReset: (i) => resets.push(i.reason)});
    const socket = () => sockets[sockets.length - 1];
    c.start();
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
        assert.deepStrictEqual(sent.topics, topics, at);
      } else if ('receive' in step) {
        socket().frame(step.receive);
      } else if ('disconnect' in step) {
        socket().drop(step.disconnect);
        connected = false;
      } else if ('changeFilters' in step) {
        topics = step.changeFilters;
        const before = socket().sent.length;
        c.subscribe({topics});
        if (connected) {
          assert.strictEqual(socket().sent.length, before + 1, at);
          assert.deepStrictEqual(socket().sent[before], {type: 'subscribe', topics}, at);
        }
      } else {
        assert.fail('unknown step ' + at);
      }
    });
    assert.deepStrictEqual(resets, kase.resets);
  });
}
