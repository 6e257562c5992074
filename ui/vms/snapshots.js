// The VM page's snapshots tab: the snapshot tree (snapshot.list), create, revert and delete
// (with or without the subtree). Taking and reverting run on the host for up to 120 s: they
// show progress and end with a toast.

import { html, nothing } from 'lit';
import { VgElement, VgConfirm, formatTime } from '../lib/ui.js';

class VgVmSnapshots extends VgElement {
    static properties = {
        vm: { attribute: false },
        canOperate: { type: Boolean },
        snaps: { state: true },
        error: { state: true },
        busy: { state: true },
    };

    constructor() {
        super();
        this.snaps = null;
        this.error = '';
        this.busy = false;
    }

    connectedCallback() {
        super.connectedCallback();
        this.reload();
    }

    async reload() {
        const res = await this.call('snapshot.list', { vm: this.vm.name }, 'Snapshots');
        this.snaps = res ? res.snapshots : [];
    }

    async create(ev) {
        ev.preventDefault();
        const form = ev.target;
        const params = { vm: this.vm.name, name: form.elements.name.value };
        if (form.elements.description.value) params.description = form.elements.description.value;
        if (form.elements.disk_only.checked) params.disk_only = true;
        this.busy = true;
        const res = await this.op(`Snapshot ${params.name}`, 'snapshot.create', params);
        this.busy = false;
        if (res) form.reset();
        this.reload();
    }

    async revert(name) {
        const ok = await VgConfirm.ask({
            text: `Revert ${this.vm.name} to snapshot ${name}? Changes since it are lost.`,
            action: 'Revert',
        });
        if (!ok) return;
        await this.op(`Revert ${this.vm.name} to ${name}`, 'snapshot.revert', {
            vm: this.vm.name,
            name,
        });
        this.reload();
    }

    async deleteSnapshot(name) {
        let children = false;
        const ok = await VgConfirm.ask({
            text: `Delete snapshot ${name} of ${this.vm.name}?`,
            extra: html`<label class="check"
                ><input
                    type="checkbox"
                    id="snap-children"
                    @change=${(e) => (children = e.target.checked)}
                />
                with the snapshots below it</label
            >`,
        });
        if (!ok) return;
        const params = { vm: this.vm.name, name };
        if (children) params.children = true;
        await this.op(`Delete snapshot ${name}`, 'snapshot.delete', params);
        this.reload();
    }

    renderNode(s, byParent) {
        const kids = byParent.get(s.name) || [];
        return html`<li data-snapshot=${s.name}>
            <strong class=${s.current ? 'snap-current' : ''}>${s.name}</strong>
            <span class="dim"
                >${s.state},
                ${formatTime(s.created_s * 1000)}${s.external ? ', external' : ''}${s.current ? ', current' : ''}</span
            >
            ${
                this.canOperate
                    ? html`<button
                              type="button"
                              data-revert=${s.name}
                              @click=${() => this.revert(s.name)}
                          >
                              Revert
                          </button>
                          <button
                              type="button"
                              data-delete=${s.name}
                              @click=${() => this.deleteSnapshot(s.name)}
                          >
                              Delete
                          </button>`
                    : nothing
            }
            ${
                kids.length
                    ? html`<ul class="tree">
                          ${kids.map((k) => this.renderNode(k, byParent))}
                      </ul>`
                    : nothing
            }
        </li>`;
    }

    render() {
        if (this.snaps === null) return html`<p class="loading">Loading…</p>`;
        const byParent = new Map();
        for (const s of this.snaps) {
            const p = s.parent || '';
            if (!byParent.has(p)) byParent.set(p, []);
            byParent.get(p).push(s);
        }
        const roots = byParent.get('') || [];
        return html`<section id="snapshots">
            ${
                this.canOperate
                    ? html`<form
                          class="inline-form"
                          id="snap-form"
                          @submit=${(e) => this.create(e)}
                      >
                          <label for="snap-name">New snapshot</label>
                          <input
                              id="snap-name"
                              name="name"
                              required
                              placeholder="name"
                              autocomplete="off"
                          />
                          <input
                              id="snap-desc"
                              name="description"
                              placeholder="description"
                              aria-label="Description"
                          />
                          <label><input type="checkbox" name="disk_only" /> disk only</label>
                          <button type="submit" id="snap-create" ?disabled=${this.busy}>
                              Take snapshot
                          </button>
                      </form>`
                    : nothing
            }
            ${
                roots.length
                    ? html`<ul class="tree" id="snap-tree">
                          ${roots.map((s) => this.renderNode(s, byParent))}
                      </ul>`
                    : html`<p class="empty">No snapshots.</p>`
            }
        </section>`;
    }
}
customElements.define('vg-vm-snapshots', VgVmSnapshots);
