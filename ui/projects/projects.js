// Projects (#/projects, #/projects/<project>): the list with quota use, and a project's page —
// quotas with usage bars, members and roles, the host groups / pools / networks it may use,
// activate / deactivate and delete. Changing projects is for administrators (project.*).
// Live from project.member, vm.created / vm.deleted and env.changed.

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, usageBar, formatMib, fieldOf } from '../lib/ui.js';

export const QUOTAS = ['instances', 'vcpus', 'memory_mib', 'disk_mib', 'images', 'snapshots'];
const FMT = { memory_mib: formatMib, disk_mib: formatMib };
const RELOAD_EVENTS = ['project.member', 'vm.created', 'vm.deleted', 'vm.adopted', 'env.changed'];
const list = (text) => text.split(/[\s,]+/).filter(Boolean);

// Quota inputs (-1 = unlimited) named quota-<name>.
export function quotaInputs(quota = {}) {
    return QUOTAS.map(
        (q) =>
            html`<label for="quota-${q}">${q}</label>
                <div class="field">
                    <input
                        type="number"
                        id="quota-${q}"
                        name="quota-${q}"
                        min="-1"
                        .value=${String(quota[q] ?? -1)}
                    />
                </div>`,
    );
}
const quotasOf = (form) =>
    Object.fromEntries(QUOTAS.map((q) => [q, Number(form.elements[`quota-${q}`].value)]));

class VgProjects extends VgElement {
    static properties = {
        args: { attribute: false },
        projects: { state: true },
        project: { state: true },
        users: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.projects = [];
        this.project = null;
        this.users = [];
        this.error = '';
    }

    get name() {
        return this.args[0];
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = `${this.name || 'Projects'} · vmgate`;
        this.listen(RELOAD_EVENTS);
        this.reload();
    }

    async reload() {
        if (!this.name) {
            const res = await this.call('project.list', {}, 'Projects');
            if (res) this.projects = res.projects;
            return;
        }
        try {
            this.project = await api.call('project.get', { project: this.name });
            this.error = '';
        } catch (err) {
            this.error = err.message;
        }
        if (session.isAdmin && !this.users.length) {
            const res = await this.call('user.list', {}, 'Users');
            if (res) this.users = res.users.map((u) => u.name);
        }
    }

    async create(ev) {
        ev.preventDefault();
        const form = ev.target;
        const params = { name: form.elements.name.value, quotas: quotasOf(form) };
        if (form.elements.description.value) params.description = form.elements.description.value;
        try {
            await api.call('project.create', params);
            this.error = '';
            location.hash = `#/projects/${encodeURIComponent(params.name)}`;
        } catch (err) {
            this.error = err.message;
            const f = fieldOf(err.message);
            form.elements[f === 'name' ? 'name' : 'description']?.focus();
        }
    }

    async edit(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const res = await this.op(`Save ${this.name}`, 'project.edit', {
            name: this.name,
            description: f.description.value,
            quotas: quotasOf(ev.target),
            hostgroups: list(f.hostgroups.value),
            pools: list(f.pools.value),
            networks: list(f.networks.value),
        });
        if (res) this.reload();
    }

    async setMember(user, role) {
        const res = await this.op(`${user} is ${role} of ${this.name}`, 'project.member.set', {
            project: this.name,
            user,
            role,
        });
        if (res) this.reload();
    }

    async removeMember(user) {
        if (!(await VgConfirm.ask({ text: `Remove ${user} from ${this.name}?`, action: 'Remove' })))
            return;
        const res = await this.op(`Remove ${user} from ${this.name}`, 'project.member.remove', {
            project: this.name,
            user,
        });
        if (res) this.reload();
    }

    async setActive(on) {
        const method = on ? 'project.activate' : 'project.deactivate';
        if (
            await this.op(`${on ? 'Activate' : 'Deactivate'} ${this.name}`, method, {
                name: this.name,
            })
        )
            this.reload();
    }

    async deleteProject() {
        let password = '';
        const ok = await VgConfirm.ask({
            text: `Delete project ${this.name}? It must have no VMs and no environments.`,
            typed: this.name,
            extra: html`<label
                >Your password (re-authentication)
                <input
                    type="password"
                    id="reauth-password"
                    autocomplete="current-password"
                    @input=${(e) => (password = e.target.value)}
            /></label>`,
        });
        if (!ok) return;
        const res = await this.op(`Delete ${this.name}`, 'project.delete', {
            name: this.name,
            admin_password: password,
        });
        if (res) location.hash = '#/projects';
    }

    renderList() {
        const admin = session.isAdmin;
        return html`<header class="bar sub"><h1>Projects</h1></header>
            <main>
                <table class="grid" id="project-table">
                    <thead>
                        <tr>
                            <th>Project</th>
                            <th>State</th>
                            <th>Your role</th>
                            <th>VMs</th>
                            <th>Members</th>
                            <th>Usage</th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.projects.map(
                            (p) =>
                                html`<tr data-project=${p.name}>
                                    <td>
                                        <a
                                            href="#/projects/${encodeURIComponent(p.name)}"
                                            class="project-link"
                                            >${p.name}</a
                                        >
                                        <div class="dim">${p.description}</div>
                                    </td>
                                    <td>
                                        ${p.active ? 'active' : html`<span class="count-bad">inactive</span>`}
                                    </td>
                                    <td>${p.role}</td>
                                    <td>${p.vms.length}</td>
                                    <td>${Object.keys(p.members).length}</td>
                                    <td>
                                        ${p.usage.instances} of
                                        ${p.quota.instances === -1 ? '∞' : p.quota.instances} VMs
                                    </td>
                                </tr>`,
                        )}
                    </tbody>
                </table>
                ${this.projects.length ? nothing : html`<p class="empty">No projects.</p>`}
                ${
                    admin
                        ? html`<h2>New project</h2>
                              <form class="form" id="project-form" @submit=${(e) => this.create(e)}>
                                  <label for="project-name">Name</label>
                                  <div class="field">
                                      <input
                                          id="project-name"
                                          name="name"
                                          required
                                          autocomplete="off"
                                      />
                                  </div>
                                  <label for="project-desc">Description</label>
                                  <div class="field">
                                      <input id="project-desc" name="description" />
                                  </div>
                                  ${quotaInputs()}
                                  <p class="form-error full" id="project-error" role="alert">
                                      ${this.error}
                                  </p>
                                  <div class="actions">
                                      <button type="submit" class="primary" id="project-create">
                                          Create project
                                      </button>
                                  </div>
                              </form>`
                        : nothing
                }
            </main>`;
    }

    renderMembers(p, admin) {
        const members = Object.entries(p.members).sort(([a], [b]) => a.localeCompare(b));
        const others = this.users.filter((u) => !(u in p.members));
        return html`<div class="card">
            <h2>Members</h2>
            <table class="grid" id="member-table">
                <tbody>
                    ${members.map(
                        ([user, role]) =>
                            html`<tr data-member=${user}>
                                <td>${user}</td>
                                <td>
                                    ${
                                        admin
                                            ? html`<select
                                                      aria-label="Role of ${user}"
                                                      @change=${(e) => this.setMember(user, e.target.value)}
                                                  >
                                                      ${['operator', 'viewer'].map((r) => html`<option ?selected=${r === role}>${r}</option>`)}
                                                  </select>
                                                  <button
                                                      type="button"
                                                      data-remove=${user}
                                                      @click=${() => this.removeMember(user)}
                                                  >
                                                      Remove
                                                  </button>`
                                            : role
                                    }
                                </td>
                            </tr>`,
                    )}
                </tbody>
            </table>
            ${members.length ? nothing : html`<p class="empty">No members.</p>`}
            ${
                admin
                    ? html`<form
                          class="inline-form"
                          id="member-form"
                          @submit=${(e) => {
                              e.preventDefault();
                              this.setMember(
                                  e.target.elements.user.value,
                                  e.target.elements.role.value,
                              );
                          }}
                      >
                          <select name="user" id="member-user" aria-label="User">
                              ${others.map((u) => html`<option>${u}</option>`)}
                          </select>
                          <select name="role" id="member-role" aria-label="Role">
                              <option>operator</option>
                              <option>viewer</option>
                          </select>
                          <button type="submit" id="member-add" ?disabled=${!others.length}>
                              Add member
                          </button>
                      </form>`
                    : nothing
            }
        </div>`;
    }

    renderProject() {
        if (this.error && !this.project)
            return html`<main>
                <p class="form-error" role="alert">${this.name}: ${this.error}</p>
                <a href="#/projects">Projects</a>
            </main>`;
        const p = this.project;
        if (!p) return html`<p class="loading">Loading…</p>`;
        const admin = session.isAdmin;
        return html`<header class="bar sub">
                <a href="#/projects" class="back">← Projects</a>
                <h1>${p.name}</h1>
                <span class=${p.active ? 'count-ok' : 'count-bad'} id="project-state"
                    >${p.active ? 'active' : 'inactive'}</span
                >
                <span class="dim">your role: ${p.role}</span>
                <span class="spacer"></span>
                ${session.can('operator', p.name) ? html`<a class="button" href="#/vms/new?project=${encodeURIComponent(p.name)}">New VM</a>` : nothing}
                ${
                    admin
                        ? html`<button
                                  type="button"
                                  id="project-toggle"
                                  @click=${() => this.setActive(!p.active)}
                              >
                                  ${p.active ? 'Deactivate' : 'Activate'}
                              </button>
                              <button
                                  type="button"
                                  class="danger"
                                  id="project-delete"
                                  @click=${() => this.deleteProject()}
                              >
                                  Delete…
                              </button>`
                        : nothing
                }
            </header>
            <main class="cards">
                <div class="card" id="quota-usage">
                    <h2>Quotas</h2>
                    ${QUOTAS.map((q) => usageBar(q, p.usage[q], p.quota[q], FMT[q]))}
                </div>
                ${this.renderMembers(p, admin)}
                <div class="card">
                    <h2>VMs</h2>
                    ${p.vms.length ? p.vms.map((vm) => html`<a href="#/vm/${encodeURIComponent(vm)}">${vm}</a> `) : html`<p class="empty">No VMs.</p>`}
                </div>
                <div class="card">
                    <h2>${admin ? 'Settings' : 'May use'}</h2>
                    <form class="form" id="project-edit" @submit=${(e) => this.edit(e)}>
                        <fieldset class="full" ?disabled=${!admin}>
                            <label for="pe-desc">Description</label>
                            <div class="field">
                                <input id="pe-desc" name="description" .value=${p.description} />
                            </div>
                            <label for="pe-groups">Host groups</label>
                            <div class="field">
                                <input
                                    id="pe-groups"
                                    name="hostgroups"
                                    .value=${p.hostgroups.join(', ')}
                                    placeholder="all"
                                />
                            </div>
                            <label for="pe-pools">Storage pools</label>
                            <div class="field">
                                <input
                                    id="pe-pools"
                                    name="pools"
                                    .value=${p.pools.join(', ')}
                                    placeholder="all"
                                />
                            </div>
                            <label for="pe-nets">Networks</label>
                            <div class="field">
                                <input
                                    id="pe-nets"
                                    name="networks"
                                    .value=${p.networks.join(', ')}
                                    placeholder="all"
                                />
                            </div>
                            ${quotaInputs(p.quota)}
                        </fieldset>
                        ${admin ? html`<div class="actions"><button type="submit" class="primary" id="project-save">Save</button></div>` : nothing}
                    </form>
                </div>
            </main>`;
    }

    render() {
        return this.name ? this.renderProject() : this.renderList();
    }
}
customElements.define('vg-projects', VgProjects);
