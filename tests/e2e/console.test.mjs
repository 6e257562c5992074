// The browser on a real stack (Redis, hostd, gateway, a TCG test guest): log in through the
// form, open the VM's console from the list, run a command in xterm.js, and see the output
// again after a reload (ring replay).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { openBrowser, login, terminalLines, waitForLine, screenshot } from './lib/browser.mjs';

const VM = 'vgt-ui1';
const PROMPT = /testvm# ?$/;
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

// The guest may still be booting: wait for its prompt, poking with Enter now and then in case
// the prompt was printed before anyone kept its output.
async function waitForPrompt(page, timeout = 60000) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
        const lines = (await terminalLines(page)).filter((l) => l.trim());
        if (lines.length && PROMPT.test(lines.at(-1))) return;
        await page.waitForTimeout(1000);
        const again = (await terminalLines(page)).filter((l) => l.trim());
        if (!again.length || !PROMPT.test(again.at(-1))) await page.keyboard.press('Enter');
        await page.waitForTimeout(2000);
    }
    throw new Error(`no shell prompt within ${timeout} ms`);
}

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
    await page.click(`tr[data-vm="${VM}"] a.vm-link`);
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    assert.equal(await page.textContent('#st-writer'), 'you are the writer');

    await page.click('#terminal');
    await waitForPrompt(page);
    await page.keyboard.type('echo hello-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForLine(page, /^hello-42\s*$/, 20000);
    await page.waitForTimeout(300); // let the renderer paint the last frame
    await screenshot(page, 'console-hello-42.png');
});

test('a reload of the console page replays the earlier output', async () => {
    const { page } = browser;
    await page.reload();
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    const lines = await waitForLine(page, /^hello-42\s*$/, 20000);
    assert.ok(lines.some((l) => l.includes('echo hello-$((6*7))')), 'the command line is replayed too');
    await screenshot(page, 'console-replayed.png');
});
