// Hosts and host groups (#/hosts): capacity, load, VMs and limits of every host (host.list),
// maintenance and limits for administrators (host.set); host groups with their members and the
// projects that may use them (hostgroup.*). Live from host.* and VM events, load every 10 s.

import { html, nothing } from 'lit';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, formatMib } from '../lib/ui.js';

const RELOAD_EVENTS = [
    'host.up',
    'host.down',
    'host.maintenance',
    'vm.state',
    'vm.created',
    'vm.deleted',
    'vm.migrated',
];

class VgHosts extends VgElement {
    static properties = {
        hosts: { state: true },
        groups: { state: true },
        editing: { state: true },
    };

    constructor() {
        super();
        this.hosts = [];
        this.groups = [];
        this.editing = '';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Hosts · vmgate';
        this.listen(RELOAD_EVENTS);
        this.timer = setInterval(() => this.reload(), 10000);
        this.reload();
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        clearInterval(this.timer);
    }

    async reload() {
        const [h, g] = await Promise.all([
            this.call('host.list', {}, 'Hosts'),
            this.call('hostgroup.list', {}, 'Host groups'),
        ]);
        if (h) this.hosts = h.hosts;
        if (g) this.groups = g.groups;
    }

    async setHost(host, params, label) {
        const res = await this.op(label, 'host.set', { host, ...params });
        if (res) this.reload();
    }

    async saveLimits(ev, host) {
        ev.preventDefault();
        const f = ev.target.elements;
        await this.setHost(
            host,
            {
                max_vcpus: Number(f.max_vcpus.value),
                max_vm_memory_mib: Number(f.max_vm_memory_mib.value),
            },
            `Limits of ${host}`,
        );
    }

    checkedHosts(form) {
        return [...form.querySelectorAll('input[name=host]:checked')].map((i) => i.value);
    }

    async createGroup(ev) {
        ev.preventDefault();
        const form = ev.target;
        const params = { name: form.elements.name.value, hosts: this.checkedHosts(form) };
        if (form.elements.description.value) params.description = form.elements.description.value;
        const res = await this.op(`Create host group ${params.name}`, 'hostgroup.create', params);
        if (res) {
            form.reset();
            this.reload();
        }
    }

    async editGroup(ev, name) {
        ev.preventDefault();
        const form = ev.target;
        const res = await this.op(`Edit host group ${name}`, 'hostgroup.edit', {
            name,
            description: form.elements.description.value,
            hosts: this.checkedHosts(form),
        });
        if (res) {
            this.editing = '';
            this.reload();
        }
    }

    async deleteGroup(name) {
        if (!(await VgConfirm.ask({ text: `Delete host group ${name}?` }))) return;
        if (await this.op(`Delete host group ${name}`, 'hostgroup.delete', { name })) this.reload();
    }

    hostChecks(selected = []) {
        return this.hosts.map(
            (h) =>
                html`<label class="check"
                    ><input
                        type="checkbox"
                        name="host"
                        value=${h.id}
                        ?checked=${selected.includes(h.id)}
                    />
                    ${h.id}</label
                > `,
        );
    }

    renderHost(h) {
        const admin = session.isAdmin;
        const maxV = h.max_vcpus || h.cpus * 4;
        const maxM = h.max_vm_memory_mib || Math.max(0, h.mem_mib - 512);
        return html`<tr data-host=${h.id}>
            <td>
                <strong>${h.id}</strong>
                <div class="dim">${h.version || ''}</div>
            </td>
            <td class=${h.up ? 'host-up' : 'host-down'}>
                ${h.up ? 'up' : 'down'}${h.maintenance ? html`<div class="state state-paused">maintenance</div>` : nothing}
            </td>
            <td>
                ${h.cpus} CPUs, ${formatMib(h.mem_mib)}
                <div class="dim">disk ${formatMib(h.disk_mib)}</div>
            </td>
            <td>
                CPU ${h.cpu_pct}%
                <div class="dim">memory ${h.mem_pct}%, net ${h.net_mbps} Mbit/s</div>
            </td>
            <td>
                ${h.vms_running} of ${h.vms} running
                <div class="dim">
                    ${h.vcpus_used} of ${maxV} vCPUs, ${formatMib(h.memory_mib_used)} of
                    ${formatMib(maxM)}
                </div>
            </td>
            <td>${(h.groups || []).join(', ') || '—'}</td>
            ${
                admin
                    ? html`<td class="actions">
                          <button
                              type="button"
                              data-maintenance=${h.id}
                              @click=${() => this.setHost(h.id, { maintenance: !h.maintenance }, `${h.maintenance ? 'End' : 'Start'} maintenance of ${h.id}`)}
                          >
                              ${h.maintenance ? 'End maintenance' : 'Maintenance'}
                          </button>
                          <form class="inline-form" @submit=${(e) => this.saveLimits(e, h.id)}>
                              <label
                                  >vCPUs
                                  <input
                                      type="number"
                                      name="max_vcpus"
                                      min="0"
                                      value=${h.max_vcpus}
                                      size="4"
                              /></label>
                              <label
                                  >MiB
                                  <input
                                      type="number"
                                      name="max_vm_memory_mib"
                                      min="0"
                                      value=${h.max_vm_memory_mib}
                                      size="6"
                              /></label>
                              <button type="submit" data-limits=${h.id}>Set limits</button>
                          </form>
                      </td>`
                    : nothing
            }
        </tr>`;
    }

    renderGroup(g) {
        const admin = session.isAdmin;
        if (this.editing === g.name)
            return html`<tr data-group=${g.name}>
                <td colspan="5">
                    <form class="inline-form" @submit=${(e) => this.editGroup(e, g.name)}>
                        <strong>${g.name}</strong>
                        <input
                            name="description"
                            .value=${g.description}
                            aria-label="Description"
                        />
                        ${this.hostChecks(g.hosts)}
                        <button type="submit" id="group-save">Save</button>
                        <button type="button" @click=${() => (this.editing = '')}>Cancel</button>
                    </form>
                </td>
            </tr>`;
        return html`<tr data-group=${g.name}>
            <td><strong>${g.name}</strong></td>
            <td>${g.description}</td>
            <td>${g.hosts.join(', ') || '—'}</td>
            <td>${g.projects.join(', ') || '—'}</td>
            ${
                admin
                    ? html`<td class="actions">
                          <button
                              type="button"
                              data-edit-group=${g.name}
                              @click=${() => (this.editing = g.name)}
                          >
                              Edit
                          </button>
                          <button
                              type="button"
                              data-delete-group=${g.name}
                              @click=${() => this.deleteGroup(g.name)}
                          >
                              Delete
                          </button>
                      </td>`
                    : nothing
            }
        </tr>`;
    }

    render() {
        const admin = session.isAdmin;
        return html`<header class="bar sub"><h1>Hosts</h1></header>
            <main>
                <table class="grid" id="host-table">
                    <thead>
                        <tr>
                            <th>Host</th>
                            <th>State</th>
                            <th>Capacity</th>
                            <th>Load</th>
                            <th>VMs</th>
                            <th>Groups</th>
                            ${admin ? html`<th>Administration</th>` : nothing}
                        </tr>
                    </thead>
                    <tbody>
                        ${this.hosts.map((h) => this.renderHost(h))}
                    </tbody>
                </table>
                <h2>Host groups</h2>
                <table class="grid" id="group-table">
                    <thead>
                        <tr>
                            <th>Group</th>
                            <th>Description</th>
                            <th>Hosts</th>
                            <th>Projects</th>
                            ${admin ? html`<th></th>` : nothing}
                        </tr>
                    </thead>
                    <tbody>
                        ${this.groups.map((g) => this.renderGroup(g))}
                    </tbody>
                </table>
                ${this.groups.length ? nothing : html`<p class="empty">No host groups.</p>`}
                ${
                    admin
                        ? html`<form
                              class="inline-form"
                              id="group-form"
                              @submit=${(e) => this.createGroup(e)}
                          >
                              <label for="group-name">New group</label>
                              <input
                                  id="group-name"
                                  name="name"
                                  required
                                  placeholder="name"
                                  autocomplete="off"
                              />
                              <input
                                  name="description"
                                  placeholder="description"
                                  aria-label="Description"
                              />
                              ${this.hostChecks()}
                              <button type="submit" id="group-create">Create group</button>
                          </form>`
                        : nothing
                }
            </main>`;
    }
}
customElements.define('vg-hosts', VgHosts);
