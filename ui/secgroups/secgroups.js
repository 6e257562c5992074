// Security groups (#/secgroups[/<project>]): a project's groups with their rules and member NICs,
// a form to create a group with its first rules, rule editing and delete. Operators of the
// project change them; the change reaches running VMs at once (docs/networks.md).

import { html, nothing } from 'lit';
import { api, LONG_CALL_MS } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, fieldOf, toast } from '../lib/ui.js';

// "tcp 8080-8081 from web" / "any from 10.0.0.0/8" for a rule.
export function ruleText(r) {
    const ports = r.port_min ? ` ${r.port_min}${r.port_max && r.port_max !== r.port_min ? `-${r.port_max}` : ''}` : '';
    const remote = r.remote_group ? `group ${r.remote_group}` : r.remote_cidr || 'anywhere';
    return `${r.direction} ${r.protocol || 'any'}${ports} ${r.direction === 'egress' ? 'to' : 'from'} ${remote}`;
}

// One rule from the form's fields; empty fields are left out.
export function ruleFromForm(f) {
    const r = { direction: f.direction.value };
    if (f.protocol.value !== 'any') r.protocol = f.protocol.value;
    if (f.port_min.value) r.port_min = Number(f.port_min.value);
    if (f.port_max.value) r.port_max = Number(f.port_max.value);
    const remote = f.remote.value.trim();
    if (remote && /^[0-9a-fA-F.:]+(\/\d+)?$/.test(remote)) r.remote_cidr = remote;
    else if (remote) r.remote_group = remote;
    return r;
}

class VgSecgroups extends VgElement {
    static properties = {
        args: { attribute: false },
        projects: { state: true },
        groups: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.projects = [];
        this.groups = [];
        this.error = '';
    }

    get project() {
        return this.args[0] || this.projects[0] || '';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Security groups · vmgate';
        this.reload();
    }

    async reload() {
        const p = await this.call('project.list', {}, 'Projects');
        if (p) this.projects = p.projects.filter((x) => x.active).map((x) => x.name);
        if (!this.project) return;
        const g = await this.call('secgroup.list', { project: this.project }, 'Security groups');
        if (g) this.groups = g.groups;
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = { project: this.project, name: f.name.value.trim(), rules: [] };
        if (f.description.value) params.description = f.description.value;
        if (f.direction.value) params.rules.push(ruleFromForm(f));
        this.error = '';
        try {
            await api.call('secgroup.create', params, { timeout: LONG_CALL_MS });
            toast(`Create security group ${params.name}: done`, 'ok');
            ev.target.reset();
            this.reload();
        } catch (err) {
            this.error = err.message;
        }
    }

    async addRule(ev, g) {
        ev.preventDefault();
        const rules = [...g.rules, ruleFromForm(ev.target.elements)];
        const res = await this.op(`Rules of ${g.name}`, 'secgroup.edit', {
            project: this.project,
            name: g.name,
            rules,
        });
        if (res) this.reload();
    }

    async dropRule(g, i) {
        const rules = g.rules.filter((_, j) => j !== i);
        if (await this.op(`Rules of ${g.name}`, 'secgroup.edit', { project: this.project, name: g.name, rules }))
            this.reload();
    }

    async deleteGroup(g) {
        const ok = await VgConfirm.ask({ text: `Delete security group ${g.name}?`, typed: g.name });
        if (ok && (await this.op(`Delete ${g.name}`, 'secgroup.delete', { project: this.project, name: g.name })))
            this.reload();
    }

    ruleFields() {
        return html`<select name="direction" aria-label="Direction">
                <option>ingress</option>
                <option>egress</option>
            </select>
            <select name="protocol" aria-label="Protocol">
                ${['tcp', 'udp', 'icmp', 'any'].map((p) => html`<option>${p}</option>`)}
            </select>
            <input name="port_min" type="number" min="1" max="65535" placeholder="port" aria-label="Port" />
            <input name="port_max" type="number" min="1" max="65535" placeholder="to port" aria-label="To port" />
            <input name="remote" placeholder="CIDR or group" aria-label="Remote" />`;
    }

    renderGroup(g, op) {
        return html`<section class="card" data-secgroup=${g.name}>
            <h2>${g.name}</h2>
            <p class="dim">${g.description}</p>
            <ul class="rules">
                ${g.rules.map(
                    (r, i) => html`<li class="rule">
                        ${ruleText(r)}
                        ${op
                            ? html`<button type="button" class="link" @click=${() => this.dropRule(g, i)}>remove</button>`
                            : nothing}
                    </li>`,
                )}
            </ul>
            ${g.rules.length ? nothing : html`<p class="dim">No rules: nothing reaches its members.</p>`}
            <p class="dim">NICs: ${g.nics.map((n) => `${n.vm} (${n.ip || n.mac})`).join(', ') || 'none'}</p>
            ${op
                ? html`<form class="inline-form add-rule" @submit=${(e) => this.addRule(e, g)}>
                          ${this.ruleFields()}
                          <button type="submit">Add rule</button>
                          <button type="button" class="danger" @click=${() => this.deleteGroup(g)}>Delete group</button>
                      </form>`
                : nothing}
        </section>`;
    }

    render() {
        const op = this.project && session.can('operator', this.project);
        return html`<header class="bar sub">
                <h1>Security groups</h1>
                <select
                    id="sg-project"
                    aria-label="Project"
                    @change=${(e) => (location.hash = `#/secgroups/${encodeURIComponent(e.target.value)}`)}
                >
                    ${this.projects.map((p) => html`<option ?selected=${p === this.project}>${p}</option>`)}
                </select>
            </header>
            <main>
                <div class="cards" id="sg-list">${this.groups.map((g) => this.renderGroup(g, op))}</div>
                ${this.groups.length ? nothing : html`<p class="empty">No security groups.</p>`}
                ${op
                    ? html`<h2>New security group</h2>
                          <form class="inline-form" id="sg-form" @submit=${(e) => this.create(e)}>
                              <input name="name" id="sg-name" required placeholder="name" aria-label="Name" autocomplete="off" />
                              <input name="description" placeholder="description" aria-label="Description" />
                              ${this.ruleFields()}
                              <button type="submit" id="sg-create">Create group</button>
                          </form>
                          ${this.error
                              ? html`<p class="form-error" role="alert" data-field=${fieldOf(this.error)}>${this.error}</p>`
                              : nothing}`
                    : nothing}
            </main>`;
    }
}
customElements.define('vg-secgroups', VgSecgroups);
