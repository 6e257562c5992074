// Helpers of the manager's browser tests: the API methods a page calls (to check that they are
// all documented), screenshots for docs/ui.md, the enabled buttons a viewer sees, and the
// console prompt of the test guest.

import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../../integration/lib/stack.mjs';
import { terminalLines } from './browser.mjs';

export const SHOTS = path.join(REPO, 'docs/ui-shots');

// Every method docs/api.md documents: its `### \`name\`` headings and the rows of the
// Lifecycle table (vm.start, vm.shutdown, …).
export function documentedMethods() {
    const md = fs.readFileSync(path.join(REPO, 'docs/api.md'), 'utf8');
    const names = new Set();
    let section = '';
    for (const line of md.split('\n')) {
        if (line.startsWith('## ')) section = line;
        const lifecycleRow = section === '## Lifecycle' && line.startsWith('| `');
        if (line.startsWith('### '))
            for (const m of line.matchAll(/`([a-z]+(?:\.[a-z]+)*)`/g)) names.add(m[1]);
        if (lifecycleRow)
            for (const m of line.split('|', 2)[1].matchAll(/`([a-z]+\.[a-z]+)`/g)) names.add(m[1]);
    }
    return names;
}

// Adds to `into` the method of every API call the page makes, over /ws/api and over HTTP.
export function recordMethods(page, into) {
    page.on('websocket', (ws) => {
        if (!ws.url().includes('/ws/api')) return;
        ws.on('framesent', ({ payload }) => {
            try {
                const msg = JSON.parse(payload);
                if (msg.method) into.add(msg.method);
            } catch {
                // not an API request
            }
        });
    });
    page.on('request', (req) => {
        const m = /\/api\/v1\/([^/?]+)/.exec(req.url());
        if (m) into.add(decodeURIComponent(m[1]));
    });
}

// A screenshot for docs/ui.md (docs/ui-shots/<name>.png), taken once the page is still.
export async function shot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

// Buttons that do nothing but show, move or leave: anyone may press them. The own-password
// button is every user's own (scope self).
const HARMLESS = new Set([
    'Log out',
    'Name ▲',
    'Name ▼',
    'Name',
    'State',
    'Host',
    'Project',
    'Environment',
    'Search',
    'Copy',
    'Paste',
    'Reconnect',
    '↑',
    '↓',
    'close',
    'Probe consoles',
    'Query',
    'Previous page',
    'Next page',
    'Change password',
    'Cancel',
    'Retry',
]);

// The texts of the enabled buttons on the page that are neither tabs nor harmless.
export function mutatingButtons(page) {
    return page.evaluate(
        (harmless) => {
            const allowed = new Set(harmless);
            return [...document.querySelectorAll('button')]
                .filter((b) => !b.matches(':disabled') && b.getClientRects().length > 0)
                .filter((b) => b.getAttribute('role') !== 'tab')
                .map((b) => b.textContent.trim().replace(/\s+/g, ' '))
                .filter((t) => !allowed.has(t));
        },
        [...HARMLESS],
    );
}

// Waits for the test guest's shell prompt in the page's terminal; pokes Enter if none came.
export async function waitForPrompt(page, timeout = 120000) {
    const deadline = Date.now() + timeout;
    let poke = Date.now() + 45000;
    while (Date.now() < deadline) {
        const lines = (await terminalLines(page).catch(() => [])).filter((l) => l.trim());
        if (lines.length && /^testvm#/.test(lines.at(-1))) return;
        if (Date.now() >= poke) {
            await page.click('#terminal');
            await page.keyboard.press('Enter');
            poke = Date.now() + 5000;
        }
        await page.waitForTimeout(250);
    }
    throw new Error(`no shell prompt within ${timeout} ms`);
}

// Types a command line into the page's terminal (Ctrl+U first: a late cursor report may sit
// on the line, docs/ui.md "Known limitation").
export async function typeLine(page, command) {
    await page.click('#terminal');
    await page.keyboard.press('Control+U');
    await page.keyboard.type(command);
    await page.keyboard.press('Enter');
}
