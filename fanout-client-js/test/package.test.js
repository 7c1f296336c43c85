// The package as a user gets it: `npm pack`, the tarball installed offline into a fresh project,
// then imported as an ES module and required as CommonJS. Nothing comes from a registry.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {execFileSync} = require('node:child_process');

const packageDir = path.join(__dirname, '..');
const manifest = require('../package.json');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fanout-client-pack-'));
const npmEnv = Object.assign({}, process.env, {
  npm_config_cache: path.join(work, 'npm-cache'),
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
});

function npm(args, cwd) {
  return execFileSync('npm', args, {cwd, env: npmEnv, encoding: 'utf8', timeout: 120000});
}

function node(file, cwd) {
  return execFileSync(process.execPath, [file], {cwd, encoding: 'utf8', timeout: 60000});
}

test.after(() => fs.rmSync(work, {recursive: true, force: true}));

let packed;
const consumer = path.join(work, 'consumer');

test.before(() => {
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], packageDir));
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'),
      JSON.stringify({name: 'consumer', private: true}));
  npm(['install', path.join(work, packed.filename)], consumer);
});

test('the tarball holds the code, both entries, their types and the README, nothing else', () => {
  assert.strictEqual(packed.filename, 'fanout-client-' + manifest.version + '.tgz');
  assert.deepStrictEqual(packed.files.map((f) => f.path).sort(), ['README.md',
    'fanout-client.js', 'index.d.mts', 'index.d.ts', 'index.mjs', 'package.json']);
  const installed = path.join(consumer, 'node_modules', 'fanout-client');
  const entries = manifest.exports['.'];
  for (const file of [entries.import.types, entries.import.default, entries.require.types,
    entries.require.default, manifest.main, manifest.types]) {
    assert.ok(fs.existsSync(path.join(installed, file)), file + ' is in the package');
  }
});

test("the package's version is the repository's (the parent pom's)", () => {
  const pom = fs.readFileSync(path.join(packageDir, '..', 'pom.xml'), 'utf8');
  const version = /<artifactId>fanout-parent<\/artifactId>\s*<version>([^<]+)<\/version>/
      .exec(pom)[1];
  assert.strictEqual(manifest.version, version);
});

// What both entries run: a client on a scripted socket subscribes with the generic words and
// delivers an event. Prints what it saw.
const drive = `
  const sockets = [];
  class Socket {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() {}
  }
  const seen = [];
  const client = new FanoutClient({url: 'ws://feed.test/ws', WebSocket: Socket,
    topics: ['mch_1'], filters: {method: ['card']}, onEvent: (e) => seen.push(e.id)});
  client.start();
  sockets[0].readyState = 1;
  sockets[0].onopen({});
  sockets[0].onmessage({data: JSON.stringify({type: 'event', id: 'e:1', data: {}})});
  console.log(JSON.stringify({sent: sockets[0].sent, seen, checkUrl: client.checkUrl}));
`;
const expected = {sent: [{type: 'subscribe', topics: ['mch_1'], filters: {method: ['card']}}],
  seen: ['e:1'], checkUrl: 'http://feed.test/ws/check'};

test('import { FanoutClient } from "fanout-client" works (ES module entry)', () => {
  fs.writeFileSync(path.join(consumer, 'esm.mjs'), `
    import {FanoutClient} from 'fanout-client';
    import {createRequire} from 'node:module';
    // one class behind both entries: no second copy whose instances differ
    if (createRequire(import.meta.url)('fanout-client').FanoutClient !== FanoutClient) {
      throw new Error('import and require give different classes');
    }
    ${drive}`);
  assert.deepStrictEqual(JSON.parse(node('esm.mjs', consumer)), expected);
});

test('require("fanout-client") works (CommonJS entry)', () => {
  fs.writeFileSync(path.join(consumer, 'cjs.cjs'), `
    const {FanoutClient} = require('fanout-client');
    ${drive}`);
  assert.deepStrictEqual(JSON.parse(node('cjs.cjs', consumer)), expected);
});

test('the browser file is exported for copying into a site', () => {
  fs.writeFileSync(path.join(consumer, 'where.cjs'),
      "console.log(require.resolve('fanout-client/fanout-client.js'))");
  const file = node('where.cjs', consumer).trim();
  assert.strictEqual(fs.readFileSync(file, 'utf8'),
      fs.readFileSync(path.join(packageDir, 'fanout-client.js'), 'utf8'));
});
