// The application shell (<vg-app>): session check, hash router and the navigation bar. Each page
// is a custom element in its own folder, loaded when first visited.
//
// Routes: #/login, #/vms, #/vms/new, #/vm/<vm>[/<tab>], #/console/<vm>[/<dev>][?offset=…],
// #/hosts, #/projects[/<project>], #/users, #/envs[/<env>], #/networks[/<network>],
// #/secgroups[/<project>], #/storage[/<pool>], #/images, #/audit, #/account,
// #/monitoring[/<vm|host>/<name>].

import { api, httpCall } from '../lib/api.js';
import { session, live } from '../lib/store.js';
import { VgElement, html, nothing, toast } from '../lib/ui.js';
import '../login/login.js';

// Each page: its element, its module (imported on first visit) and who sees it in the bar.
const PAGES = {
    vms: { tag: 'vg-vm-list', load: () => import('../vms/list.js'), nav: 'VMs' },
    'vms/new': { tag: 'vg-vm-create', load: () => import('../vms/create.js') },
    vm: { tag: 'vg-vm-page', load: () => import('../vms/vm-page.js') },
    console: { tag: 'vg-console', load: () => import('../console/console.js') },
    hosts: { tag: 'vg-hosts', load: () => import('../hosts/hosts.js'), nav: 'Hosts' },
    projects: {
        tag: 'vg-projects',
        load: () => import('../projects/projects.js'),
        nav: 'Projects',
    },
    envs: { tag: 'vg-envs', load: () => import('../envs/envs.js'), nav: 'Environments' },
    networks: {
        tag: 'vg-networks',
        load: () => import('../networks/networks.js'),
        nav: 'Networks',
    },
    storage: { tag: 'vg-storage', load: () => import('../storage/pools.js'), nav: 'Storage' },
    images: { tag: 'vg-images', load: () => import('../storage/images.js'), nav: 'Images' },
    secgroups: {
        tag: 'vg-secgroups',
        load: () => import('../secgroups/secgroups.js'),
        nav: 'Security groups',
    },
    users: { tag: 'vg-users', load: () => import('../users/users.js'), nav: 'Users', admin: true },
    audit: { tag: 'vg-audit', load: () => import('../audit/audit.js'), nav: 'Audit', admin: true },
    monitoring: {
        tag: 'vg-monitoring',
        load: () => import('../monitoring/monitoring.js'),
        nav: 'Monitoring',
    },
    timers: { tag: 'vg-timers', load: () => import('../timers/timers.js'), nav: 'Timers', admin: true },
    settings: {
        tag: 'vg-settings',
        load: () => import('../settings/settings.js'),
        nav: 'Settings',
        admin: true,
    },
    account: { tag: 'vg-account', load: () => import('../account/password.js'), nav: 'Password' },
};

function decode(p) {
    try {
        return decodeURIComponent(p);
    } catch {
        return p;
    }
}

// '#/vm/web1/snapshots?x=1' → {page: 'vm', args: ['web1', 'snapshots'], query}
export function parseHash(hash) {
    const [path, query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
    const parts = path.split('/').filter(Boolean).map(decode);
    const q = new URLSearchParams(query);
    if (parts[0] === 'login') return { page: 'login', args: [], query: q };
    if (parts[0] === 'vms' && parts[1] === 'new') return { page: 'vms/new', args: [], query: q };
    if (PAGES[parts[0]]) return { page: parts[0], args: parts.slice(1), query: q };
    return { page: 'vms', args: [], query: q };
}

export function navigate(hash) {
    if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = hash;
}

class VgApp extends VgElement {
    static properties = {
        route: { state: true },
        error: { state: true },
        liveOn: { state: true },
    };

    constructor() {
        super();
        this.route = null;
        this.pageKey = '';
        this.error = '';
        this.liveOn = false;
        this.afterLogin = '#/vms';
        this.seq = 0;
    }

    connectedCallback() {
        super.connectedCallback();
        this.textContent = '';
        this.onHash = () => this.go();
        window.addEventListener('hashchange', this.onHash);
        this._offs.push(live.onStatus((on) => (this.liveOn = on)));
        // A /ws/api that keeps closing may mean the session ended (expired, logged out
        // elsewhere, user frozen): the browser does not tell why an upgrade failed, so ask.
        this._offs.push(
            api.on('close', async () => {
                try {
                    await httpCall('whoami', {});
                } catch (err) {
                    if (err.code === 'unauthorized' && session.me) this.relogin();
                }
            }),
        );
        window.vgRelogin = () => this.relogin();
        this.go();
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        window.removeEventListener('hashchange', this.onHash);
    }

    relogin() {
        this.afterLogin = location.hash || '#/vms';
        session.set(null);
        api.stop();
        navigate('#/login');
    }

    async logout() {
        try {
            await api.call('logout', {});
        } catch (err) {
            toast(`Logout: ${err.message}`, 'warn');
        }
        api.stop();
        session.set(null);
        navigate('#/login');
    }

    async go() {
        const seq = ++this.seq;
        const r = parseHash(location.hash);
        this.error = '';
        if (r.page === 'login') {
            api.stop();
            session.set(null);
            this.pageKey = ''; // the page after login is a new element, even the same route
            this.route = r;
            return;
        }
        if (!session.me) {
            let me = null;
            try {
                // Asked over the WebSocket, which answers `unauthorized` without a session
                // instead of an HTTP 401 that the browser would log as an error.
                api.start();
                await api.opened(3000);
                me = await api.call('whoami', {});
            } catch (err) {
                if (seq !== this.seq) return;
                if (err.code !== 'unauthorized') {
                    this.error = `The gateway cannot be reached: ${err.message}`;
                    this.route = null;
                    this.pageKey = '';
                    return;
                }
            }
            if (seq !== this.seq) return;
            if (!me) {
                this.afterLogin =
                    location.hash && location.hash !== '#/login' ? location.hash : '#/vms';
                navigate('#/login');
                return;
            }
            session.set(me);
            session.loadProjects();
        }
        api.start();
        const page = PAGES[r.page];
        try {
            await page.load();
        } catch (err) {
            if (seq !== this.seq) return;
            this.error = `The page could not be loaded (${err.message}).`;
            this.route = null;
            this.pageKey = '';
            return;
        }
        if (seq !== this.seq) return;
        this.route = r;
    }

    onLogin(who) {
        // The API WebSocket opened before the login carries no session cookie: open a new one.
        api.stop();
        session.set(who);
        session.loadProjects();
        const next = this.afterLogin;
        this.afterLogin = '#/vms';
        navigate(next);
    }

    renderNav() {
        const current = this.route?.page;
        const links = Object.entries(PAGES).filter(
            ([, p]) => p.nav && (!p.admin || session.isAdmin),
        );
        return html`<nav class="bar" aria-label="Main">
            <strong class="brand">vmgate</strong>
            ${links.map(
                ([key, p]) =>
                    html`<a
                        href="#/${key}"
                        id="nav-${key}"
                        aria-current=${
                            current === key || (key === 'vms' && current === 'vm')
                                ? 'page'
                                : 'false'
                        }
                        >${p.nav}</a
                    >`,
            )}
            <span class="spacer"></span>
            <span
                class="live ${this.liveOn ? 'on' : 'off'}"
                id="live"
                title="Live updates from the event bus"
                >${this.liveOn ? '● live' : '○ not live'}</span
            >
            <span class="user" id="whoami">${session.me.user} (${session.me.role})</span>
            <button type="button" id="logout" @click=${() => this.logout()}>Log out</button>
        </nav>`;
    }

    renderPage(r) {
        const el = document.createElement(PAGES[r.page].tag);
        el.args = r.args;
        el.query = r.query;
        return el;
    }

    render() {
        if (this.error)
            return html`<main class="login-page">
                <p class="form-error" role="alert" id="page-error">${this.error}</p>
                <button type="button" @click=${() => this.go()}>Retry</button>
                <a href="#/vms">VM list</a>
            </main>`;
        const r = this.route;
        if (!r) return html`<p class="loading">Loading…</p>`;
        if (r.page === 'login')
            return html`<vg-login .onLogin=${(who) => this.onLogin(who)}></vg-login>`;
        if (!session.me) return nothing;
        return html`<div class="shell">
            ${this.renderNav()}
            <div class="page">${this.pageFor(r)}</div>
        </div>`;
    }

    // The VM page keeps its element (and its open console) across its tabs; every other route
    // change makes a new element, so no page state leaks into the next one.
    pageFor(r) {
        const key =
            r.page === 'vm' ? `vm|${r.args[0]}` : `${r.page}|${r.args.join('/')}|${r.query}`;
        if (this.pageKey !== key) {
            this.pageKey = key;
            this.pageEl = this.renderPage(r);
        } else {
            this.pageEl.args = r.args;
            this.pageEl.query = r.query;
        }
        return this.pageEl;
    }
}
customElements.define('vg-app', VgApp);
