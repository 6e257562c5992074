// Headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) and the few page
// helpers the browser tests share.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));

const ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

// Returns {context, page, errors, close}. `errors` collects page errors and console errors
// (CSP violations among them) so a test can assert the page ran clean.
export async function openBrowser({ width = 1100, height = 700 } = {}) {
    const profile = mkdtempSync(join(tmpdir(), 'ud-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.VG_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ARGS,
        ignoreHTTPSErrors: true,
        viewport: { width, height },
    });
    const errors = [];
    const watch = (page) => {
        page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}${process.env.VG_STACKS ? err.stack : ''}`));
        page.on('console', (msg) => {
            if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
        });
    };
    context.on('page', watch);
    const page = context.pages()[0] || (await context.newPage());
    watch(page);
    return {
        context,
        page,
        errors,
        async close() {
            await context.close();
            rmSync(profile, { recursive: true, force: true });
        },
    };
}

export async function login(page, url, user, password) {
    await page.goto(url);
    await page.fill('#login-user', user);
    await page.fill('#login-password', password);
    await page.click('#login-submit');
    // Settle on the outcome: a test that navigates next must not race the post-login redirect.
    await page.waitForFunction(
        () => !document.querySelector('#login-form') || document.querySelector('#login-error')?.textContent !== '',
        null,
        { timeout: 30000 },
    );
}

// The whole terminal buffer (scrollback included) as lines, read through the page's debug hook.
export function terminalLines(page) {
    return page.evaluate(() => {
        const buf = window.vmgate.term.buffer.active;
        const lines = [];
        for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i).translateToString(true));
        return lines;
    });
}

export async function waitForLine(page, re, timeout = 20000) {
    const deadline = Date.now() + timeout;
    let lines = [];
    while (Date.now() < deadline) {
        lines = await terminalLines(page).catch(() => []);
        if (lines.some((l) => re.test(l))) return lines;
        await new Promise((r) => setTimeout(r, 200));
    }
    const screen = lines.filter(Boolean).slice(-15).join('\n');
    throw new Error(`no terminal line matched ${re} within ${timeout} ms; screen:\n${screen}`);
}

export async function screenshot(page, name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, name);
    await page.screenshot({ path });
    return path;
}

const PROMPT = /^testvm#/;

// The guest may still be booting (TCG on a busy machine can take well over 10 s): wait for its
// prompt, which hostd keeps and replays. Only if none shows up, poke the shell with Enter: a
// key typed during boot is read ahead by the shell, and busybox's cursor-position query then
// races with it (its reply ends up echoed as ^[[r;cR).
export async function waitForPrompt(page, timeout = 90000) {
    const deadline = Date.now() + timeout;
    let nextPoke = Date.now() + 45000;
    while (Date.now() < deadline) {
        const lines = (await terminalLines(page)).filter((l) => l.trim());
        if (lines.length && PROMPT.test(lines.at(-1))) return;
        if (Date.now() >= nextPoke) {
            await page.keyboard.press('Enter');
            nextPoke = Date.now() + 5000;
        }
        await page.waitForTimeout(250);
    }
    throw new Error(`no shell prompt within ${timeout} ms`);
}

// Types a command line into the focused terminal. Ctrl+U clears the line first: on a loaded
// machine the emulated UART can deliver the reply to busybox's ESC[6n (sent after every prompt)
// so slowly that busybox takes it for typed text (docs/ui.md, "Known limitation").
export async function typeCommand(page, command) {
    await page.keyboard.press('Control+U');
    await page.keyboard.type(command);
    await page.keyboard.press('Enter');
}
