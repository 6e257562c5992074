// Storage in the browser (issue 14; docs/storage.md): an administrator creates a dir pool on the
// Storage page (a target outside the host's pool roots shows the API's refusal under the form
// first), creates a volume in it, uploads a small ISO from a local file with the progress bar
// reaching 100 %, finds it in the list, downloads it through the link and gets the same bytes,
// adds it to the image library and inserts it into a VM's CD-ROM drive from the library. The
// pages run with an empty browser console; docs/ui-shots/storage*.png and images.png come
// from here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startStack } from '../integration/lib/stack.mjs';
import { api, login as apiLogin } from '../integration/lib/client.mjs';
import { openBrowser, login } from './lib/browser.mjs';
import { shot } from './lib/manager.mjs';

const VM = 'vgt-e2e-iso';
const ISO = crypto.randomBytes((2 << 20) + 123);
let stack;
let token;
let b;

before(async () => {
    stack = await startStack({ vms: [], prefix: 'ud-stor-' });
    token = await apiLogin(stack);
    await api(stack, token, 'project.create', { name: 'p1' });
    await api(stack, token, 'vm.create', {
        project: 'p1',
        spec: stack.guestSpec(VM, { cdrom: { media: null } }),
    });
    b = await openBrowser({ width: 1280, height: 900 });
});

after(async () => {
    if (b?.errors.length) console.log('browser errors:', b.errors);
    await b?.close();
    await stack?.stop();
});

test('create a dir pool and a volume from the Storage page', { timeout: 120000 }, async () => {
    const { page } = b;
    await login(page, stack.url, stack.adminUser, stack.adminPassword);
    await page.goto(new URL('#/storage', stack.url).href);
    await page.waitForSelector(`#pool-table tr[data-pool="${stack.pool}"]`);
    await page.fill('#pool-name', 'e2e');
    await page.selectOption('#pool-kind', 'dir');
    await page.fill('#pool-target', '/etc/vmgate-e2e');
    await page.click('#pool-create');
    await page.waitForSelector('#pool-error:has-text("pool_roots")', { timeout: 20000 });
    await page.fill('#pool-target', path.join(stack.dir, 'pools', 'e2e'));
    await page.click('#pool-create');
    const row = page.locator('#pool-table tr[data-pool="e2e"]');
    await row.locator('.usage').waitFor({ timeout: 20000 });
    await row.locator(`.pool-hosts:has-text("${stack.hostId}: running")`).waitFor();
    await shot(page, 'storage');

    await row.locator('a').click();
    await page.waitForSelector('#vol-form');
    await page.fill('#vol-name', 'data1.qcow2');
    await page.fill('#vol-size', '16');
    await page.click('#vol-create');
    await page.waitForSelector('#vol-table tr[data-volume="data1.qcow2"] .vol-size:has-text("16.0 MiB")', { timeout: 20000 });
    // resize from the row's form
    await page.click('#vol-table tr[data-volume="data1.qcow2"] .vol-resize');
    await page.fill('#vol-edit-size', '32');
    await page.click('#vol-edit-ok');
    await page.waitForSelector('#vol-table tr[data-volume="data1.qcow2"] .vol-size:has-text("32.0 MiB")', { timeout: 20000 });
    assert.deepEqual(b.errors, []);
});

test('upload an ISO with its progress reaching 100 %, then download the same bytes', { timeout: 120000 }, async () => {
    const { page } = b;
    await page.setInputFiles('#upload-file', { name: 'tiny.iso', mimeType: 'application/octet-stream', buffer: ISO });
    assert.equal(await page.inputValue('#upload-volume'), 'tiny.iso');
    await page.click('#upload-start');
    await page.waitForSelector('#upload-pct:text-is("100 %")', { timeout: 60000 });
    assert.equal(await page.getAttribute('#upload-progress', 'max'), '100');
    assert.equal(await page.evaluate(() => document.querySelector('#upload-progress').value), 100);
    const row = page.locator('#vol-table tr[data-volume="tiny.iso"]');
    await row.locator('.vol-state:has-text("usable")').waitFor({ timeout: 20000 });
    await shot(page, 'storage-pool');

    // The link, followed with the page's own session (the headless browser's download manager
    // is not what is tested here).
    const link = row.locator('.vol-download');
    assert.equal(await link.getAttribute('download'), 'tiny.iso');
    const got = await link.evaluate(async (a) => {
        const res = await fetch(a.href);
        const bytes = new Uint8Array(await res.arrayBuffer());
        let bin = '';
        for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { status: res.status, disposition: res.headers.get('content-disposition'), b64: btoa(bin) };
    });
    assert.equal(got.status, 200);
    assert.match(got.disposition, /attachment; filename="tiny.iso"/);
    assert.ok(Buffer.from(got.b64, 'base64').equals(ISO), 'the downloaded bytes differ from the upload');
    assert.deepEqual(b.errors, []);
});

test('add the ISO to the library and insert it into a VM from the library', { timeout: 120000 }, async () => {
    const { page } = b;
    await page.goto(new URL('#/images', stack.url).href);
    await page.waitForSelector('#image-form');
    await page.fill('#image-name', 'tiny');
    await page.selectOption('#image-pool', 'e2e');
    await page.waitForSelector('#image-volume option:text-is("tiny.iso")', { state: 'attached' });
    await page.selectOption('#image-volume', 'tiny.iso');
    await page.selectOption('#image-kind', 'iso');
    await page.fill('#image-os', 'any');
    await page.click('#image-create');
    await page.waitForSelector('#image-table tr[data-image="tiny"]:has-text("e2e/tiny.iso")', { timeout: 20000 });
    await shot(page, 'images');

    await page.goto(new URL(`#/vm/${VM}/cdrom`, stack.url).href);
    await page.waitForSelector('#cdrom-image option:text-is("tiny")', { state: 'attached' });
    await page.selectOption('#cdrom-image', 'e2e/tiny.iso');
    assert.equal(await page.inputValue('#cdrom-input'), 'e2e/tiny.iso');
    await page.click('#cdrom-insert');
    await page.waitForSelector('#cdrom-media:text-is("e2e/tiny.iso")', { timeout: 30000 });
    const vm = await api(stack, token, 'vm.get', { vm: VM });
    assert.equal(vm.spec.cdrom.media, 'e2e/tiny.iso');
    assert.match(stack.virsh('dumpxml', '--inactive', VM), /pools\/e2e\/tiny\.iso/);
    assert.deepEqual(b.errors, []);
});
