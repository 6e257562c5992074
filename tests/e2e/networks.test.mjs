// Networks and security groups in the browser (issue 15): an administrator creates an isolated
// network with a subnet and DHCP range from the Networks page (a bad range shows the API's
// message under the form first) and finds it on its host with its leases table, then creates a
// security group with a rule and adds a second rule on the Security groups page. The page runs
// with an empty browser console; docs/ui-shots/networks.png and secgroups.png come from here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin } from '../integration/lib/client.mjs';
import { openBrowser, login } from './lib/browser.mjs';
import { shot } from './lib/manager.mjs';

let stack;
let b;
const tag = Math.random().toString(36).slice(2, 6);
const oct = 100 + Math.floor(Math.random() * 150);

before(async () => {
    stack = await startStack({ vms: [], prefix: 'ud-net-' });
    const token = await apiLogin(stack);
    await api(stack, token, 'project.create', { name: 'p1' });
    b = await openBrowser({ width: 1280, height: 800 });
});

after(async () => {
    if (b?.errors.length) console.log('browser errors:', b.errors);
    await b?.close();
    await stack?.stop();
});

test('create a network with a DHCP range from the Networks page', { timeout: 120000 }, async () => {
    const { page } = b;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.goto(new URL('#/networks', stack.url).href);
    await page.waitForSelector('#net-form');
    await page.fill('#net-name', 'vgt-ui');
    await page.selectOption('#net-kind', 'isolated');
    await page.fill('#net-bridge', `vgu${tag}`);
    await page.fill('#net-address', `10.${oct}.7.1`);
    await page.fill('#net-dhcp-start', `10.${oct}.8.10`);
    await page.fill('#net-dhcp-end', `10.${oct}.7.90`);
    await page.click('#net-create');
    await page.waitForSelector('.form-error:has-text("is outside")', { timeout: 20000 });
    await page.fill('#net-dhcp-start', `10.${oct}.7.10`);
    await page.click('#net-create');
    await page.waitForSelector('#net-range', { timeout: 30000 });
    assert.equal((await page.textContent('#net-range')).trim(), `10.${oct}.7.10 – 10.${oct}.7.90`);
    await page.waitForSelector(`#net-hosts tr[data-host="${stack.hostId}"]:has-text("active")`);
    await page.waitForSelector('#net-leases, .empty:has-text("No leases")');
    assert.match(stack.virsh('net-dumpxml', 'vgt-ui'), new RegExp(`<range start='10\\.${oct}\\.7\\.10' end='10\\.${oct}\\.7\\.90'/>`));
    await shot(page, 'networks');
    assert.deepEqual(b.errors, []);
});

test('create a security group with a rule and add another', { timeout: 120000 }, async () => {
    const { page } = b;
    await page.goto(new URL('#/secgroups/p1', stack.url).href);
    await page.waitForSelector('#sg-form');
    const form = page.locator('#sg-form');
    await page.fill('#sg-name', 'web');
    await form.locator('[name=description]').fill('web servers');
    await form.locator('[name=protocol]').selectOption('tcp');
    await form.locator('[name=port_min]').fill('8080');
    await form.locator('[name=remote]').fill('web');
    await page.click('#sg-create');
    const card = page.locator('[data-secgroup="web"]');
    await card.locator('.rule:has-text("ingress tcp 8080 from group web")').waitFor({ timeout: 20000 });
    const add = card.locator('form.add-rule');
    await add.locator('[name=protocol]').selectOption('icmp');
    await add.locator('[name=remote]').fill('10.0.0.0/8');
    await add.locator('button[type=submit]').click();
    await card.locator('.rule:has-text("ingress icmp from 10.0.0.0/8")').waitFor({ timeout: 20000 });
    const token = await apiLogin(stack);
    const g = await api(stack, token, 'secgroup.get', { project: 'p1', name: 'web' });
    assert.deepEqual(g.rules, [
        { direction: 'ingress', protocol: 'tcp', port_min: 8080, remote_group: 'web' },
        { direction: 'ingress', protocol: 'icmp', remote_cidr: '10.0.0.0/8' },
    ]);
    await shot(page, 'secgroups');
    assert.deepEqual(b.errors, []);
});
