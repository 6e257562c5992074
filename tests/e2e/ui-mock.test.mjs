// UI behaviour the real stack cannot produce on demand (resume after a drop, gap markers,
// write-lock take-over, read-only, terminal replies, live VM state, strict CSP), driven in
// headless Chromium against the protocol-speaking stand-in in lib/mock-gateway.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMockGateway } from './lib/mock-gateway.mjs';
import { openBrowser, login, terminalLines, waitForLine, screenshot } from './lib/browser.mjs';

const VM = 'ud-mock1';
let gw;
let browser;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openConsole(page, hash = `#/console/${VM}`) {
    await page.goto('about:blank'); // a fresh page load, not just a hash change
    await page.goto(new URL(hash, gw.url).href);
    await page.waitForSelector('body[data-console="connected"]');
}

async function typeLine(page, text) {
    await page.click('#terminal');
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
}

const count = (lines, re) => lines.filter((l) => re.test(l)).length;

before(async () => {
    gw = await startMockGateway({ vms: [VM], ringSize: 4096 });
    browser = await openBrowser();
    await login(browser.page, gw.url, gw.user, gw.password);
    await browser.page.waitForSelector('#vm-rows tr');
});

after(async () => {
    await browser?.close();
    await gw?.stop();
});

test('VM list shows the registry and follows vm.state events live', async () => {
    const { page } = browser;
    await page.goto(new URL('#/vms', gw.url).href);
    await page.waitForSelector('#live.on');
    assert.equal(await page.textContent(`tr[data-vm="${VM}"] .state`), 'running');
    assert.match(await page.textContent('#hosts'), /mockhost \(up, 2 CPUs, 4 GiB\)/);
    gw.setVmState(VM, 'paused');
    await page.waitForFunction(
        (vm) => document.querySelector(`tr[data-vm="${vm}"] .state`).textContent === 'paused',
        VM,
    );
    gw.setVmState(VM, 'running');
    await page.waitForFunction(
        (vm) => document.querySelector(`tr[data-vm="${vm}"] .state`).textContent === 'running',
        VM,
    );
    // Keyboard: Enter opens the selected VM's console.
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-console="connected"]');
    assert.equal(new URL(page.url()).hash, `#/console/${VM}`);
});

test('xterm.js renders under the strict CSP and the writer types', async () => {
    const { page } = browser;
    await openConsole(page);
    const style = await page.evaluate(() => {
        const rows = document.querySelector('.xterm-rows');
        return { color: getComputedStyle(rows).color, cols: window.vmgate.term.cols };
    });
    assert.equal(style.color, 'rgb(214, 214, 214)', 'theme CSS from xterm.js applied');
    assert.ok(style.cols > 100, `fit addon sized the terminal (${style.cols} columns)`);
    assert.equal(await page.textContent('#st-writer'), 'you are the writer');
    await typeLine(page, 'echo mock-$((6*7))');
    await waitForLine(page, /^mock-42\s*$/);
    const pageErrors = browser.errors.filter((e) => e.startsWith('pageerror'));
    assert.deepEqual(pageErrors, []);
});

test('replayed history sends no terminal replies; reload shows the output once', async () => {
    const { page } = browser;
    await openConsole(page);
    await typeLine(page, 'echo once-$((2*3))');
    await waitForLine(page, /^once-6\s*$/);
    await sleep(300);
    const before = gw.inputs.length;
    await page.reload();
    await page.waitForSelector('body[data-console="connected"]');
    const lines = await waitForLine(page, /^once-6\s*$/);
    assert.equal(count(lines, /^once-6\s*$/), 1);
    await sleep(500);
    assert.deepEqual(
        gw.inputs.slice(before).map((i) => i.bytes.toString()),
        [],
        'no CPR replies for replayed prompts',
    );
});

test('resume after a gateway restart: nothing lost, nothing twice', async () => {
    const { page } = browser;
    await openConsole(page);
    await typeLine(page, 'echo before-$((1*1))');
    await waitForLine(page, /^before-1\s*$/);
    gw.dropConsoles(1001);
    await page.waitForSelector('body[data-console="reconnecting"]');
    gw.emit(VM, '\r\nwhile-away-1\r\nwhile-away-2\r\n');
    await page.waitForSelector('body[data-console="connected"]');
    const lines = await waitForLine(page, /^while-away-2\s*$/);
    assert.equal(count(lines, /^before-1\s*$/), 1);
    assert.equal(count(lines, /^while-away-1\s*$/), 1);
    assert.equal(count(lines, /^while-away-2\s*$/), 1);
    assert.ok(!lines.some((l) => l.includes('output lost')));
});

test('UTF-8 characters and escape sequences split across frames stay intact', async () => {
    const { page } = browser;
    await openConsole(page);
    const bytes = Buffer.from('\r\nsplit: é€😀 \x1b[31mred\x1b[0m end\r\n');
    // Cut inside "é", inside "€", inside the emoji and inside the colour escape.
    const cuts = [0, 10, 12, 16, 21, bytes.length];
    for (let i = 1; i < cuts.length; i++) gw.emit(VM, bytes.subarray(cuts[i - 1], cuts[i]));
    const lines = await waitForLine(page, /^split: .* end$/);
    assert.ok(lines.includes('split: é€😀 red end'), lines.filter(Boolean).at(-1));
    const red = await page.evaluate(() => {
        const buf = window.vmgate.term.buffer.active;
        for (let y = buf.length - 1; y >= 0; y--) {
            const line = buf.getLine(y);
            if (!line.translateToString(true).startsWith('split: ')) continue;
            for (let x = 0; x < line.length; x++) {
                if (line.getCell(x).getChars() === 'r') return line.getCell(x).getFgColor();
            }
        }
        return -1;
    });
    assert.equal(red, 1, 'the red SGR applied to "red"');
});

test('output overwritten while away shows a gap marker', async () => {
    const { page } = browser;
    await openConsole(page);
    gw.dropConsoles(4503);
    await page.waitForSelector('body[data-console="reconnecting"]');
    gw.emit(VM, `${'x'.repeat(70)}\r\n`.repeat(80)); // more than the 4 KiB ring
    gw.emit(VM, 'after-gap\r\n');
    await page.waitForSelector('body[data-console="connected"]');
    const lines = await waitForLine(page, /^after-gap\s*$/);
    const GAP_LINE = /── .* of output lost \(bytes \d+–\d+\) ──/;
    const marker = lines.findIndex((l) => GAP_LINE.test(l));
    assert.ok(marker >= 0, 'gap marker line');
    await page.evaluate((line) => window.vmgate.term.scrollToLine(Math.max(0, line - 3)), marker);
    await screenshot(page, 'ui-mock-gap.png');
});

test('second viewer: spectator, no replies, take-over notice, read-only toggle', async () => {
    const { page } = browser;
    await openConsole(page);
    const other = await browser.context.newPage();
    await openConsole(other);
    assert.equal(await other.textContent('#st-writer'), 'admin holds the write lock');
    assert.ok(await other.isVisible('#take'));
    await page.waitForFunction(() =>
        /2 viewers/.test(document.querySelector('#st-viewers').textContent),
    );

    // The writer's prompt asks ESC[6n: only the writer answers.
    const refusedBefore = gw.refused.length;
    await typeLine(page, 'echo spectate');
    await waitForLine(other, /^spectate\s*$/);
    await sleep(500);
    assert.deepEqual(gw.refused.slice(refusedBefore), [], 'spectator sent no terminal replies');

    // A spectator's keystroke is refused by the server and explained.
    await other.click('#terminal');
    await other.keyboard.type('z');
    await other.waitForSelector('.toast-warn:has-text("holds the write lock")');

    await other.click('#take');
    await other.waitForFunction(
        () => document.querySelector('#st-writer').textContent === 'you are the writer',
    );
    await page.waitForSelector('.toast:has-text("took over the write lock")');
    await page.waitForFunction(
        () => document.querySelector('#st-writer').textContent === 'admin holds the write lock',
    );
    await screenshot(page, 'ui-mock-taken-over.png');

    // Read-only: a fresh ro attachment resumes without repeating output and sends nothing.
    await other.check('#readonly');
    await other.waitForFunction(() => document.querySelector('#st-mode').textContent === 'ro');
    await other.waitForSelector('body[data-console="connected"]');
    const inputsBefore = gw.inputs.length;
    await other.click('#terminal');
    await other.keyboard.type('q');
    await other.waitForSelector('.toast:has-text("Read-only")');
    assert.equal(gw.inputs.length, inputsBefore);
    assert.equal(count(await terminalLines(other), /^spectate\s*$/), 1);
    await other.close();
});

test('VM stopping is shown in the status bar', async () => {
    const { page } = browser;
    await openConsole(page);
    gw.setVmState(VM, 'shutoff');
    await page.waitForFunction(() =>
        /VM stopped/.test(document.querySelector('#st-conn').textContent),
    );
    gw.setVmState(VM, 'running');
    await page.waitForFunction(
        () => document.querySelector('#st-conn').textContent === 'connected',
    );
});

test('search finds output and Escape returns to the terminal', async () => {
    const { page } = browser;
    await openConsole(page);
    await typeLine(page, 'echo needle-$((3*3))');
    await waitForLine(page, /^needle-9\s*$/);
    await page.keyboard.press('Control+Shift+F');
    await page.waitForSelector('#searchbar:not([hidden])');
    await page.keyboard.type('needle-9');
    await page.waitForFunction(() =>
        /of \d+/.test(document.querySelector('#search-count').textContent),
    );
    await page.keyboard.press('Escape');
    await page.waitForSelector('#searchbar[hidden]', { state: 'attached' });
    assert.ok(
        await page.evaluate(() =>
            document.activeElement.classList.contains('xterm-helper-textarea'),
        ),
    );
});

test('copy the selection, paste with the button and with Ctrl+Shift+V', async () => {
    const { page, context } = browser;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    await openConsole(page);
    await typeLine(page, 'echo clip-$((5*5))');
    await waitForLine(page, /^clip-25\s*$/);
    // Select the output line and copy it with the keyboard shortcut.
    await page.evaluate(() => {
        const term = window.vmgate.term;
        const buf = term.buffer.active;
        for (let y = buf.length - 1; y >= 0; y--) {
            if (buf.getLine(y).translateToString(true) === 'clip-25') {
                term.select(0, y, 7);
                return;
            }
        }
    });
    await page.evaluate(() => window.vmgate.term.focus());
    await page.keyboard.press('Control+Shift+C');
    await page.waitForSelector('.toast:has-text("Copied 7 characters")');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'clip-25');

    const before = gw.inputs.length;
    await page.click('text=Paste');
    await page.waitForFunction(() =>
        window.vmgate.term.buffer.active
            .getLine(
                window.vmgate.term.buffer.active.cursorY + window.vmgate.term.buffer.active.baseY,
            )
            .translateToString(true)
            .endsWith('clip-25'),
    );
    await page.keyboard.press('Control+Shift+V');
    await page.keyboard.press('Enter');
    await waitForLine(page, /clip-25clip-25$/);
    const sent = Buffer.concat(gw.inputs.slice(before).map((i) => i.bytes)).toString();
    assert.equal(sent.replace(/\x1b\[\d+;\d+R/g, ''), 'clip-25clip-25\r');
});

test('without ui/node_modules the console page says so and the list still works', async () => {
    const page = await browser.context.newPage();
    gw.setVendor(false);
    try {
        await page.goto(new URL(`#/console/${VM}`, gw.url).href);
        await page.waitForSelector('#page-error');
        assert.match(await page.textContent('#page-error'), /terminal could not be loaded/);
        await page.click('text=VM list');
        await page.waitForSelector(`tr[data-vm="${VM}"]`);
    } finally {
        gw.setVendor(true);
        await page.close();
    }
});

test('an ended session sends the VM list to the login page, and back after login', async () => {
    const { page } = browser;
    await page.goto(new URL('#/vms', gw.url).href);
    await page.waitForSelector('#live.on');
    gw.expireSessions();
    await page.waitForSelector('#login-form');
    await page.fill('#login-user', gw.user);
    await page.fill('#login-password', gw.password);
    await page.click('#login-submit');
    await page.waitForSelector('#live.on');
    assert.equal(new URL(page.url()).hash, '#/vms');
});

test('logout returns to the login page and the session is gone', async () => {
    const { page } = browser;
    await page.goto(new URL('#/vms', gw.url).href);
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    await page.goto(new URL(`#/console/${VM}`, gw.url).href);
    await page.waitForSelector('#login-form');
});
