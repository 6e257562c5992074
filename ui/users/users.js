// Users (#/users, administrators): the list with roles and memberships, create, freeze and
// unfreeze, a new password or role (re-authenticated with the administrator's own password),
// delete (typed confirmation and re-authentication). Live from user.frozen and project.member.

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, formatTime, fieldOf } from '../lib/ui.js';

const ROLES = ['admin', 'operator', 'viewer'];

// The administrator's own password, asked in the confirmation dialog of a sensitive action.
function reauthField(onInput) {
    return html`<label
        >Your password (re-authentication)
        <input
            type="password"
            id="reauth-password"
            autocomplete="current-password"
            @input=${(e) => onInput(e.target.value)}
    /></label>`;
}

class VgUsers extends VgElement {
    static properties = {
        users: { state: true },
        errors: { state: true },
    };

    constructor() {
        super();
        this.users = [];
        this.errors = {};
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Users · vmgate';
        this.listen(['user.frozen', 'project.member']);
        this.reload();
    }

    async reload() {
        const res = await this.call('user.list', {}, 'Users');
        if (res) this.users = res.users;
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = { name: f.name.value, password: f.password.value, role: f.role.value };
        if (f.description.value) params.description = f.description.value;
        this.errors = {};
        try {
            await api.call('user.create', params);
            ev.target.reset();
            this.reload();
        } catch (err) {
            const field = fieldOf(err.message);
            this.errors = { [f[field] ? field : 'form']: err.message };
            f[field]?.focus();
        }
    }

    async freeze(u) {
        const method = u.frozen ? 'user.unfreeze' : 'user.freeze';
        if (
            await this.op(`${u.frozen ? 'Unfreeze' : 'Freeze'} ${u.name}`, method, { name: u.name })
        )
            this.reload();
    }

    async setPassword(u) {
        let password = '';
        let admin = '';
        const ok = await VgConfirm.ask({
            text: `New password for ${u.name}. Their sessions end.`,
            action: 'Set password',
            extra: html`<label
                    >New password
                    <input
                        type="password"
                        id="new-password"
                        autocomplete="new-password"
                        @input=${(e) => (password = e.target.value)}
                /></label>
                ${reauthField((v) => (admin = v))}`,
        });
        if (!ok) return;
        await this.op(`Password of ${u.name}`, 'user.edit', {
            name: u.name,
            password,
            admin_password: admin,
        });
    }

    async setRole(u, role) {
        let admin = '';
        const ok = await VgConfirm.ask({
            text: `Make ${u.name} ${role === 'admin' ? 'an' : 'a'} ${role}?`,
            action: 'Change role',
            extra: reauthField((v) => (admin = v)),
        });
        if (ok)
            await this.op(`Role of ${u.name}`, 'user.edit', {
                name: u.name,
                role,
                admin_password: admin,
            });
        this.reload();
    }

    async deleteUser(u) {
        let admin = '';
        const ok = await VgConfirm.ask({
            text: `Delete user ${u.name}? Their sessions, consoles and memberships end.`,
            typed: u.name,
            extra: reauthField((v) => (admin = v)),
        });
        if (!ok) return;
        if (
            await this.op(`Delete ${u.name}`, 'user.delete', {
                name: u.name,
                admin_password: admin,
            })
        )
            this.reload();
    }

    err(field) {
        return html`<span class="field-error" id="user-${field}-error" role="alert"
            >${this.errors[field] || ''}</span
        >`;
    }

    render() {
        if (!session.isAdmin)
            return html`<main><p class="empty">Users are managed by administrators.</p></main>`;
        return html`<header class="bar sub"><h1>Users</h1></header>
            <main>
                <table class="grid" id="user-table">
                    <thead>
                        <tr>
                            <th>User</th>
                            <th>Role</th>
                            <th>State</th>
                            <th>Projects</th>
                            <th>Created</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.users.map(
                            (u) =>
                                html`<tr data-user=${u.name}>
                                    <td>
                                        <strong>${u.name}</strong>
                                        <div class="dim">${u.description}</div>
                                    </td>
                                    <td>
                                        <select
                                            aria-label="Role of ${u.name}"
                                            @change=${(e) => this.setRole(u, e.target.value)}
                                        >
                                            ${ROLES.map((r) => html`<option ?selected=${r === u.role}>${r}</option>`)}
                                        </select>
                                    </td>
                                    <td class=${u.frozen ? 'count-bad' : ''}>
                                        ${u.frozen ? 'frozen' : 'active'}
                                    </td>
                                    <td>
                                        ${Object.entries(u.projects).map(([p, r]) => html`<a href="#/projects/${encodeURIComponent(p)}">${p}</a> (${r}) `)}
                                    </td>
                                    <td>${formatTime(u.created_ms)}</td>
                                    <td class="actions">
                                        <button
                                            type="button"
                                            data-freeze=${u.name}
                                            @click=${() => this.freeze(u)}
                                        >
                                            ${u.frozen ? 'Unfreeze' : 'Freeze'}
                                        </button>
                                        <button
                                            type="button"
                                            data-password=${u.name}
                                            @click=${() => this.setPassword(u)}
                                        >
                                            Password…
                                        </button>
                                        <button
                                            type="button"
                                            data-delete=${u.name}
                                            @click=${() => this.deleteUser(u)}
                                        >
                                            Delete…
                                        </button>
                                    </td>
                                </tr>`,
                        )}
                    </tbody>
                </table>
                <h2>New user</h2>
                <form class="form" id="user-form" novalidate @submit=${(e) => this.create(e)}>
                    <label for="user-name">Name</label>
                    <div class="field">
                        <input id="user-name" name="name" autocomplete="off" />${this.err('name')}
                    </div>
                    <label for="user-password">Password</label>
                    <div class="field">
                        <input
                            id="user-password"
                            name="password"
                            type="password"
                            autocomplete="new-password"
                        />${this.err('password')}
                    </div>
                    <label for="user-role">Role</label>
                    <div class="field">
                        <select id="user-role" name="role">
                            ${ROLES.map((r) => html`<option ?selected=${r === 'operator'}>${r}</option>`)}</select
                        >${this.err('role')}
                    </div>
                    <label for="user-desc">Description</label>
                    <div class="field">
                        <input id="user-desc" name="description" />${this.err('description')}
                    </div>
                    ${this.errors.form ? html`<p class="form-error full" role="alert">${this.errors.form}</p>` : nothing}
                    <div class="actions">
                        <button type="submit" class="primary" id="user-create">Create user</button>
                    </div>
                </form>
            </main>`;
    }
}
customElements.define('vg-users', VgUsers);
