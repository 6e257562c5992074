// The monitoring page and the VM's metrics tab in the browser (issue 13): uPlot charts of a
// running guest with points, the ranges, an alert of a threshold rule in the alerts view and
// its resolution, live; with an empty browser console and only documented API methods. Takes
// docs/ui-shots/monitoring.png and vm-metrics.png (docs/ui.md).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin } from '../integration/lib/client.mjs';
import { openBrowser, login } from './lib/browser.mjs';
import { documentedMethods, recordMethods, shot } from './lib/manager.mjs';

const VM = 'vgt-mon1';
let stack;
let b;
let token;
const called = new Set();

const points = async (page) => {
    const t = (await page.textContent('.metrics-info')) || '';
    return Number(/^(\d+) points/.exec(t.trim())?.[1] || 0);
};

before(async () => {
    stack = await startStack({ vms: [VM], prefix: 'ud-mon-' });
    token = await apiLogin(stack);
    b = await openBrowser({ width: 1280, height: 900 });
    recordMethods(b.page, called);
});

after(async () => {
    await b?.close();
    await stack?.stop();
});

test('the monitoring page charts the VM with points and shows a firing alert live', { timeout: 180000 }, async () => {
    const { page } = b;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.waitForSelector('#live.on', { timeout: 20000 });
    await page.click('#nav-monitoring');
    await page.waitForURL(new RegExp(`#/monitoring/(vm|host)/`), { timeout: 60000 });
    await page.goto(new URL(`#/monitoring/vm/${VM}`, stack.url).href);
    await page.waitForSelector('[data-chart=cpu] canvas', { timeout: 30000 });
    // Collection rounds every 10 s; the chart follows them from metrics.round events.
    const t0 = Date.now();
    while ((await points(page)) < 2) {
        assert.ok(Date.now() - t0 < 60000, 'two points on the chart within a minute');
        await page.waitForTimeout(1000);
    }
    for (const k of ['cpu', 'mem', 'disk', 'net']) assert.equal(await page.locator(`[data-chart=${k}] canvas`).count(), 1, k);
    await page.waitForSelector(`tr[data-target="vm/${VM}"]`);

    // A rule that holds on every host fires at once, and the alerts view shows it without a reload.
    await api(stack, token, 'alert.rule.create', { name: 'hostbusy', target: 'host', metric: 'cpu_pct', op: '>=', threshold: 0 });
    await page.waitForSelector(`tr[data-alert="hostbusy:host:${stack.hostId}"]`, { timeout: 30000 });
    await page.click('[data-range="7d"]');
    await page.waitForSelector('.metrics-info:has-text("m1")', { timeout: 20000 });
    await page.click('[data-range="1h"]');
    await page.waitForSelector('.metrics-info:has-text("(r")', { timeout: 20000 });
    await shot(page, 'monitoring');
    await api(stack, token, 'alert.rule.delete', { name: 'hostbusy' });
    await page.waitForSelector('#no-alerts', { timeout: 30000 });
    assert.deepEqual(b.errors, [], 'the browser console has no errors');
});

test('the VM page has a metrics tab with the same charts', { timeout: 60000 }, async () => {
    const { page } = b;
    await page.goto(new URL(`#/vm/${VM}/metrics`, stack.url).href);
    await page.waitForSelector('[data-chart=net] canvas', { timeout: 30000 });
    const t0 = Date.now();
    while ((await points(page)) < 2) {
        assert.ok(Date.now() - t0 < 30000, 'points on the VM page');
        await page.waitForTimeout(500);
    }
    await shot(page, 'vm-metrics');
    assert.deepEqual(b.errors, [], 'the browser console has no errors');
});

test('every API method the pages called is documented in docs/api.md', () => {
    const documented = documentedMethods();
    assert.deepEqual([...called].filter((m) => !documented.has(m)), []);
    assert.ok(called.has('metrics.query') && called.has('alert.list'), [...called].join());
});
