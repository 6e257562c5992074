// Console recordings in the browser (issue 12 C12): a writer session typed in the console page is
// listed in the VM page's Recordings tab, plays in asciinema-player under the gateway's CSP with
// no browser-console error, seeks, and shows the typed command and its output; the download link
// gives the .cast file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { openBrowser, login, typeCommand, waitForLine, waitForPrompt, screenshot } from './lib/browser.mjs';

const VM = 'vgt-recui';
let stack;
let browser;

before(async () => {
    stack = await startStack({ vms: [VM], prefix: 'vgt-recui-' });
    browser = await openBrowser();
});

after(async () => {
    await browser?.close();
    await stack?.stop();
});

test('a session typed in the console plays back in the Recordings tab, seekable, with the command in it', async () => {
    const { page } = browser;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.waitForSelector(`tr[data-vm="${VM}"]`, { timeout: 20000 });
    await page.goto(new URL(`#/console/${VM}`, stack.url).href);
    await page.waitForSelector('body[data-console="connected"]', { timeout: 20000 });
    await page.click('#terminal');
    await waitForPrompt(page);
    await typeCommand(page, 'echo played-$((6*7))-back');
    await waitForLine(page, /^played-42-back\s*$/);

    // Leaving the console ends the writer session and so its recording.
    await page.goto('about:blank');
    await page.goto(new URL(`#/vm/${VM}/recordings`, stack.url).href);
    const row = 'table.recordings tbody tr';
    for (let i = 0; ; i++) {
        await page.waitForSelector('button.rec-reload', { timeout: 20000 });
        const done = await page.$$eval(row, (rows) => rows.some((r) => !r.textContent.includes('recording…')));
        if (done) break;
        if (i > 50) assert.fail('no finished recording listed');
        await page.waitForTimeout(200);
        await page.click('button.rec-reload');
    }
    const first = page.locator(row).filter({ hasNotText: 'recording…' }).first();
    const href = await first.locator('a.rec-download').getAttribute('href');
    assert.match(href, /^\/api\/v1\/recording\.download\?id=rec-\d+-[0-9a-f]{8}$/);
    const cast = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.equal(JSON.parse(cast.split('\n')[0]).version, 2);

    await first.locator('button.rec-play').click();
    await page.waitForSelector('#rec-player .ap-term-text', { timeout: 20000 });
    // Seek to the end: the whole session is on the screen, command line and output.
    await page.evaluate(async () => {
        const p = document.querySelector('vg-vm-recordings').player;
        await p.pause();
        // The very end: the session's last output event is at the duration itself (a seek a
        // millisecond before it missed the command's output when it came with the last prompt).
        await p.seek(await p.getDuration());
    });
    const shown = (want) =>
        page.waitForFunction(
            (w) => /played-42-back/.test(document.querySelector('#rec-player .ap-term-text')?.textContent || '') === w,
            want,
            { timeout: 30000 },
        );
    await shown(true);
    const text = await page.textContent('#rec-player .ap-term-text');
    assert.match(text, /echo played-\$\(\(6\*7\)\)-back/);
    assert.match(text, /played-42-back/);
    await screenshot(page, 'vm-recordings.png');

    // Seekable both ways: at the start the command's output is not on the screen yet.
    await page.evaluate(() => document.querySelector('vg-vm-recordings').player.seek(0));
    await shown(false);
    assert.deepEqual(browser.errors, [], 'no browser-console error (CSP, WebAssembly)');
});
