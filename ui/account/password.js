// The signed-in user's own password (#/account): user.password with the current one. The
// session that made the change stays.

import { html } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, fieldOf, toast } from '../lib/ui.js';

class VgAccount extends VgElement {
    static properties = { errors: { state: true } };

    constructor() {
        super();
        this.errors = {};
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Password · vmgate';
    }

    async submit(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        this.errors = {};
        if (f.new_password.value !== f.repeat.value) {
            this.errors = { repeat: 'The two new passwords differ.' };
            f.repeat.focus();
            return;
        }
        try {
            await api.call('user.password', {
                old_password: f.old_password.value,
                new_password: f.new_password.value,
            });
            ev.target.reset();
            toast('Password changed', 'ok');
        } catch (err) {
            // A wrong current password is `forbidden`; a bad new one names "new_password".
            const field =
                err.code === 'forbidden' ? 'old_password' : fieldOf(err.message) || 'new_password';
            this.errors = { [field]: err.message };
            f[field]?.focus();
        }
    }

    field(name, label, autocomplete) {
        const err = this.errors[name] || '';
        return html`<label for="pw-${name}">${label}</label>
            <div class="field">
                <input
                    type="password"
                    id="pw-${name}"
                    name=${name}
                    autocomplete=${autocomplete}
                    aria-invalid=${err ? 'true' : 'false'}
                    aria-describedby="pw-${name}-error"
                />
                <span class="field-error" id="pw-${name}-error" role="alert">${err}</span>
            </div>`;
    }

    render() {
        return html`<header class="bar sub"><h1>Password of ${session.me.user}</h1></header>
            <main>
                <form class="form" id="password-form" novalidate @submit=${(e) => this.submit(e)}>
                    ${this.field('old_password', 'Current password', 'current-password')}
                    ${this.field('new_password', 'New password (8 or more characters)', 'new-password')}
                    ${this.field('repeat', 'New password again', 'new-password')}
                    <div class="actions">
                        <button type="submit" class="primary" id="password-submit">
                            Change password
                        </button>
                    </div>
                </form>
            </main>`;
    }
}
customElements.define('vg-account', VgAccount);
