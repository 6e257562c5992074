// Networks (#/networks, #/networks/<name>): the list with a create form (kind, host or host group,
// bridge or parent interface, IPv4 subnet and DHCP range), and a network's page with its state
// on each host, its fixed addresses, the DHCP leases table, start / stop and delete.
// Administrators change networks; everyone sees them.

import { html, nothing } from 'lit';
import { api, LONG_CALL_MS } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, fieldOf, formatTime, toast } from '../lib/ui.js';

const KINDS = ['isolated', 'nat', 'routed', 'bridge', 'ovs', 'macvtap'];
const OWN_BRIDGE = ['isolated', 'nat', 'routed'];

// The spec the form describes; empty fields are left out.
export function specFromForm(f) {
    const spec = { name: f.name.value.trim(), kind: f.kind.value };
    const val = (k) => f[k]?.value.trim();
    if (val('bridge') && spec.kind !== 'macvtap') spec.bridge = val('bridge');
    if (val('dev') && ['nat', 'routed', 'macvtap'].includes(spec.kind)) spec.dev = val('dev');
    if (spec.kind === 'macvtap' && val('mode')) spec.mode = val('mode');
    if (OWN_BRIDGE.includes(spec.kind) && val('address')) {
        spec.ipv4 = { address: val('address'), prefix: Number(val('prefix') || 24) };
        if (val('dhcp_start') || val('dhcp_end'))
            spec.ipv4.dhcp = { start: val('dhcp_start'), end: val('dhcp_end') };
    }
    return spec;
}

class VgNetworks extends VgElement {
    static properties = {
        args: { attribute: false },
        networks: { state: true },
        hosts: { state: true },
        groups: { state: true },
        net: { state: true },
        leases: { state: true },
        kind: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.networks = [];
        this.hosts = [];
        this.groups = [];
        this.net = null;
        this.leases = null;
        this.kind = 'isolated';
        this.error = '';
    }

    get name() {
        return this.args[0];
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = `${this.name || 'Networks'} · vmgate`;
        this.reload();
    }

    async reload() {
        if (!this.name) {
            const [n, h, g] = await Promise.all([
                this.call('network.list', {}, 'Networks'),
                this.call('host.list', {}, 'Hosts'),
                this.call('hostgroup.list', {}, 'Host groups'),
            ]);
            if (n) this.networks = n.networks;
            if (h) this.hosts = h.hosts;
            if (g) this.groups = g.groups;
            return;
        }
        this.net = await this.call('network.get', { name: this.name }, this.name);
        if (this.net && session.isAdmin) {
            const l = await this.call('network.leases', { name: this.name }, 'Leases');
            this.leases = l ? l.leases : null;
        }
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const [where, target] = f.where.value.split(':', 2);
        const params = { spec: specFromForm(f), [where]: target };
        this.error = '';
        // The refusal shows under the form, at the field it names.
        try {
            const res = await api.call('network.create', params, { timeout: LONG_CALL_MS });
            toast(`Create network ${res.name}: done`, 'ok');
            location.hash = `#/networks/${encodeURIComponent(res.name)}`;
        } catch (err) {
            this.error = err.message;
        }
    }

    async state(method, label) {
        const res = await this.op(`${label} ${this.name}`, method, { name: this.name });
        if (res) this.net = res;
    }

    async deleteNet() {
        const ok = await VgConfirm.ask({ text: `Delete network ${this.name}?`, typed: this.name });
        if (ok && (await this.op(`Delete ${this.name}`, 'network.delete', { name: this.name })))
            location.hash = '#/networks';
    }

    renderForm() {
        const k = this.kind;
        return html`<h2>New network</h2>
            <form class="stack-form" id="net-form" @submit=${(e) => this.create(e)}>
                <label>Name <input name="name" id="net-name" required autocomplete="off" /></label>
                <label
                    >Kind
                    <select
                        name="kind"
                        id="net-kind"
                        @change=${(e) => (this.kind = e.target.value)}
                    >
                        ${KINDS.map((x) => html`<option ?selected=${x === k}>${x}</option>`)}
                    </select></label
                >
                <label
                    >On
                    <select name="where" id="net-where">
                        ${this.hosts.map((h) => html`<option value="host:${h.id}">host ${h.id}</option>`)}
                        ${this.groups.map(
                            (g) => html`<option value="group:${g.name}">group ${g.name}</option>`,
                        )}
                    </select></label
                >
                ${k === 'macvtap'
                    ? html`<label>Parent interface <input name="dev" id="net-dev" required /></label>
                          <label
                              >Mode
                              <select name="mode">
                                  ${['bridge', 'vepa', 'private', 'passthrough'].map(
                                      (m) => html`<option>${m}</option>`,
                                  )}
                              </select></label
                          >`
                    : html`<label
                          >Bridge
                          <input
                              name="bridge"
                              id="net-bridge"
                              ?required=${!OWN_BRIDGE.includes(k)}
                              placeholder=${OWN_BRIDGE.includes(k) ? 'libvirt picks one' : ''}
                      /></label>`}
                ${OWN_BRIDGE.includes(k)
                    ? html`<fieldset>
                          <legend>IPv4 subnet</legend>
                          <input name="address" id="net-address" placeholder="10.1.0.1" aria-label="Address" />
                          /
                          <input name="prefix" id="net-prefix" type="number" min="8" max="30" value="24" aria-label="Prefix" />
                          DHCP
                          <input name="dhcp_start" id="net-dhcp-start" placeholder="10.1.0.100" aria-label="DHCP start" />
                          –
                          <input name="dhcp_end" id="net-dhcp-end" placeholder="10.1.0.199" aria-label="DHCP end" />
                      </fieldset>`
                    : nothing}
                ${this.error
                    ? html`<p class="form-error" role="alert" data-field=${fieldOf(this.error)}>
                          ${this.error}
                      </p>`
                    : nothing}
                <button type="submit" id="net-create">Create network</button>
            </form>`;
    }

    renderList() {
        return html`<header class="bar sub"><h1>Networks</h1></header>
            <main>
                <table class="grid" id="net-table">
                    <thead>
                        <tr>
                            <th>Network</th>
                            <th>Kind</th>
                            <th>On</th>
                            <th>Subnet</th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.networks.map(
                            (n) => html`<tr data-network=${n.name}>
                                <td><a href="#/networks/${encodeURIComponent(n.name)}">${n.name}</a></td>
                                <td>${n.kind}</td>
                                <td>${n.host ? `host ${n.host}` : `group ${n.group}`}</td>
                                <td>
                                    ${n.spec.ipv4 ? `${n.spec.ipv4.address}/${n.spec.ipv4.prefix}` : '—'}
                                </td>
                            </tr>`,
                        )}
                    </tbody>
                </table>
                ${this.networks.length ? nothing : html`<p class="empty">No networks.</p>`}
                ${session.isAdmin ? this.renderForm() : nothing}
            </main>`;
    }

    renderNet() {
        const n = this.net;
        if (!n) return html`<p class="loading">Loading…</p>`;
        const admin = session.isAdmin;
        const dhcp = n.spec.ipv4?.dhcp;
        return html`<header class="bar sub">
                <a href="#/networks" class="back">← Networks</a>
                <h1>${n.name}</h1>
                <span class="dim">${n.kind}</span>
                <span class="spacer"></span>
                ${admin
                    ? html`<button type="button" id="net-start" @click=${() => this.state('network.start', 'Start')}>
                              Start
                          </button>
                          <button type="button" id="net-stop" @click=${() => this.state('network.stop', 'Stop')}>
                              Stop
                          </button>
                          <button type="button" class="danger" id="net-delete" @click=${() => this.deleteNet()}>
                              Delete
                          </button>`
                    : nothing}
            </header>
            <main>
                <dl class="facts" id="net-facts">
                    <dt>Subnet</dt>
                    <dd>${n.spec.ipv4 ? `${n.spec.ipv4.address}/${n.spec.ipv4.prefix}` : '—'}</dd>
                    <dt>DHCP range</dt>
                    <dd id="net-range">${dhcp ? `${dhcp.start} – ${dhcp.end}` : '—'}</dd>
                    <dt>Created</dt>
                    <dd>${formatTime(n.created_ms)} by ${n.created_by}</dd>
                </dl>
                <h2>Hosts</h2>
                <table class="grid" id="net-hosts">
                    <thead>
                        <tr><th>Host</th><th>State</th><th>Bridge</th></tr>
                    </thead>
                    <tbody>
                        ${(n.state || []).map(
                            (s) => html`<tr data-host=${s.host}>
                                <td>${s.host}</td>
                                <td>${!s.defined ? 'not defined' : s.active ? 'active' : 'stopped'}</td>
                                <td>${s.bridge || '—'}</td>
                            </tr>`,
                        )}
                    </tbody>
                </table>
                <h2>Fixed addresses</h2>
                <table class="grid" id="net-addresses">
                    <tbody>
                        ${n.addresses.map(
                            (a) => html`<tr><td>${a.ip}</td><td>${a.vm}</td><td>${a.mac}</td></tr>`,
                        )}
                    </tbody>
                </table>
                ${this.leases
                    ? html`<h2>Leases</h2>
                          <table class="grid" id="net-leases">
                              <thead>
                                  <tr><th>Address</th><th>MAC</th><th>Name</th><th>Host</th><th>Expires</th></tr>
                              </thead>
                              <tbody>
                                  ${this.leases.map(
                                      (l) => html`<tr>
                                          <td>${l.ip}</td>
                                          <td>${l.mac}</td>
                                          <td>${l.hostname || '—'}</td>
                                          <td>${l.host}</td>
                                          <td>${formatTime(l.expiry_s * 1000)}</td>
                                      </tr>`,
                                  )}
                              </tbody>
                          </table>
                          ${this.leases.length ? nothing : html`<p class="empty">No leases.</p>`}`
                    : nothing}
            </main>`;
    }

    render() {
        return this.name ? this.renderNet() : this.renderList();
    }
}
customElements.define('vg-networks', VgNetworks);
