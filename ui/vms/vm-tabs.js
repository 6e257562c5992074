// The VM page's action tabs (<vg-vm-tab tab=…>): settings (the spec form; the domain XML and raw
// XML for administrators), CD-ROM, migrate (administrators), clone and delete (typed
// confirmation, with or without disks).

import { html, nothing } from 'lit';
import { api, LONG_CALL_MS } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, longOp } from '../lib/ui.js';
import { modelOf, placeError, toSpec } from './spec-form.js';
import { vmHref } from './list.js';
import './spec-form.js';

const OFF = ['shutoff', 'crashed'];

class VgVmTab extends VgElement {
    static properties = {
        tab: {},
        vm: { attribute: false },
        canOperate: { type: Boolean },
        errors: { state: true },
        error: { state: true },
        xml: { state: true },
        hosts: { state: true },
        groups: { state: true },
        isos: { state: true },
    };

    constructor() {
        super();
        this.errors = {};
        this.error = '';
        this.xml = '';
        this.hosts = [];
        this.groups = [];
        this.isos = [];
        this.onChanged = () => {};
    }

    willUpdate(changed) {
        if (changed.has('tab') || (changed.has('vm') && !this.model)) this.enter();
    }

    async enter() {
        this.errors = {};
        this.error = '';
        if (this.tab === 'settings') {
            this.model = modelOf(this.vm.spec || {});
            if (session.isAdmin) {
                const res = await this.call(
                    'vm.xml',
                    { vm: this.vm.name, inactive: true },
                    'Domain XML',
                );
                this.xml = res ? res.xml : '';
            }
        }
        if (this.tab === 'cdrom') {
            const res = await this.call('image.list', {}, 'Images');
            this.isos = (res?.images || []).filter((i) => i.kind === 'iso');
        }
        if (this.tab === 'settings' || this.tab === 'migrate') {
            const [h, g] = await Promise.all([
                this.call('host.list', {}, 'Hosts'),
                this.call('hostgroup.list', {}, 'Host groups'),
            ]);
            this.hosts = (h?.hosts || []).map((x) => ({
                id: x.id,
                up: x.up,
                maintenance: x.maintenance,
            }));
            this.groups = (g?.groups || []).map((x) => x.name);
        }
    }

    async save(ev) {
        ev.preventDefault();
        this.errors = {};
        this.error = '';
        const spec = toSpec(this.model, { withName: false });
        const res = await longOp(
            `Save ${this.vm.name}`,
            api
                .call('vm.edit', { vm: this.vm.name, spec }, { timeout: LONG_CALL_MS })
                .catch((err) => {
                    ({ errors: this.errors, error: this.error } = placeError(this, err));
                    throw err;
                }),
        );
        if (res) this.onChanged();
    }

    async cdrom(media) {
        const res = await this.op(media ? `Insert ${media}` : 'Eject', 'vm.cdrom', {
            vm: this.vm.name,
            media: media || null,
        });
        if (res) this.onChanged();
    }

    async migrate(ev) {
        ev.preventDefault();
        const host = ev.target.elements.host.value;
        const res = await this.op(`Migrate ${this.vm.name} to ${host}`, 'vm.migrate', {
            vm: this.vm.name,
            host,
        });
        if (res) this.onChanged();
    }

    async clone(ev) {
        ev.preventDefault();
        const name = ev.target.elements.name.value;
        const res = await this.op(`Clone ${this.vm.name} as ${name}`, 'vm.clone', {
            vm: this.vm.name,
            name,
        });
        if (res) location.hash = vmHref(res.vm);
    }

    async deleteVm() {
        let disks = false;
        const ok = await VgConfirm.ask({
            text: `Delete VM ${this.vm.name}? This cannot be undone.`,
            typed: this.vm.name,
            extra: html`<label class="check"
                ><input
                    type="checkbox"
                    id="delete-disks"
                    @change=${(e) => (disks = e.target.checked)}
                />
                also delete its disks</label
            >`,
        });
        if (!ok) return;
        const res = await this.op(`Delete ${this.vm.name}`, 'vm.delete', {
            vm: this.vm.name,
            disks,
        });
        if (res) location.hash = '#/vms';
    }

    renderSettings(vm) {
        const off = OFF.includes(vm.state);
        const editable = vm.spec && !vm.adopted && this.canOperate;
        return html`<section id="settings">
            ${
                !vm.spec || vm.adopted
                    ? html`<p class="empty">
                          This VM has no spec to edit (adopted or unassigned).
                      </p>`
                    : html`<form
                          class="form"
                          id="settings-form"
                          novalidate
                          @submit=${(e) => this.save(e)}
                      >
                          <fieldset class="full" ?disabled=${!editable || !off}>
                              <legend>Spec of ${vm.name}</legend>
                              <vg-spec-form
                                  editing
                                  .model=${this.model}
                                  .errors=${this.errors}
                                  .hosts=${this.hosts.map((x) => x.id)}
                                  .groups=${this.groups}
                                  ?admin=${session.isAdmin}
                              ></vg-spec-form>
                          </fieldset>
                          <p class="form-error full" id="settings-error" role="alert">
                              ${this.error}
                          </p>
                          ${
                              editable
                                  ? html`<div class="actions">
                                        <button
                                            type="submit"
                                            class="primary"
                                            id="settings-save"
                                            ?disabled=${!off}
                                        >
                                            Save
                                        </button>
                                        ${off ? nothing : html`<span class="dim">Shut the VM down to edit it.</span>`}
                                    </div>`
                                  : nothing
                          }
                      </form>`
            }
            ${
                session.isAdmin && this.xml
                    ? html`<h2>Domain XML (persistent definition)</h2>
                          <pre class="xml" id="vm-xml">${this.xml}</pre>`
                    : nothing
            }
        </section>`;
    }

    renderCdrom(vm) {
        const drive = vm.spec?.cdrom;
        if (vm.spec && !drive)
            return html`<p class="empty">This VM has no CD-ROM drive (Settings adds one).</p>`;
        return html`<section id="cdrom">
            <p>Medium: <strong id="cdrom-media">${drive?.media || 'empty'}</strong></p>
            ${
                this.canOperate
                    ? html`<form
                          class="inline-form"
                          @submit=${(e) => {
                              e.preventDefault();
                              this.cdrom(e.target.elements.media.value);
                          }}
                      >
                          <label for="cdrom-image">From the library</label>
                          <select
                              id="cdrom-image"
                              @change=${(e) => (this.querySelector('#cdrom-input').value = e.target.value)}
                          >
                              <option value="">—</option>
                              ${this.isos.map(
                                  (i) => html`<option value="${i.pool}/${i.volume}">${i.name}</option>`,
                              )}
                          </select>
                          <label for="cdrom-input">Volume</label>
                          <input
                              id="cdrom-input"
                              name="media"
                              placeholder="pool/volume.iso"
                              required
                          />
                          <button type="submit" id="cdrom-insert">Insert</button>
                          <button
                              type="button"
                              id="cdrom-eject"
                              ?disabled=${!drive?.media}
                              @click=${() => this.cdrom(null)}
                          >
                              Eject
                          </button>
                      </form>`
                    : nothing
            }
        </section>`;
    }

    renderMigrate(vm) {
        if (!session.isAdmin) return html`<p class="empty">Migration is for administrators.</p>`;
        const targets = this.hosts.filter((h) => h.id !== vm.host);
        return html`<section id="migrate">
            <p>
                Live migration keeps console viewers attached.
                ${vm.host ? `Now on ${vm.host}.` : ''}
            </p>
            <form class="inline-form" @submit=${(e) => this.migrate(e)}>
                <label for="migrate-host">To host</label>
                <select id="migrate-host" name="host">
                    ${targets.map(
                        (h) =>
                            html`<option value=${h.id}>
                                ${h.id}${h.up ? '' : ' (down)'}${h.maintenance ? ' (maintenance)' : ''}
                            </option>`,
                    )}
                </select>
                <button
                    type="submit"
                    id="migrate-submit"
                    ?disabled=${!targets.length || !['running', 'paused'].includes(vm.state)}
                >
                    Migrate
                </button>
            </form>
        </section>`;
    }

    renderClone(vm) {
        if (!this.canOperate) return html`<p class="empty">Cloning needs the operator role.</p>`;
        return html`<section id="clone">
            <p>
                The clone gets the same spec with new disks (contents are not copied) and new MAC
                addresses.
            </p>
            <form class="inline-form" @submit=${(e) => this.clone(e)}>
                <label for="clone-name">New name</label>
                <input
                    id="clone-name"
                    name="name"
                    required
                    autocomplete="off"
                    value="${vm.name}-clone"
                />
                <button type="submit" id="clone-submit">Clone</button>
            </form>
        </section>`;
    }

    renderDelete(vm) {
        if (!this.canOperate) return html`<p class="empty">Deleting needs the operator role.</p>`;
        const off = OFF.includes(vm.state);
        return html`<section id="delete">
            <p>
                ${off ? 'The VM is shut off and can be deleted.' : 'Shut the VM down to delete it.'}
            </p>
            <button
                type="button"
                class="danger"
                id="delete-vm"
                ?disabled=${!off}
                @click=${() => this.deleteVm()}
            >
                Delete ${vm.name}…
            </button>
        </section>`;
    }

    render() {
        const vm = this.vm;
        switch (this.tab) {
            case 'settings':
                return this.model ? this.renderSettings(vm) : nothing;
            case 'cdrom':
                return this.renderCdrom(vm);
            case 'migrate':
                return this.renderMigrate(vm);
            case 'clone':
                return this.renderClone(vm);
            case 'delete':
                return this.renderDelete(vm);
            default:
                return nothing;
        }
    }
}
customElements.define('vg-vm-tab', VgVmTab);
