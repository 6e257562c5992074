// Storage (#/storage, #/storage/<pool>): the pools of every host with capacity bars, a create
// form for the pool kinds the API knows (docs/storage.md; the API's refusal shows under the
// form), start / stop / refresh / delete; and a pool's page with its volumes: create, resize,
// clone, delete, download, and an upload from a local file (picked or dropped) with a progress
// bar. Everyone sees the pools; administrators change them and see the volumes.

import { html, nothing } from 'lit';
import { api, LONG_CALL_MS } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, fieldOf, formatBytes, toast, usageBar } from '../lib/ui.js';
import { uploadVolume } from './upload.js';

// The source fields each kind takes (docs/storage.md, the table of types).
const KINDS = {
    dir: { target: true, source: [] },
    fs: { target: true, source: ['device', 'format'] },
    netfs: { target: true, source: ['host', 'dir', 'format'] },
    logical: { target: false, source: ['name', 'devices'] },
    iscsi: { target: false, source: ['host', 'port', 'iqn', 'auth_user', 'auth_secret'] },
    'iscsi-direct': {
        target: false,
        source: ['host', 'port', 'iqn', 'initiator', 'auth_user', 'auth_secret'],
    },
    disk: { target: false, source: ['device', 'format'] },
};
const LABELS = {
    device: 'Device (/dev/…)',
    format: 'Format',
    host: 'Server',
    dir: 'Export',
    name: 'Volume group',
    devices: 'Devices (comma separated)',
    port: 'Port',
    iqn: 'Target IQN',
    initiator: 'Initiator IQN',
    auth_user: 'CHAP user',
    auth_secret: 'CHAP secret (secret.set name)',
};

// The spec the form describes; empty fields are left out.
export function poolSpec(f, kind) {
    const spec = { type: kind };
    const val = (k) => f[k]?.value.trim();
    if (KINDS[kind].target && val('target')) spec.target = val('target');
    const source = {};
    for (const k of KINDS[kind].source) {
        const v = val(k);
        if (!v) continue;
        if (k === 'port') source.port = Number(v);
        else if (k === 'devices') source.devices = v.split(',').map((d) => d.trim());
        else if (k === 'auth_user') source.auth = { ...source.auth, username: v };
        else if (k === 'auth_secret') source.auth = { ...source.auth, secret: v };
        else source[k] = v;
    }
    if (Object.keys(source).length) spec.source = source;
    return spec;
}

const volumeUrl = (pool, vol) =>
    `/api/v1/volume.download?${new URLSearchParams({ pool, volume: vol })}`;

class VgStorage extends VgElement {
    static properties = {
        args: { attribute: false },
        pools: { state: true },
        hosts: { state: true },
        groups: { state: true },
        kind: { state: true },
        error: { state: true },
        vols: { state: true },
        editing: { state: true },
        volError: { state: true },
        upload: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.pools = [];
        this.hosts = [];
        this.groups = [];
        this.kind = 'dir';
        this.error = '';
        this.vols = null;
        this.editing = null;
        this.volError = '';
        this.upload = null;
    }

    get pool() {
        return this.args[0];
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = `${this.pool || 'Storage'} · vmgate`;
        this.reload();
    }

    async reload() {
        if (!this.pool) {
            const [p, h, g] = await Promise.all([
                this.call('pool.list', {}, 'Pools'),
                session.isAdmin ? this.call('host.list', {}, 'Hosts') : null,
                session.isAdmin ? this.call('hostgroup.list', {}, 'Host groups') : null,
            ]);
            if (p) this.pools = p.pools;
            if (h) this.hosts = h.hosts;
            if (g) this.groups = g.groups;
            return;
        }
        const p = await this.call('pool.get', { pool: this.pool }, this.pool);
        if (p) this.pools = [p];
        if (session.isAdmin) {
            const v = await this.call('volume.list', { pool: this.pool }, 'Volumes');
            this.vols = v ? v.volumes : [];
        }
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const [where, target] = f.where.value.split(':', 2);
        const params = { pool: f.name.value.trim(), spec: poolSpec(f, this.kind), [where]: target };
        this.error = '';
        try {
            const res = await api.call('pool.create', params, { timeout: LONG_CALL_MS });
            toast(`Create pool ${res.name}: done`, 'ok');
            ev.target.reset();
            this.reload();
        } catch (err) {
            this.error = err.message;
        }
    }

    async act(method, label, pool) {
        if (await this.op(`${label} ${pool}`, method, { pool })) this.reload();
    }

    async deletePool(pool) {
        const ok = await VgConfirm.ask({ text: `Delete pool ${pool}?`, typed: pool });
        if (ok && (await this.op(`Delete ${pool}`, 'pool.delete', { pool }))) {
            if (this.pool) location.hash = '#/storage';
            else this.reload();
        }
    }

    // Volume calls whose refusal shows under the volume forms.
    async volCall(method, params, label) {
        this.volError = '';
        try {
            const res = await api.call(method, params, { timeout: LONG_CALL_MS });
            toast(`${label}: done`, 'ok');
            this.editing = null;
            this.reload();
            return res;
        } catch (err) {
            this.volError = err.message;
            return null;
        }
    }

    createVolume(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = { pool: this.pool, volume: f.volume.value.trim(), format: f.format.value };
        if (f.size_mib.value) params.size_mib = Number(f.size_mib.value);
        if (f.backing.value.trim()) params.backing = f.backing.value.trim();
        this.volCall('volume.create', params, `Create ${params.volume}`).then(
            (r) => r && ev.target.reset(),
        );
    }

    editVolume(ev, vol) {
        ev.preventDefault();
        const f = ev.target.elements;
        if (this.editing.action === 'resize')
            this.volCall(
                'volume.resize',
                { pool: this.pool, volume: vol, size_mib: Number(f.size_mib.value) },
                `Resize ${vol}`,
            );
        else
            this.volCall(
                'volume.clone',
                { pool: this.pool, volume: vol, name: f.name.value.trim() },
                `Clone ${vol}`,
            );
    }

    async deleteVolume(vol) {
        const ok = await VgConfirm.ask({ text: `Delete volume ${vol} of ${this.pool}?` });
        if (ok && (await this.op(`Delete ${vol}`, 'volume.delete', { pool: this.pool, volume: vol })))
            this.reload();
    }

    async startUpload(file, name) {
        if (!file || this.upload?.running) return;
        const volume = (name || file.name).trim();
        this.volError = '';
        this.upload = { volume, loaded: 0, total: file.size, running: true };
        try {
            await uploadVolume(this.pool, volume, file, (loaded, total) => {
                this.upload = { ...this.upload, loaded, total };
            });
            this.upload = { ...this.upload, loaded: file.size, running: false, done: true };
            toast(`Upload ${volume}: done`, 'ok');
        } catch (err) {
            this.upload = { ...this.upload, running: false };
            this.volError = err.message;
        }
        this.reload();
    }

    onUploadSubmit(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        this.startUpload(f.file.files[0], f.volume.value);
    }

    onDrop(ev) {
        ev.preventDefault();
        const file = ev.dataTransfer?.files?.[0];
        const form = this.querySelector('#upload-form');
        this.startUpload(file, form?.elements.volume.value);
    }

    renderField(k) {
        if (k === 'format')
            return html`<label
                >${LABELS[k]}
                <select name="format" id="pool-format">
                    <option value="">default</option>
                    ${(this.kind === 'disk'
                        ? ['dos', 'gpt']
                        : this.kind === 'netfs'
                          ? ['auto', 'nfs', 'glusterfs', 'cifs']
                          : ['auto', 'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat']
                    ).map((x) => html`<option>${x}</option>`)}
                </select></label
            >`;
        return html`<label>${LABELS[k]} <input name=${k} id="pool-${k}" autocomplete="off" /></label>`;
    }

    renderForm() {
        const kind = KINDS[this.kind];
        return html`<h2>New pool</h2>
            <form class="stack-form" id="pool-form" @submit=${(e) => this.create(e)}>
                <label>Name <input name="name" id="pool-name" required autocomplete="off" /></label>
                <label
                    >Kind
                    <select name="kind" id="pool-kind" @change=${(e) => (this.kind = e.target.value)}>
                        ${Object.keys(KINDS).map(
                            (x) => html`<option ?selected=${x === this.kind}>${x}</option>`,
                        )}
                    </select></label
                >
                <label
                    >On
                    <select name="where" id="pool-where">
                        ${this.hosts.map((h) => html`<option value="host:${h.id}">host ${h.id}</option>`)}
                        ${this.groups.map(
                            (g) => html`<option value="group:${g.name}">group ${g.name}</option>`,
                        )}
                    </select></label
                >
                ${kind.target
                    ? html`<label
                          >Target directory
                          <input name="target" id="pool-target" required placeholder="/var/lib/vmgate/pools/…"
                      /></label>`
                    : nothing}
                ${kind.source.map((k) => this.renderField(k))}
                ${this.error
                    ? html`<p class="form-error" role="alert" id="pool-error" data-field=${fieldOf(this.error)}>
                          ${this.error}
                      </p>`
                    : nothing}
                <button type="submit" id="pool-create">Create pool</button>
            </form>`;
    }

    renderActions(p) {
        if (!session.isAdmin) return nothing;
        return html`<button type="button" class="pool-start" @click=${() => this.act('pool.start', 'Start', p.name)}>
                Start
            </button>
            <button type="button" class="pool-stop" @click=${() => this.act('pool.stop', 'Stop', p.name)}>
                Stop
            </button>
            <button type="button" class="pool-refresh" @click=${() => this.act('pool.refresh', 'Refresh', p.name)}>
                Refresh
            </button>
            <button type="button" class="danger pool-delete" @click=${() => this.deletePool(p.name)}>
                Delete
            </button>`;
    }

    renderCapacity(p) {
        if (!p.capacity) return html`<span class="dim">not running</span>`;
        return usageBar('used', p.allocation, p.capacity, formatBytes);
    }

    renderPools() {
        return html`<table class="grid" id="pool-table">
            <thead>
                <tr>
                    <th>Pool</th>
                    <th>Type</th>
                    <th>Hosts</th>
                    <th>Capacity</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                ${this.pools.map(
                    (p) => html`<tr data-pool=${p.name}>
                        <td><a href="#/storage/${encodeURIComponent(p.name)}">${p.name}</a></td>
                        <td>${p.type}</td>
                        <td class="pool-hosts">
                            ${p.hosts.map((h) => html`<span class="tag">${h.host}: ${h.state}</span> `)}
                        </td>
                        <td>${this.renderCapacity(p)}</td>
                        <td class="actions">${this.renderActions(p)}</td>
                    </tr>`,
                )}
            </tbody>
        </table>`;
    }

    renderList() {
        return html`<header class="bar sub"><h1>Storage pools</h1></header>
            <main>
                ${this.renderPools()}
                ${this.pools.length ? nothing : html`<p class="empty">No pools.</p>`}
                ${session.isAdmin ? this.renderForm() : nothing}
            </main>`;
    }

    renderEdit(v) {
        const resize = this.editing.action === 'resize';
        return html`<tr class="vol-edit">
            <td colspan="7">
                <form class="inline-form" id="vol-edit-form" @submit=${(e) => this.editVolume(e, v.name)}>
                    ${resize
                        ? html`<label
                              >New size (MiB)
                              <input name="size_mib" id="vol-edit-size" type="number" min="1" required
                                  .value=${String(Math.ceil(v.capacity / 1048576))}
                          /></label>`
                        : html`<label
                              >Copy's name <input name="name" id="vol-edit-name" required autocomplete="off"
                          /></label>`}
                    <button type="submit" id="vol-edit-ok">${resize ? 'Resize' : 'Clone'}</button>
                    <button type="button" @click=${() => (this.editing = null)}>Cancel</button>
                </form>
            </td>
        </tr>`;
    }

    renderVolumes() {
        const vols = this.vols || [];
        return html`<table class="grid" id="vol-table">
                <thead>
                    <tr>
                        <th>Volume</th>
                        <th>Format</th>
                        <th>Size</th>
                        <th>Allocated</th>
                        <th>State</th>
                        <th>Image</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    ${vols.map(
                        (v) => html`<tr data-volume=${v.name}>
                                <td>${v.name}</td>
                                <td>${v.format}</td>
                                <td class="vol-size">${formatBytes(v.capacity)}</td>
                                <td>${formatBytes(v.allocation)}</td>
                                <td class="vol-state">
                                    ${v.usable ? 'usable' : `upload ${v.transfer?.state || ''}`}
                                </td>
                                <td>${v.image || '—'}</td>
                                <td class="actions">
                                    <a class="button vol-download" href=${volumeUrl(this.pool, v.name)} download=${v.name}
                                        >Download</a
                                    >
                                    <button type="button" class="vol-resize" @click=${() => (this.editing = { vol: v.name, action: 'resize' })}>
                                        Resize
                                    </button>
                                    <button type="button" class="vol-clone" @click=${() => (this.editing = { vol: v.name, action: 'clone' })}>
                                        Clone
                                    </button>
                                    <button type="button" class="danger vol-delete" @click=${() => this.deleteVolume(v.name)}>
                                        Delete
                                    </button>
                                </td>
                            </tr>
                            ${this.editing?.vol === v.name ? this.renderEdit(v) : nothing}`,
                    )}
                </tbody>
            </table>
            ${this.vols && !vols.length ? html`<p class="empty">No volumes.</p>` : nothing}`;
    }

    renderUpload() {
        const u = this.upload;
        const pct = u && u.total ? Math.floor((u.loaded / u.total) * 100) : 0;
        return html`<h2>Upload a volume</h2>
            <form
                class="stack-form drop-zone"
                id="upload-form"
                @submit=${(e) => this.onUploadSubmit(e)}
                @dragover=${(e) => e.preventDefault()}
                @drop=${(e) => this.onDrop(e)}
            >
                <label
                    >File (or drop one here)
                    <input type="file" name="file" id="upload-file" required
                        @change=${(e) => {
                            const name = e.target.form.elements.volume;
                            if (!name.value && e.target.files[0]) name.value = e.target.files[0].name;
                        }}
                /></label>
                <label
                    >Volume name
                    <input name="volume" id="upload-volume" placeholder="the file's name" autocomplete="off"
                /></label>
                <button type="submit" id="upload-start" ?disabled=${u?.running}>Upload</button>
                ${u
                    ? html`<div class="upload-progress" id="upload-status">
                          <progress id="upload-progress" max="100" .value=${pct}></progress>
                          <span id="upload-pct">${pct} %</span>
                          <span>${u.volume}: ${formatBytes(u.loaded)} of ${formatBytes(u.total)}</span>
                      </div>`
                    : nothing}
            </form>`;
    }

    renderPool() {
        const p = this.pools.find((x) => x.name === this.pool);
        if (!p) return html`<p class="loading">Loading…</p>`;
        return html`<header class="bar sub">
                <a href="#/storage" class="back">← Storage</a>
                <h1>${p.name}</h1>
                <span class="dim">${p.type}</span>
                <span class="spacer"></span>
                ${this.renderActions(p)}
            </header>
            <main>
                ${this.renderPools()}
                ${session.isAdmin
                    ? html`<h2>Volumes</h2>
                          ${this.renderVolumes()}
                          ${this.volError
                              ? html`<p class="form-error" role="alert" id="vol-error">${this.volError}</p>`
                              : nothing}
                          <h2>New volume</h2>
                          <form class="inline-form" id="vol-form" @submit=${(e) => this.createVolume(e)}>
                              <label>Name <input name="volume" id="vol-name" required autocomplete="off" /></label>
                              <label
                                  >Size (MiB) <input name="size_mib" id="vol-size" type="number" min="1"
                              /></label>
                              <label
                                  >Format
                                  <select name="format" id="vol-format">
                                      <option>qcow2</option>
                                      <option>raw</option>
                                  </select></label
                              >
                              <label
                                  >Backing image <input name="backing" id="vol-backing" placeholder="pool/volume"
                              /></label>
                              <button type="submit" id="vol-create">Create volume</button>
                          </form>
                          ${this.renderUpload()}`
                    : nothing}
            </main>`;
    }

    render() {
        return this.pool ? this.renderPool() : this.renderList();
    }
}
customElements.define('vg-storage', VgStorage);
