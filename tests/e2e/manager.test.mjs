// The manager in the browser, walked as its users would on a real two-host stack: an
// administrator creates a project with a quota and users in it, creates a VM from the form (an
// API validation message shows at its field) and watches it boot in the console, snapshots and
// reverts it, migrates it to the second host with a console open, batch-stops an environment,
// batch-starts from the VM list, queries and exports the audit trail; the operator sees only
// their project and is frozen from the administrator's window; a viewer finds no enabled button
// that changes anything on any page. Every page runs with an empty browser console and calls
// only documented API methods. The screenshots in docs/ui-shots/ come from here (docs/ui.md).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin } from '../integration/lib/client.mjs';
import { openBrowser, login, waitForLine } from './lib/browser.mjs';
import {
    documentedMethods,
    recordMethods,
    shot,
    mutatingButtons,
    waitForPrompt,
    typeLine,
} from './lib/manager.mjs';

const VM = 'vgt-web1';
const P = 'p1';
let stack;
let admin; // the administrator's browser
let h1;
let h2;
const called = new Set();

const go = async (page, hash, selector) => {
    await page.goto(new URL(hash, stack.url).href);
    if (selector) await page.waitForSelector(selector, { timeout: 20000 });
};
const toastDone = (page, re, timeout = 150000) =>
    page.waitForSelector(`.toast-ok:has-text("${re}")`, { timeout });
const clean = (b) => assert.deepEqual(b.errors, [], 'the browser console has no errors');

before(async () => {
    stack = await startStack({ vms: [], hosts: 2, prefix: 'ud-mgr-' });
    [h1, h2] = stack.hosts.map((h) => h.id);
    admin = await openBrowser({ width: 1280, height: 800 });
    recordMethods(admin.page, called);
});

after(async () => {
    await admin?.close();
    await stack?.stop();
});

test('log in; create a project with a quota and users in it', { timeout: 120000 }, async () => {
    const { page } = admin;
    await page.goto(stack.url);
    await page.waitForSelector('#login-form');
    await shot(page, 'login');
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.waitForSelector('#live.on', { timeout: 20000 });

    await go(page, '#/projects', '#project-form');
    await page.fill('#project-name', P);
    await page.fill('#project-desc', 'web shop');
    await page.fill('#quota-instances', '3');
    await page.fill('#quota-memory_mib', '1024');
    await page.click('#project-create');
    await page.waitForSelector('#quota-usage [data-quota="instances"]');
    assert.match(await page.textContent('[data-quota="instances"]'), /0 of 3/);

    await go(page, '#/users', '#user-form');
    await page.fill('#user-name', 'alice');
    await page.fill('#user-password', 'short');
    await page.click('#user-create');
    // The API's refusal shows at the field it names.
    await page.waitForSelector('#user-password-error:has-text("password")');
    for (const [name, role] of [
        ['alice', 'operator'],
        ['bob', 'viewer'],
    ]) {
        await page.fill('#user-name', name);
        await page.fill('#user-password', `pw-${name}-secret`);
        await page.selectOption('#user-role', role);
        await page.click('#user-create');
        await page.waitForSelector(`tr[data-user="${name}"]`);
    }
    await shot(page, 'users');

    await go(page, `#/projects/${P}`, '#member-form');
    for (const [name, role] of [
        ['alice', 'operator'],
        ['bob', 'viewer'],
    ]) {
        await page.selectOption('#member-user', name);
        await page.selectOption('#member-role', role);
        await page.click('#member-add');
        await page.waitForSelector(`tr[data-member="${name}"]`);
    }
    clean(admin);
});

test(
    'create a VM from the form and watch it boot in the console',
    { timeout: 240000 },
    async () => {
        const { page } = admin;
        await go(page, '#/vms/new', '#create-form');
        await page.selectOption('#f-project', P);
        await page.fill('#f-name', VM);
        await page.fill('#f-memory_mib', '1');
        await page.check('#f-kernel');
        await page.fill('#f-kernel-kernel', `${stack.env.VG_GUEST_DIR}/vmlinuz`);
        await page.fill('#f-kernel-initrd', `${stack.env.VG_GUEST_DIR}/initrd.gz`);
        await page.fill('#f-kernel-cmdline', 'console=ttyS0 quiet');
        await page.click('#add-disk');
        await page.fill('#f-disks-0-size_mib', '32');
        await page.fill('#f-disks-0-pool', stack.pool);
        await page.check('#f-consoles-virtio_console');
        await page.selectOption('#f-placement', 'host');
        await page.selectOption('#f-placement-host', h1);
        await page.click('#create-submit');
        // memory_mib 1 is refused by the API; its message appears at the memory field.
        await page.waitForSelector('#f-memory_mib-error:has-text("spec.memory_mib")', {
            timeout: 20000,
        });
        assert.equal(await page.getAttribute('#f-memory_mib', 'aria-invalid'), 'true');
        await page.fill('#f-memory_mib', '128');
        await shot(page, 'create-vm');
        await page.click('#create-submit');
        await page.waitForURL(new RegExp(`#/vm/${VM}/console$`), { timeout: 120000 });
        await page.waitForSelector('body[data-console="connected"]', { timeout: 60000 });
        // On a loaded machine a host can miss its heartbeats for a moment; vm.start then
        // refuses (unavailable, shown in a toast). Start it again from the VM page, as a user
        // would.
        for (let i = 0; i < 6; i++) {
            const running = page.locator('#vm-state .state-running');
            await running.waitFor({ timeout: 10000 }).catch(() => {});
            if (await running.count()) break;
            const start = page.locator('button[data-power="vm.start"]');
            if (await start.count()) await start.click();
        }
        await waitForPrompt(page);
        await typeLine(page, 'echo booted-$((6*7))');
        await waitForLine(page, /^booted-42\s*$/);
        await shot(page, 'vm-console');
        await go(page, `#/vm/${VM}/overview`, '#vm-overview');
        assert.match(await page.textContent('#vm-state'), /running/);
        await shot(page, 'vm-overview');
        clean(admin);
    },
);

test(
    'snapshot the VM, change it, revert, and the change is gone',
    { timeout: 300000 },
    async () => {
        const { page } = admin;
        await go(page, `#/vm/${VM}/snapshots`, '#snap-form');
        await page.fill('#snap-name', 's1');
        await page.click('#snap-create');
        await page.waitForSelector('li[data-snapshot="s1"]', { timeout: 150000 });
        await shot(page, 'vm-snapshots');

        await page.click('#tab-console');
        await page.waitForSelector('body[data-console="connected"]', { timeout: 30000 });
        await typeLine(page, 'touch /tmp/after-s1; echo made-$((1+2))');
        await waitForLine(page, /^made-3\s*$/, 30000);

        await page.click('#tab-snapshots');
        await page.click('button[data-revert="s1"]');
        await page.click('#confirm-ok');
        await toastDone(page, `Revert ${VM} to s1: done`);

        await page.click('#tab-console');
        await page.waitForSelector('body[data-console="connected"]', { timeout: 30000 });
        await typeLine(page, 'ls /tmp/after-s1 2>&1 | grep -c "No such"; echo chk-$((2+3))');
        const lines = await waitForLine(page, /^chk-5\s*$/, 30000);
        assert.equal(
            lines[lines.findLastIndex((l) => /^chk-5/.test(l)) - 1].trim(),
            '1',
            'the file made after s1 is gone',
        );

        // libvirt 9 does not migrate a domain with snapshots: delete it (next test migrates).
        await page.click('#tab-snapshots');
        await page.click('button[data-delete="s1"]');
        await page.click('#confirm-ok');
        await toastDone(page, 'Delete snapshot s1: done');
        await page.waitForSelector('li[data-snapshot="s1"]', { state: 'detached' });
        clean(admin);
    },
);

test('migrate the VM to the second host with its console open', { timeout: 240000 }, async () => {
    const { page, context } = admin;
    const con = await context.newPage();
    recordMethods(con, called);
    try {
        await go(con, `#/console/${VM}`, 'body[data-console="connected"]');
        await go(page, `#/vm/${VM}/migrate`, '#migrate-host');
        await page.selectOption('#migrate-host', h2);
        await shot(page, 'vm-migrate');
        await page.click('#migrate-submit');
        await toastDone(page, `Migrate ${VM} to ${h2}: done`);
        await page.waitForFunction(
            (h) => document.querySelector('.bar.sub .dim')?.textContent === h,
            h2,
        );
        // The console stayed attached through the move and still reaches the guest.
        await typeLine(con, 'echo moved-$((40+2))');
        await waitForLine(con, /^moved-42\s*$/, 60000);
        assert.equal(await con.evaluate(() => document.body.dataset.console), 'connected');
    } finally {
        await con.close();
    }
    clean(admin);
});

test(
    'settings show the spec and, for administrators, the domain XML',
    { timeout: 60000 },
    async () => {
        const { page } = admin;
        await go(page, `#/vm/${VM}/settings`, '#settings-form');
        await page.waitForSelector('#vm-xml');
        assert.match(await page.textContent('#vm-xml'), new RegExp(`<name>${VM}</name>`));
        assert.equal(await page.inputValue('#f-memory_mib'), '128');
        assert.ok(await page.isDisabled('#settings-save'), 'a running VM is not edited');
        await shot(page, 'vm-settings');
        clean(admin);
    },
);

test('an environment: dashboard by role, then batch-stop it', { timeout: 240000 }, async () => {
    const { page } = admin;
    await go(page, '#/envs', '#env-form');
    await page.fill('#env-name', 'shop');
    await page.click('#env-create');
    await page.waitForSelector('#env-add');
    await page.selectOption('#env-add select[name=vm]', VM);
    await page.fill('#env-add input[name=role]', 'web');
    await page.click('#env-add-vm');
    await page.waitForSelector(`#env-vms tr[data-vm="${VM}"]`);
    await page.click('#env-probe');
    await page.waitForFunction(
        () => /Reachable\s*1/.test(document.querySelector('[data-role="web"]')?.textContent || ''),
        null,
        { timeout: 30000 },
    );
    await shot(page, 'environment');
    await page.click('#env-stop');
    await page.waitForSelector('#env-result:has-text("1 ok, 0 failed")', { timeout: 150000 });
    await page.waitForSelector(`#env-vms tr[data-vm="${VM}"] .state-shutoff`, { timeout: 30000 });
    clean(admin);
});

test(
    'the VM list filters, sorts and batch-starts the selected VMs',
    { timeout: 120000 },
    async () => {
        const { page } = admin;
        await go(page, '#/vms', `tr[data-vm="${VM}"]`);
        await page.waitForSelector(`tr[data-vm="${VM}"] .state-shutoff`);
        await page.fill('#vm-filter', 'shop');
        assert.equal(await page.locator('#vm-rows tr').count(), 1);
        await page.click('button[data-sort="host"]');
        await page.check(`tr[data-vm="${VM}"] input.pick`);
        await page.click('#batch-start');
        await page.waitForSelector(`tr[data-vm="${VM}"] .state-running`, { timeout: 90000 });
        await page.fill('#vm-filter', '');
        await shot(page, 'vms');
        clean(admin);
    },
);

test('clone the VM, then delete the clone after typing its name', { timeout: 120000 }, async () => {
    const { page } = admin;
    const CLONE = `${VM}-clone`;
    await go(page, `#/vm/${VM}/clone`, '#clone-name');
    assert.equal(await page.inputValue('#clone-name'), CLONE);
    await page.click('#clone-submit');
    await page.waitForURL(new RegExp(`#/vm/${CLONE}$`), { timeout: 90000 });
    await page.waitForSelector('#vm-state .state-shutoff');
    await page.click('#tab-delete');
    await page.click('#delete-vm');
    assert.ok(await page.isDisabled('#confirm-ok'), 'not before the name is typed');
    await page.fill('#confirm-typed', 'vgt-wrong');
    assert.ok(await page.isDisabled('#confirm-ok'));
    await page.fill('#confirm-typed', CLONE);
    await page.check('#delete-disks');
    await page.click('#confirm-ok');
    await page.waitForURL(/#\/vms$/, { timeout: 60000 });
    await page.waitForSelector(`tr[data-vm="${VM}"]`);
    // hostd's registry drops the undefined domain a moment later (vm.removed, live).
    await page.waitForSelector(`tr[data-vm="${CLONE}"]`, { state: 'detached', timeout: 20000 });
    clean(admin);
});

test('hosts: capacity and load; maintenance on and off', { timeout: 60000 }, async () => {
    const { page } = admin;
    await go(page, '#/hosts', `tr[data-host="${h2}"]`);
    await page.click(`button[data-maintenance="${h2}"]`);
    await page.waitForSelector(`button[data-maintenance="${h2}"]:has-text("End maintenance")`);
    await page.fill('#group-name', 'rack1');
    await page.check(`#group-form input[value="${h1}"]`);
    await page.click('#group-create');
    await page.waitForSelector('tr[data-group="rack1"]');
    await shot(page, 'hosts');
    await page.click(`button[data-maintenance="${h2}"]`);
    await page.waitForSelector(`button[data-maintenance="${h2}"]:text-is("Maintenance")`);
    clean(admin);
});

test(
    'audit: query by user and kind, page, export as CSV and JSON lines',
    { timeout: 60000 },
    async () => {
        const { page } = admin;
        await go(page, '#/audit', '#audit-form');
        await page.fill('#audit-user', stack.adminUser);
        await page.selectOption('#audit-form select[name=kind]', 'api');
        await page.selectOption('#audit-form select[name=limit]', '25');
        await page.click('#audit-query');
        await page.waitForSelector('#audit-table td:text-is("vm.create")');
        const kinds = await page.$$eval('#audit-table tbody tr td:nth-child(2)', (tds) =>
            tds.map((t) => t.textContent),
        );
        assert.ok(kinds.length > 0 && kinds.every((k) => k === 'api'), kinds.join());
        if (await page.isEnabled('#audit-next')) {
            await page.click('#audit-next');
            await page.waitForSelector('#audit-prev:not([disabled])');
        }
        await shot(page, 'audit');
        for (const [button, head] of [
            ['#audit-export-csv', /^id,ts,kind,user/],
            ['#audit-export-jsonl', /^\{"id":/],
        ]) {
            const [download] = await Promise.all([
                page.waitForEvent('download'),
                page.click(button),
            ]);
            const text = fs.readFileSync(await download.path(), 'utf8');
            assert.match(text, head);
            assert.match(text, /vm\.create/);
        }
        clean(admin);
    },
);

test(
    'the operator sees only their project, and is frozen from the admin window',
    { timeout: 120000 },
    async () => {
        const token = await apiLogin(stack);
        await api(stack, token, 'project.create', { name: 'p2', description: 'not alice’s' });
        const alice = await openBrowser({ width: 1280, height: 800 });
        recordMethods(alice.page, called);
        try {
            await login(alice.page, stack.url, 'alice', 'pw-alice-secret');
            await alice.page.waitForSelector(`tr[data-vm="${VM}"]`, { timeout: 20000 });
            await go(alice.page, '#/projects', `tr[data-project="${P}"]`);
            const projects = await alice.page.$$eval('#project-table tbody tr', (rows) =>
                rows.map((r) => r.dataset.project),
            );
            assert.deepEqual(projects, [P]);
            assert.equal(
                await alice.page.locator('#nav-users').count(),
                0,
                'no Users page for an operator',
            );
            await shot(alice.page, 'projects-operator');
            clean(alice);

            await go(admin.page, '#/users', 'button[data-freeze="alice"]');
            await admin.page.click('button[data-freeze="alice"]');
            await admin.page.waitForSelector('tr[data-user="alice"] .count-bad');
            await alice.page.waitForSelector('#login-form', { timeout: 20000 });
        } finally {
            await alice.close();
        }
        await go(admin.page, `#/projects/${P}`, '#quota-usage');
        await shot(admin.page, 'project');
        clean(admin);
    },
);

test(
    'a viewer finds no enabled button that changes anything, on any page',
    { timeout: 180000 },
    async () => {
        const bob = await openBrowser({ width: 1280, height: 800 });
        recordMethods(bob.page, called);
        const { page } = bob;
        try {
            await login(page, stack.url, 'bob', 'pw-bob-secret');
            await page.waitForSelector(`tr[data-vm="${VM}"]`, { timeout: 20000 });
            const pages = [
                ['#/vms', `tr[data-vm="${VM}"]`],
                ...[
                    'overview',
                    'console',
                    'snapshots',
                    'settings',
                    'cdrom',
                    'migrate',
                    'clone',
                    'delete',
                ].map((t) => [`#/vm/${VM}/${t}`, '[role=tabpanel] > *']),
                ['#/vms/new', 'main'],
                ['#/hosts', `tr[data-host="${h1}"]`],
                ['#/projects', `tr[data-project="${P}"]`],
                [`#/projects/${P}`, '#quota-usage'],
                ['#/envs', 'tr[data-env="shop"]'],
                ['#/envs/shop', '#env-vms'],
                ['#/users', 'main'],
                ['#/audit', 'main'],
                ['#/account', '#password-form'],
            ];
            for (const [hash, ready] of pages) {
                await go(page, hash, ready);
                await page.waitForTimeout(700); // let the page's data arrive
                assert.deepEqual(
                    await mutatingButtons(page),
                    [],
                    `${hash}: enabled mutating buttons`,
                );
                assert.equal(await page.locator('select[aria-label^="Role of"]').count(), 0, hash);
            }
            await go(page, `#/vm/${VM}/console`, 'body[data-console="connected"]');
            assert.equal(await page.textContent('#st-mode'), 'ro');
            await go(page, '#/account', '#password-form');
            await page.fill('#pw-old_password', 'wrong-password');
            await page.fill('#pw-new_password', 'pw-bob-secret-2');
            await page.fill('#pw-repeat', 'pw-bob-secret-2');
            await page.click('#password-submit');
            await page.waitForSelector('#pw-old_password-error:not(:empty)');
            await page.fill('#pw-old_password', 'pw-bob-secret');
            await page.click('#password-submit');
            await page.waitForSelector('.toast-ok:has-text("Password changed")');
            await shot(page, 'account');
            clean(bob);
        } finally {
            await bob.close();
        }
    },
);

test('every API method the pages called is documented in docs/api.md', () => {
    const documented = documentedMethods();
    const unknown = [...called].filter((m) => !documented.has(m));
    assert.deepEqual(unknown, []);
    assert.ok(
        called.has('vm.create') && called.has('vm.migrate') && called.has('env.stop'),
        [...called].join(),
    );
});
