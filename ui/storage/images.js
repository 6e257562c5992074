// The image library (#/images; docs/storage.md "Images"): ISOs and templates with their OS,
// description, visibility and size. Administrators add one from a usable volume of a pool and
// delete one (its volume too, on request); everyone sees those visible to them.

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, fieldOf, formatBytes, formatTime, toast } from '../lib/ui.js';

class VgImages extends VgElement {
    static properties = {
        images: { state: true },
        pools: { state: true },
        vols: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.images = [];
        this.pools = [];
        this.vols = [];
        this.error = '';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Images · vmgate';
        this.reload();
    }

    async reload() {
        const [i, p] = await Promise.all([
            this.call('image.list', {}, 'Images'),
            session.isAdmin ? this.call('pool.list', {}, 'Pools') : null,
        ]);
        if (i) this.images = i.images;
        if (p) {
            this.pools = p.pools.map((x) => x.name);
            if (!this.vols.length && this.pools.length) this.loadVolumes(this.pools[0]);
        }
    }

    async loadVolumes(pool) {
        const v = await this.call('volume.list', { pool }, 'Volumes');
        this.vols = v ? v.volumes.filter((x) => x.usable && !x.image).map((x) => x.name) : [];
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = {
            image: f.image.value.trim(),
            pool: f.pool.value,
            volume: f.volume.value,
            kind: f.kind.value,
        };
        if (f.os.value.trim()) params.os = f.os.value.trim();
        if (f.description.value.trim()) params.description = f.description.value.trim();
        if (f.project.value) params.project = f.project.value;
        this.error = '';
        try {
            await api.call('image.create', params);
            toast(`Add image ${params.image}: done`, 'ok');
            ev.target.reset();
            this.vols = [];
            this.reload();
        } catch (err) {
            this.error = err.message;
        }
    }

    async deleteImage(img) {
        const dlg = await VgConfirm.ask({
            text: `Delete image ${img.name}?`,
            extra: html`<label
                ><input type="checkbox" id="image-delete-volume" /> delete its volume
                ${img.pool}/${img.volume} too</label
            >`,
        });
        if (!dlg) return;
        const params = { image: img.name };
        if (dlg.querySelector('#image-delete-volume')?.checked) params.delete_volume = true;
        if (await this.op(`Delete ${img.name}`, 'image.delete', params)) this.reload();
    }

    renderForm() {
        const projects = Object.keys(session.projectRoles || {});
        return html`<h2>Add an image</h2>
            <form class="stack-form" id="image-form" @submit=${(e) => this.create(e)}>
                <label>Name <input name="image" id="image-name" required autocomplete="off" /></label>
                <label
                    >Pool
                    <select name="pool" id="image-pool" @change=${(e) => this.loadVolumes(e.target.value)}>
                        ${this.pools.map((p) => html`<option>${p}</option>`)}
                    </select></label
                >
                <label
                    >Volume
                    <select name="volume" id="image-volume" required>
                        ${this.vols.map((v) => html`<option>${v}</option>`)}
                    </select></label
                >
                <label
                    >Kind
                    <select name="kind" id="image-kind">
                        <option value="iso">ISO (installation medium)</option>
                        <option value="template">template (VMs are made from it)</option>
                    </select></label
                >
                <label>OS <input name="os" id="image-os" autocomplete="off" /></label>
                <label>Description <input name="description" id="image-description" /></label>
                <label
                    >Visible to
                    <select name="project" id="image-project">
                        <option value="">everyone (public)</option>
                        ${projects.map((p) => html`<option value=${p}>project ${p}</option>`)}
                    </select></label
                >
                ${this.error
                    ? html`<p class="form-error" role="alert" id="image-error" data-field=${fieldOf(this.error)}>
                          ${this.error}
                      </p>`
                    : nothing}
                <button type="submit" id="image-create">Add image</button>
            </form>`;
    }

    render() {
        const admin = session.isAdmin;
        return html`<header class="bar sub"><h1>Images</h1></header>
            <main>
                <table class="grid" id="image-table">
                    <thead>
                        <tr>
                            <th>Image</th>
                            <th>Kind</th>
                            <th>OS</th>
                            <th>Description</th>
                            <th>Visible to</th>
                            <th>Volume</th>
                            <th>Size</th>
                            <th>Added</th>
                            ${admin ? html`<th></th>` : nothing}
                        </tr>
                    </thead>
                    <tbody>
                        ${this.images.map(
                            (i) => html`<tr data-image=${i.name}>
                                <td>${i.name}</td>
                                <td>${i.kind}</td>
                                <td>${i.os || '—'}</td>
                                <td>${i.description || '—'}</td>
                                <td>${i.project ? `project ${i.project}` : 'everyone'}</td>
                                <td>${i.pool}/${i.volume}</td>
                                <td>${formatBytes(i.bytes)}</td>
                                <td>${formatTime(i.created_ms)} by ${i.created_by}</td>
                                ${admin
                                    ? html`<td>
                                          <button type="button" class="danger image-delete" @click=${() => this.deleteImage(i)}>
                                              Delete
                                          </button>
                                      </td>`
                                    : nothing}
                            </tr>`,
                        )}
                    </tbody>
                </table>
                ${this.images.length ? nothing : html`<p class="empty">No images.</p>`}
                ${admin ? this.renderForm() : nothing}
            </main>`;
    }
}
customElements.define('vg-images', VgImages);
