// The browser on a real stack (Redis, hostd, gateway, a TCG test guest): log in through the
// form, open the VM's console from the list, run a command in xterm.js, and see the output
// again after a reload (ring replay).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { login as apiLogin, openConsole } from '../integration/lib/client.mjs';
import { openBrowser, login, terminalLines, typeCommand, waitForLine, waitForPrompt, screenshot } from './lib/browser.mjs';

const VM = 'vgt-ui1';
let stack;
let browser;

before(async () => {
    stack = await startStack({ vms: [VM] });
    browser = await openBrowser();
});

after(async () => {
    await browser?.close();
    await stack?.stop();
});

test('a wrong password shows an error and stays on the login page', async () => {
    const { page } = browser;
    await login(page, stack.url, stack.adminUser, `${stack.adminPassword}-wrong`);
    await page.waitForFunction(() => document.querySelector('#login-error').textContent !== '');
    assert.match(await page.textContent('#login-error'), /wrong user name or password/i);
    assert.ok(await page.isVisible('#login-form'));
});

test('log in, open the console, run a command, see its output', async () => {
    const { page } = browser;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.waitForSelector(`tr[data-vm="${VM}"]`, { timeout: 20000 });
    assert.equal(await page.textContent(`tr[data-vm="${VM}"] .state`), 'running');
    await page.click(`tr[data-vm="${VM}"] a.dev[href$="/serial0"]`);
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    assert.equal(await page.textContent('#st-writer'), 'you are the writer');

    await page.click('#terminal');
    await waitForPrompt(page);
    await typeCommand(page, 'echo hello-$((6*7))');
    await waitForLine(page, /^hello-42\s*$/, 20000);
    await page.waitForTimeout(300); // let the renderer paint the last frame
    await screenshot(page, 'console-hello-42.png');
});

test('a reload of the console page replays the earlier output', async () => {
    const { page } = browser;
    await page.reload();
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    const lines = await waitForLine(page, /^hello-42\s*$/, 20000);
    assert.ok(
        lines.some((l) => l.includes('echo hello-$((6*7))')),
        'the command line is replayed too',
    );
    await screenshot(page, 'console-replayed.png');
});

test('a gateway restart: the console reconnects and resumes without repeating output', async () => {
    const { page } = browser;
    await page.click('#terminal');
    await typeCommand(page, 'echo before-$((20+1))');
    await waitForLine(page, /^before-21\s*$/);
    const viewer = await page.evaluate(() => window.vmgate.session.status.viewer);
    await stack.restart('gateway');
    // A new attachment (new viewer id) that is connected again.
    await page.waitForFunction(
        (old) => {
            const st = window.vmgate.session.status;
            return st.phase === 'connected' && st.viewer !== old;
        },
        viewer,
        { timeout: 30000 },
    );
    await page.click('#terminal');
    await typeCommand(page, 'echo after-$((20+2))');
    const lines = await waitForLine(page, /^after-22\s*$/);
    assert.equal(lines.filter((l) => /^before-21\s*$/.test(l)).length, 1, 'no output shown twice');
    assert.equal(lines.filter((l) => /^hello-42\s*$/.test(l)).length, 1, 'no output shown twice');
    assert.ok(!lines.some((l) => l.includes('output lost')));
});

test('a second viewer takes the write lock over; the first is told', async () => {
    const { page } = browser;
    const other = await browser.context.newPage();
    try {
        await other.goto(page.url());
        await other.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
        await other.waitForFunction(() =>
            /holds the write lock/.test(document.querySelector('#st-writer').textContent),
        );
        await other.click('#take');
        await other.waitForFunction(
            () => document.querySelector('#st-writer').textContent === 'you are the writer',
        );
        await page.waitForSelector('.toast:has-text("took over the write lock")');
        await other.click('#terminal');
        await typeCommand(other, 'echo taken-$((30+3))');
        await waitForLine(page, /^taken-33\s*$/);
        await screenshot(page, 'console-taken-over.png');

        // Read-only: the other viewer reattaches with an ro ticket and shows up as ro.
        await other.check('#readonly');
        await other.waitForFunction(() => {
            const st = window.vmgate.session.status;
            return st.phase === 'connected' && st.mode === 'ro';
        });
        await page.waitForFunction(() =>
            /admin \(ro\)/.test(document.querySelector('#st-viewers').textContent),
        );
        assert.equal(await other.textContent('#st-mode'), 'ro');
        assert.ok(await other.isHidden('#take'));
    } finally {
        await other.close();
    }
});

test('past 100 viewers the status line still shows the count and the writer, summed up by the server', { timeout: 180000 }, async () => {
    const { page } = browser;
    const token = await apiLogin(stack);
    const writer = await page.textContent('#st-writer');
    const crowd = [];
    try {
        for (let i = 0; i < 101; i++) crowd.push(await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' }));
        await Promise.all(crowd.map((c) => c.waitControl('hello', 15000)));
        const shown = () => page.evaluate(() => [document.querySelector('#st-viewers').textContent, window.vmgate.session.status.viewerCount]);
        let last;
        for (const t0 = Date.now(); !/^102 viewers/.test((last = await shown())[0]); ) {
            assert.ok(Date.now() - t0 < 10000, `the status line says ${JSON.stringify(last)}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(last[1], 102);
        assert.equal(await page.textContent('#st-writer'), writer);
        await screenshot(page, 'console-102-viewers.png');
    } finally {
        await Promise.all(crowd.map((c) => c.close()));
    }
    await page.waitForFunction(() => /^1 viewer\b/.test(document.querySelector('#st-viewers').textContent), null, { timeout: 10000 });
});

test('a VM stopped and started shows in the console and, live, in the VM list', async () => {
    const { page } = browser;
    const list = await browser.context.newPage();
    try {
        await list.goto(new URL('#/vms', stack.url).href);
        await list.waitForSelector('#live.on');
        const stateIs = (state) =>
            list.waitForFunction(
                ([vm, s]) =>
                    document.querySelector(`tr[data-vm="${vm}"] .state`)?.textContent === s,
                [VM, state],
                { timeout: 20000 },
            );
        const boots = async () =>
            (await terminalLines(page)).filter((l) => l.includes('GUEST-READY')).length;
        const bootsBefore = await boots();
        stack.virsh('destroy', VM);
        await page.waitForFunction(
            () => /VM stopped/.test(document.querySelector('#st-conn').textContent),
            null,
            { timeout: 20000 },
        );
        await stateIs('shutoff');
        stack.virsh('start', VM);
        await stateIs('running');
        await page.waitForFunction(
            () => document.querySelector('#st-conn').textContent === 'connected',
            null,
            { timeout: 20000 },
        );
        // The new boot's output arrives on the same console page.
        const deadline = Date.now() + 60000;
        while ((await boots()) === bootsBefore) {
            assert.ok(Date.now() < deadline, 'no boot output after the restart');
            await page.waitForTimeout(500);
        }
    } finally {
        await list.close();
    }
});
