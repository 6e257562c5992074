// Environments (#/envs, #/envs/<env>): the list and a create form; an environment's dashboard
// by role with running / reachable / unreachable counts (env.status probes the consoles), its
// VMs, batch start / stop / reboot with each VM's result, membership editing and delete.
// Live from env.changed and vm.state.

import { html, nothing } from 'lit';
import { api, LONG_CALL_MS } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, longOp, stateBadge } from '../lib/ui.js';

const POWER = [
    ['env.start', 'Start all', 'env-start'],
    ['env.stop', 'Stop all', 'env-stop'],
    ['env.reboot', 'Reboot all', 'env-reboot'],
];

class VgEnvs extends VgElement {
    static properties = {
        args: { attribute: false },
        envs: { state: true },
        projects: { state: true },
        env: { state: true },
        status: { state: true },
        results: { state: true },
        projectVms: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.envs = [];
        this.projects = [];
        this.env = null;
        this.status = null;
        this.results = null;
        this.projectVms = [];
        this.error = '';
    }

    get name() {
        return this.args[0];
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = `${this.name || 'Environments'} · vmgate`;
        this.listen(['env.changed', 'vm.created', 'vm.deleted']);
        this.listen(['vm.state'], (d) => {
            if (!this.env || this.env.vms.some((v) => v.vm === d.vm)) this.scheduleReload();
        });
        this.reload().then(() => this.probe());
    }

    async reload() {
        if (!this.name) {
            const [e, p] = await Promise.all([
                this.call('env.list', {}, 'Environments'),
                this.call('project.list', {}, 'Projects'),
            ]);
            if (e) this.envs = e.envs;
            if (p)
                this.projects = p.projects.filter(
                    (x) => x.active && session.can('operator', x.name),
                );
            return;
        }
        try {
            this.env = await api.call('env.get', { env: this.name });
            this.error = '';
        } catch (err) {
            this.error = err.message;
            return;
        }
        if (session.can('operator', this.env.project)) {
            const p = await this.call('project.get', { project: this.env.project }, 'Project');
            if (p) this.projectVms = p.vms;
        }
    }

    async probe() {
        if (!this.name || !this.env) return;
        this.status = await this.call('env.status', { env: this.name }, 'Status');
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = { project: f.project.value, name: f.name.value };
        if (f.description.value) params.description = f.description.value;
        const res = await this.op(`Create environment ${params.name}`, 'env.create', params);
        if (res) location.hash = `#/envs/${encodeURIComponent(res.name)}`;
    }

    async power(method, label) {
        const res = await longOp(
            `${label} of ${this.name}`,
            api.call(method, { env: this.name }, { timeout: LONG_CALL_MS }),
        );
        if (res) this.results = res;
        await this.reload();
        this.probe();
    }

    async setVms(vms) {
        const res = await this.op(`Members of ${this.name}`, 'env.edit', { env: this.name, vms });
        if (res) this.env = res;
    }

    membership() {
        return Object.fromEntries(this.env.vms.map((v) => [v.vm, v.role]));
    }

    async deleteEnv() {
        const ok = await VgConfirm.ask({
            text: `Delete environment ${this.name}? Its VMs stay.`,
            typed: this.name,
        });
        if (ok && (await this.op(`Delete ${this.name}`, 'env.delete', { env: this.name })))
            location.hash = '#/envs';
    }

    renderList() {
        return html`<header class="bar sub"><h1>Environments</h1></header>
            <main>
                <table class="grid" id="env-table">
                    <thead>
                        <tr>
                            <th>Environment</th>
                            <th>Project</th>
                            <th>VMs by role</th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.envs.map(
                            (e) =>
                                html`<tr data-env=${e.name}>
                                    <td>
                                        <a
                                            href="#/envs/${encodeURIComponent(e.name)}"
                                            class="env-link"
                                            >${e.name}</a
                                        >
                                        <div class="dim">${e.description}</div>
                                    </td>
                                    <td>${e.project}</td>
                                    <td>
                                        ${
                                            Object.entries(e.vms)
                                                .map(([vm, role]) => `${vm} (${role})`)
                                                .join(', ') || '—'
                                        }
                                    </td>
                                </tr>`,
                        )}
                    </tbody>
                </table>
                ${this.envs.length ? nothing : html`<p class="empty">No environments.</p>`}
                ${
                    this.projects.length
                        ? html`<h2>New environment</h2>
                              <form
                                  class="inline-form"
                                  id="env-form"
                                  @submit=${(e) => this.create(e)}
                              >
                                  <select name="project" aria-label="Project">
                                      ${this.projects.map((p) => html`<option>${p.name}</option>`)}
                                  </select>
                                  <input
                                      name="name"
                                      id="env-name"
                                      required
                                      placeholder="name"
                                      aria-label="Name"
                                      autocomplete="off"
                                  />
                                  <input
                                      name="description"
                                      placeholder="description"
                                      aria-label="Description"
                                  />
                                  <button type="submit" id="env-create">Create environment</button>
                              </form>`
                        : nothing
                }
            </main>`;
    }

    renderDashboard() {
        const roles = this.status?.roles || {};
        return html`<div class="cards" id="env-dashboard">
            ${Object.entries(roles).map(
                ([role, c]) =>
                    html`<div class="card" data-role=${role}>
                        <h2>${role}</h2>
                        <dl class="facts">
                            <dt>VMs</dt>
                            <dd>${c.total}</dd>
                            <dt>Running</dt>
                            <dd>${c.running}</dd>
                            <dt>Reachable</dt>
                            <dd class="count-ok">${c.reachable}</dd>
                            <dt>Unreachable</dt>
                            <dd class=${c.unreachable ? 'count-bad' : ''}>${c.unreachable}</dd>
                        </dl>
                    </div>`,
            )}
            ${this.status ? nothing : html`<p class="dim">Probing consoles…</p>`}
        </div>`;
    }

    renderEnv() {
        if (this.error && !this.env)
            return html`<main>
                <p class="form-error" role="alert">${this.name}: ${this.error}</p>
                <a href="#/envs">Environments</a>
            </main>`;
        const env = this.env;
        if (!env) return html`<p class="loading">Loading…</p>`;
        const op = session.can('operator', env.project);
        const reach = Object.fromEntries((this.status?.vms || []).map((v) => [v.vm, v.reachable]));
        const result = Object.fromEntries((this.results?.vms || []).map((v) => [v.vm, v]));
        const outside = this.projectVms.filter((vm) => !env.vms.some((v) => v.vm === vm));
        return html`<header class="bar sub">
                <a href="#/envs" class="back">← Environments</a>
                <h1>${env.name}</h1>
                <span class="dim">project ${env.project}</span>
                <span class="spacer"></span>
                <button type="button" id="env-probe" @click=${() => this.probe()}>
                    Probe consoles
                </button>
                ${
                    op
                        ? html`${POWER.map(([m, label, id]) => html`<button type="button" id=${id} @click=${() => this.power(m, label)}>${label}</button>`)}
                              <button
                                  type="button"
                                  class="danger"
                                  id="env-delete"
                                  @click=${() => this.deleteEnv()}
                              >
                                  Delete…
                              </button>`
                        : nothing
                }
            </header>
            <main>
                ${this.renderDashboard()}
                ${this.results ? html`<p id="env-result">${this.results.ok} ok, ${this.results.failed} failed</p>` : nothing}
                <table class="grid" id="env-vms">
                    <thead>
                        <tr>
                            <th>VM</th>
                            <th>Role</th>
                            <th>State</th>
                            <th>Host</th>
                            <th>Console</th>
                            <th>Last action</th>
                            ${op ? html`<th></th>` : nothing}
                        </tr>
                    </thead>
                    <tbody>
                        ${env.vms.map(
                            (v) =>
                                html`<tr data-vm=${v.vm}>
                                    <td><a href="#/vm/${encodeURIComponent(v.vm)}">${v.vm}</a></td>
                                    <td>${v.role}</td>
                                    <td class="state-cell">${stateBadge(v.state)}</td>
                                    <td>${v.host || '—'}</td>
                                    <td>
                                        ${v.vm in reach ? (reach[v.vm] ? 'reachable' : v.state === 'running' ? 'unreachable' : '—') : ''}
                                    </td>
                                    <td>
                                        ${result[v.vm] ? `${result[v.vm].result}${result[v.vm].message ? `: ${result[v.vm].message}` : ''}` : ''}
                                    </td>
                                    ${
                                        op
                                            ? html`<td>
                                                  <button
                                                      type="button"
                                                      data-leave=${v.vm}
                                                      @click=${() => {
                                                          const vms = this.membership();
                                                          delete vms[v.vm];
                                                          this.setVms(vms);
                                                      }}
                                                  >
                                                      Remove
                                                  </button>
                                              </td>`
                                            : nothing
                                    }
                                </tr>`,
                        )}
                    </tbody>
                </table>
                ${
                    op
                        ? html`<form
                              class="inline-form"
                              id="env-add"
                              @submit=${(e) => {
                                  e.preventDefault();
                                  const f = e.target.elements;
                                  this.setVms({ ...this.membership(), [f.vm.value]: f.role.value });
                              }}
                          >
                              <select name="vm" aria-label="VM">
                                  ${outside.map((vm) => html`<option>${vm}</option>`)}
                              </select>
                              <input
                                  name="role"
                                  required
                                  placeholder="role (web, db…)"
                                  aria-label="Role"
                                  autocomplete="off"
                              />
                              <button type="submit" id="env-add-vm" ?disabled=${!outside.length}>
                                  Add VM
                              </button>
                          </form>`
                        : nothing
                }
            </main>`;
    }

    render() {
        return this.name ? this.renderEnv() : this.renderList();
    }
}
customElements.define('vg-envs', VgEnvs);
