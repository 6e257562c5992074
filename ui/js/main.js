// Entry point: hash router and session check. Routes: #/login, #/vms,
// #/console/<vm>[/<dev>][?offset=<n>|ring|end].

import { api, httpCall } from './api.js';
import { h, replace, toast } from './dom.js';
import { renderLogin } from './login.js';
import { renderVmList } from './vmlist.js';

const root = document.getElementById('app');
let me = null; // {user, role} once the session cookie is known to be valid
let teardown = () => {};
let afterLogin = '#/vms';
let routeSeq = 0;

function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
}

function parse(hash) {
    const [path, query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
    const parts = path.split('/').map((p) => {
        try {
            return decodeURIComponent(p);
        } catch {
            return p;
        }
    });
    if (parts[0] === 'login') return { page: 'login' };
    if (parts[0] === 'console' && parts[1])
        return {
            page: 'console',
            vm: parts[1],
            dev: parts[2] || '',
            offset: new URLSearchParams(query).get('offset') || 'ring',
        };
    return { page: 'vms' };
}

async function whoami() {
    try {
        me = await httpCall('whoami', {});
    } catch (err) {
        me = null;
        if (err.code !== 'unauthorized') throw err;
    }
    return me;
}

// The session ended under a page (expired, logged out elsewhere): log in and come back here.
function relogin() {
    afterLogin = location.hash || '#/vms';
    me = null;
    navigate('#/login');
}

async function logout() {
    try {
        await api.call('logout', {});
    } catch (err) {
        toast(`Logout: ${err.message}`, 'warn');
    }
    api.stop();
    me = null;
    navigate('#/login');
}

async function route() {
    teardown();
    teardown = () => {};
    const seq = ++routeSeq;
    const r = parse(location.hash);

    if (r.page === 'login') {
        api.stop();
        me = null;
        teardown = renderLogin(root, {
            onLogin: (who) => {
                me = who;
                const next = afterLogin;
                afterLogin = '#/vms';
                navigate(next);
            },
        });
        return;
    }

    if (!me) {
        try {
            await whoami();
        } catch (err) {
            if (seq !== routeSeq) return;
            showError(`The gateway cannot be reached: ${err.message}`);
            return;
        }
        if (seq !== routeSeq) return;
        if (!me) {
            afterLogin = location.hash && location.hash !== '#/login' ? location.hash : '#/vms';
            navigate('#/login');
            return;
        }
    }
    api.start();

    if (r.page !== 'console') {
        teardown = renderVmList(root, { me, navigate, relogin, logout });
        return;
    }
    // xterm.js comes from /vendor/ (ui/node_modules): loaded only here, so login and the VM
    // list keep working, and a missing install is named, when it is absent.
    let renderConsole;
    try {
        ({ renderConsole } = await import('./console.js'));
    } catch (err) {
        if (seq !== routeSeq) return;
        showError(
            `The terminal could not be loaded (${err.message}). Is ui/node_modules installed?`,
        );
        return;
    }
    if (seq !== routeSeq) return;
    teardown = renderConsole(root, {
        vm: r.vm,
        dev: r.dev,
        offset: r.offset,
        me,
        navigate,
        relogin,
    });
}

function showError(text) {
    replace(
        root,
        h(
            'main',
            { class: 'login-page' },
            h('p', { class: 'form-error', role: 'alert', id: 'page-error' }, text),
            h('button', { type: 'button', onclick: route }, 'Retry'),
            h('a', { href: '#/vms' }, 'VM list'),
        ),
    );
}

// A /ws/api that keeps closing may mean the session ended (expired, logged out elsewhere,
// user frozen): the browser does not tell why an upgrade failed, so ask over HTTP.
api.on('close', async () => {
    try {
        await httpCall('whoami', {});
    } catch (err) {
        if (err.code === 'unauthorized' && me) relogin();
    }
});

window.addEventListener('hashchange', route);
route();
