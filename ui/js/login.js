// Login page: POST /api/v1/login; the server answers with the vg_session cookie.

import { httpCall } from './api.js';
import { h, replace } from './dom.js';

const MESSAGES = {
    unauthorized: 'Wrong user name or password.',
    forbidden: 'This account is frozen.',
    rate_limited: 'Too many attempts. Wait a minute and try again.',
    unavailable: 'The gateway cannot be reached right now.',
};

export function renderLogin(root, { onLogin, reason }) {
    document.title = 'Log in · vmgate';
    const user = h('input', {
        id: 'login-user',
        name: 'user',
        autocomplete: 'username',
        autocapitalize: 'off',
        spellcheck: 'false',
        required: true,
    });
    const password = h('input', {
        id: 'login-password',
        name: 'password',
        type: 'password',
        autocomplete: 'current-password',
        required: true,
    });
    const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' }, reason || '');
    const submit = h('button', { type: 'submit', id: 'login-submit' }, 'Log in');

    const form = h(
        'form',
        { class: 'login', id: 'login-form', novalidate: true },
        h('h1', {}, 'vmgate'),
        h('label', { for: 'login-user' }, 'User'),
        user,
        h('label', { for: 'login-password' }, 'Password'),
        password,
        submit,
        error,
    );

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        if (!user.value || !password.value) {
            error.textContent = 'Enter a user name and a password.';
            (user.value ? password : user).focus();
            return;
        }
        submit.disabled = true;
        error.textContent = '';
        try {
            const result = await httpCall('login', { user: user.value, password: password.value });
            onLogin({ user: result.user, role: result.role });
        } catch (err) {
            error.textContent = MESSAGES[err.code] || `Login failed: ${err.message}`;
            password.value = '';
            password.focus();
        } finally {
            submit.disabled = false;
        }
    });

    replace(root, h('main', { class: 'login-page' }, form));
    user.focus();
    return () => {};
}
