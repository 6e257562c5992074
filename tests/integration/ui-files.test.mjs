// The gateway serves only the staged UI (build/ui, tools/stage-ui.mjs): the files the page
// loads, and nothing else of ui/ — not package.json, not the lock file, not a node_modules file
// the import map does not name (issue 9 item 8: every file of ui/ used to be served). And the
// Content-Security-Policy allows exactly the page's one inline script, the import map.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { startStack } from './lib/stack.mjs';

let stack;

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-uifiles-' });
});

after(async () => {
  await stack?.stop();
});

// GET with the path sent exactly as written (no URL normalisation of `..`).
function get(rawPath) {
  const { port } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: rawPath, method: 'GET', ca: fs.readFileSync(stack.caFile), agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('package files and node_modules files the UI does not load are not served', async () => {
  const refused = [
    '/package.json',
    '/package-lock.json',
    '/vendor/../package-lock.json',
    '/vendor/%2e%2e/package-lock.json',
    '/node_modules/lit/package.json',
    '/node_modules/.package-lock.json',
    '/vendor/lit/package.json',
    '/vendor/lit/development/index.js', // lit's development build: not in the import map
    '/vendor/@xterm/xterm/lib/xterm.js', // the UMD build next to the module the map names
    '/vendor/@xterm/xterm/package.json',
    '/vendor/@types/trusted-types/index.d.ts',
    '/js/main.js', // the old layout
  ];
  for (const path of refused) {
    const res = await get(path);
    assert.equal(res.status, 404, `${path} answered ${res.status}`);
    assert.doesNotMatch(res.body, /"dependencies"|"lockfileVersion"/, path);
  }
});

test('the files the page loads are served, the import map allowed by its CSP hash', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  const map = index.body.match(/<script type="importmap">([\s\S]*?)<\/script>/)[1];
  const hash = createHash('sha256').update(map).digest('base64');
  const csp = index.headers['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.ok(csp.includes(`script-src 'self' 'wasm-unsafe-eval' 'sha256-${hash}'`), csp);
  // WebAssembly may be compiled (the recordings player), JavaScript never evaluated.
  assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);
  for (const target of Object.values(JSON.parse(map).imports)) {
    if (target.endsWith('/')) continue;
    const res = await get(target);
    assert.equal(res.status, 200, target);
    assert.match(res.headers['content-type'], /javascript/, target);
  }
  for (const path of ['/app/main.js', '/css/app.css', '/vendor/@xterm/xterm/css/xterm.css', '/favicon.svg'])
    assert.equal((await get(path)).status, 200, path);
});
