// Operator notices and special keys in the browser (C11, C13): a notice an operator sends from
// the console page to the project appears as a banner on the open consoles of two users and as
// a toast on the VM list; the viewer's acknowledgement reaches the audit trail; not one byte of
// it reaches the guest's console. The keys menu sends SysRq h, and the guest kernel answers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin, openConsole } from '../integration/lib/client.mjs';
import { makeMember, waitVms } from '../integration/lib/tenancy.mjs';
import { until } from '../integration/lib/wait.mjs';
import { openBrowser, login, terminalLines, waitForLine, waitForPrompt, screenshot } from './lib/browser.mjs';

const VM = 'vgt-nk-ui1';
const TEXT = 'maintenance-7f3a: host reboots at 18:00';
let stack;
let admin;
let op;
let viewer;
let guest; // every byte the guest writes, as an API client sees it

before(async () => {
    stack = await startStack({ vms: [VM], prefix: 'vgt-nk-e2e-' });
    admin = await apiLogin(stack);
    await waitVms(stack, admin, [VM], 120000);
    await api(stack, admin, 'project.create', { name: 'pnk' });
    await api(stack, admin, 'vm.adopt', { vm: VM, project: 'pnk' });
    await makeMember(stack, admin, 'pnk', 'nkop', 'operator', 'nkop-password-1');
    await makeMember(stack, admin, 'pnk', 'nkview', 'viewer', 'nkview-password-1');
    guest = await openConsole(stack, admin, { vm: VM, mode: 'ro', offset: 0 });
    await guest.waitControl('hello');
    op = await openBrowser();
    viewer = await openBrowser();
});

after(async () => {
    guest?.close();
    await op?.close();
    await viewer?.close();
    await stack?.stop();
});

async function openConsolePage(b, user, password) {
    await login(b.page, stack.url, user, password);
    await b.page.goto(`${stack.url}/#/console/${VM}`);
    await b.page.waitForSelector('body[data-console="connected"]', { timeout: 30000 });
}

test('a notice to the project shows on the consoles of an operator and a viewer, is acknowledged and audited, and never reaches the guest', { timeout: 240000 }, async () => {
    await openConsolePage(op, 'nkop', 'nkop-password-1');
    await openConsolePage(viewer, 'nkview', 'nkview-password-1');
    await op.page.click('#terminal');
    await waitForPrompt(op.page);

    // The operator writes the notice in the console page's form.
    await op.page.click('#notice-new');
    await op.page.selectOption('#notice-form select[name="scope"]', 'project');
    await op.page.fill('#notice-text', TEXT);
    await op.page.selectOption('#notice-form select[name="level"]', 'warn');
    await op.page.check('#notice-form input[name="require_ack"]');
    await op.page.click('#notice-send');

    for (const b of [op, viewer]) {
        await b.page.waitForSelector(`.notice-banner.notice-warn:has-text("${TEXT}")`, { timeout: 10000 });
    }
    await screenshot(viewer.page, 'notice-banner.png');

    // The viewer acknowledges: the banner goes on their page, the trail has it.
    await viewer.page.click(`.notice-banner:has-text("${TEXT}") .notice-ack`);
    await viewer.page.waitForSelector(`.notice-banner:has-text("${TEXT}")`, { state: 'detached', timeout: 10000 });
    const { notices } = await api(stack, admin, 'notice.list', { vm: VM });
    const n = notices.find((x) => x.text === TEXT);
    assert.ok(n, 'the notice is live');
    assert.equal(n.sender, 'nkop');
    const entry = await until(async () => {
        const { entries } = await api(stack, admin, 'audit.query', { kind: 'notice' });
        return entries.find((e) => e.method === 'notice.ack' && e.user === 'nkview' && e.detail.startsWith(`id=${n.id} `));
    }, 10000, 'the acknowledgement in the audit trail');
    assert.equal(entry.project, 'pnk');
    const got = await api(stack, await apiLogin(stack, 'nkop', 'nkop-password-1'), 'notice.get', { id: n.id });
    assert.deepEqual(got.acks.map((a) => a.user), ['nkview']);

    // The sender's VM list shows it as a toast (not acknowledged by them).
    await op.page.goto(`${stack.url}/#/vms`);
    await op.page.waitForSelector(`.toast:has-text("${TEXT}")`, { timeout: 10000 });

    // Not a byte of it in the guest's output, nor in either terminal.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(guest.output.indexOf(Buffer.from('maintenance-7f3a')), -1, 'the guest console output holds no byte of the notice');
    const lines = await terminalLines(viewer.page);
    assert.ok(!lines.some((l) => l.includes('maintenance-7f3a')), 'the terminal shows no byte of it');
});

test('the keys menu sends SysRq h and the guest kernel prints its help', { timeout: 120000 }, async () => {
    await op.page.goto(`${stack.url}/#/console/${VM}`);
    await op.page.waitForSelector('body[data-console="connected"]', { timeout: 30000 });
    // The viewer has no keys menu.
    assert.equal(await viewer.page.isVisible('#keys-menu'), false);
    await op.page.click('#keys-menu summary');
    await op.page.click('#keys-menu button[data-keys="sysrq-h"]');
    await waitForLine(op.page, /sysrq: HELP/, 20000);
});
