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
