// The Timers and Settings pages in the browser (issue 18, M10 and M15): a timer created in the
// form is listed with its next run, paused and deleted; a setting changed on the page is in
// Redis and the hostd's heartbeat follows it; an out-of-range value shows the API's message at
// the field and changes nothing. Takes docs/ui-shots/timers.png and settings.png (docs/ui.md).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { until } from '../integration/lib/wait.mjs';
import { openBrowser, login } from './lib/browser.mjs';
import { documentedMethods, recordMethods, shot } from './lib/manager.mjs';

const VM = 'vgt-tmr1';
let stack;
let b;
const called = new Set();

before(async () => {
    stack = await startStack({ vms: [VM], prefix: 'ud-tmr-' });
    b = await openBrowser({ width: 1280, height: 900 });
    recordMethods(b.page, called);
});

after(async () => {
    await b?.close();
    await stack?.stop();
});

test('the Timers page creates a weekly timer in a time zone, shows its next run, pauses and deletes it', { timeout: 120000 }, async () => {
    const { page } = b;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.waitForSelector('#live.on', { timeout: 20000 });
    await page.click('#nav-timers');
    await page.waitForSelector('#no-timers');
    await page.fill('#timer-name', 'weekly-stop');
    await page.selectOption('#timer-action', 'stop');
    await page.fill('#timer-target', VM);
    await page.selectOption('#timer-schedule', 'weekly');
    await page.fill('#timer-at', '19:45');
    await page.fill('#timer-tz', 'Not/AZone');
    await page.selectOption('#timer-weekday', '5');
    await page.click('#timer-create');
    await page.waitForSelector('#timer-tz-error:has-text("unknown time zone")');
    await page.fill('#timer-tz', 'Asia/Tokyo');
    await page.click('#timer-create');
    const row = page.locator('tr[data-timer="weekly-stop"]');
    await row.waitFor();
    assert.match(await row.textContent(), /Fridays at 19:45 Asia\/Tokyo/);
    assert.notEqual((await row.locator('[data-next]').textContent()).trim(), '—');
    assert.equal(JSON.parse(stack.redis('hget', 'vg:timers', 'weekly-stop')).weekday, 5);
    await page.fill('#timer-name', 'every-hour');
    await page.fill('#timer-target', VM);
    await page.selectOption('#timer-schedule', 'every');
    await page.fill('#timer-every', '60');
    await page.click('#timer-create');
    await page.locator('tr[data-timer="every-hour"]').waitFor();
    await shot(page, 'timers');
    await page.click('[data-pause="weekly-stop"]');
    await page.waitForSelector('tr[data-timer="weekly-stop"] [data-next]:has-text("paused")');
    await page.click('[data-delete="every-hour"]');
    await page.click("#confirm-ok");
    await page.locator('tr[data-timer="every-hour"]').waitFor({ state: 'detached' });
    assert.equal(stack.redis('hexists', 'vg:timers', 'every-hour'), '0');
    assert.deepEqual(b.errors, [], 'the browser console has no errors');
});

test('the Settings page changes the hostd heartbeat live and refuses a value out of range at the field', { timeout: 60000 }, async () => {
    const { page } = b;
    await page.click('#nav-settings');
    await page.waitForSelector('tr[data-setting="heartbeat_ms"]');
    await page.fill('#set-heartbeat_ms', '50');
    await page.click('[data-save="heartbeat_ms"]');
    await page.waitForSelector('#set-heartbeat_ms-error:has-text("100..600000")');
    assert.equal(stack.redis('hexists', 'vg:settings', 'heartbeat_ms'), '0');
    await page.fill('#set-heartbeat_ms', '500');
    await page.click('[data-save="heartbeat_ms"]');
    await page.waitForSelector('[data-reset="heartbeat_ms"]');
    await until(() => stack.redis('hget', `vg:host:${stack.hostId}`, 'heartbeat_interval_ms') === '500', 5000,
        'the hostd heartbeats every 500 ms');
    await shot(page, 'settings');
    await page.click('[data-reset="heartbeat_ms"]');
    await page.waitForSelector('tr[data-setting="heartbeat_ms"] .dim:has-text("default")');
    await until(() => stack.redis('hget', `vg:host:${stack.hostId}`, 'heartbeat_interval_ms') !== '500', 5000,
        'the hostd back to its own heartbeat');
    assert.deepEqual(b.errors, [], 'the browser console has no errors');
});

test('every API method the Timers and Settings pages called is documented in docs/api.md', () => {
    const documented = documentedMethods();
    assert.deepEqual([...called].filter((m) => !documented.has(m)), []);
    for (const m of ['timer.list', 'timer.create', 'timer.pause', 'timer.delete', 'settings.list', 'settings.set'])
        assert.ok(called.has(m), m);
});
