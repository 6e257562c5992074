// Freezing a user ends their console in the browser within a second (issue 4: "Freezing a user
// closes their open console in the browser and in vmgatectl within 1 s"; vmgatectl and raw
// WebSocket clients are covered by tests/integration/users.test.mjs). An operator of a project
// has the console of the project's VM open in Chromium; an administrator freezes them; the
// page's console WebSocket is closed by the gateway with 4001 and the page leaves the live
// console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin } from '../integration/lib/client.mjs';
import { until } from '../integration/lib/wait.mjs';
import { openBrowser, login } from './lib/browser.mjs';

const VM = 'vgt-ufz';
const USER = 'fred';
const PASSWORD = 'fred-operator-pw';
let stack;
let browser;
let admin;

before(async () => {
    stack = await startStack({ vms: [VM], prefix: 'ud-freeze-' });
    admin = await apiLogin(stack);
    await until(() => stack.redis('hget', `vg:vm:${VM}`, 'memory_mib'), 60000, `${VM} registered`);
    await api(stack, admin, 'project.create', { name: 'pf' });
    await api(stack, admin, 'vm.adopt', { vm: VM, project: 'pf' });
    await api(stack, admin, 'user.create', { name: USER, password: PASSWORD, role: 'operator' });
    await api(stack, admin, 'project.member.set', { project: 'pf', user: USER, role: 'operator' });
    browser = await openBrowser();
});

after(async () => {
    await browser?.close();
    await stack?.stop();
});

test('freezing the user closes their console in the browser within 1 s', async () => {
    const { page } = browser;
    const closed = [];
    page.on('websocket', (ws) => {
        if (ws.url().includes('/ws/console')) ws.on('close', () => closed.push(Date.now()));
    });
    await login(page, stack.url, USER, PASSWORD);
    await page.waitForSelector(`tr[data-vm="${VM}"]`, { timeout: 20000 });
    await page.goto(new URL(`#/console/${VM}`, stack.url).href);
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    assert.equal(closed.length, 0);

    const t0 = Date.now();
    await api(stack, admin, 'user.freeze', { name: USER });
    await until(() => closed.length, 3000, 'the console WebSocket to close', 10);
    const took = closed[0] - t0;
    assert.ok(took < 1000, `console closed ${took} ms after user.freeze`);
    // The page does not stay on a live console: it stops (and, its session gone, asks to log in).
    await page.waitForFunction(() => document.body.dataset.console !== 'connected', null, {
        timeout: 2000,
    });
    // The frozen user cannot come back.
    await assert.rejects(apiLogin(stack, USER, PASSWORD), (e) => e.code === 'forbidden');
});
