// Login page: POST /api/v1/login; the server answers with the vg_session cookie.

import { httpCall } from '../lib/api.js';
import { VgElement, html } from '../lib/ui.js';

const MESSAGES = {
    unauthorized: 'Wrong user name or password.',
    forbidden: 'This account is frozen.',
    rate_limited: 'Too many attempts. Wait a minute and try again.',
    unavailable: 'The gateway cannot be reached right now.',
};

class VgLogin extends VgElement {
    static properties = { error: { state: true }, busy: { state: true } };

    constructor() {
        super();
        this.error = '';
        this.busy = false;
        this.onLogin = () => {};
    }

    firstUpdated() {
        document.title = 'Log in · vmgate';
        this.querySelector('#login-user').focus();
    }

    async submit(ev) {
        ev.preventDefault();
        const user = this.querySelector('#login-user');
        const password = this.querySelector('#login-password');
        if (!user.value || !password.value) {
            this.error = 'Enter a user name and a password.';
            (user.value ? password : user).focus();
            return;
        }
        this.busy = true;
        this.error = '';
        try {
            const result = await httpCall('login', { user: user.value, password: password.value });
            this.onLogin({ user: result.user, role: result.role });
        } catch (err) {
            this.error = MESSAGES[err.code] || `Login failed: ${err.message}`;
            password.value = '';
            password.focus();
        } finally {
            this.busy = false;
        }
    }

    render() {
        return html`<main class="login-page">
            <form class="login" id="login-form" novalidate @submit=${(e) => this.submit(e)}>
                <h1>vmgate</h1>
                <label for="login-user">User</label>
                <input
                    id="login-user"
                    name="user"
                    autocomplete="username"
                    autocapitalize="off"
                    spellcheck="false"
                    required
                />
                <label for="login-password">Password</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit" id="login-submit" ?disabled=${this.busy}>Log in</button>
                <p class="form-error" id="login-error" role="alert">${this.error}</p>
            </form>
        </main>`;
    }
}
customElements.define('vg-login', VgLogin);
