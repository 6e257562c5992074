// VM list (#/vms): vm.list, host.list and env.list, kept live by events.subscribe. Filter by any
// column, sort by clicking a column head, select rows for batch start / shut down / reboot.
// Keyboard: / filters, ↑/↓ or j/k move, space selects, Enter opens the console, o the VM page.

import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, html, nothing, stateBadge, longOp, toast } from '../lib/ui.js';
import { watchNoticeToasts } from '../console/notices.js';

const RELOAD_EVENTS = [
    'vm.added',
    'vm.removed',
    'vm.created',
    'vm.deleted',
    'vm.migrated',
    'vm.adopted',
    'host.up',
    'host.down',
    'env.changed',
    'console.connected',
    'console.disconnected',
];
const COLUMNS = [
    ['name', 'Name'],
    ['state', 'State'],
    ['host', 'Host'],
    ['project', 'Project'],
    ['env', 'Environment'],
];
const BATCH = [
    ['vm.start', 'Start', 'batch-start'],
    ['vm.shutdown', 'Shut down', 'batch-stop'],
    ['vm.reboot', 'Reboot', 'batch-reboot'],
];

export const consoleHref = (vm, dev) =>
    `#/console/${encodeURIComponent(vm)}${dev ? `/${encodeURIComponent(dev)}` : ''}`;
export const vmHref = (vm, tab) =>
    `#/vm/${encodeURIComponent(vm)}${tab ? `/${encodeURIComponent(tab)}` : ''}`;

function hostFacts(host) {
    const facts = [host.up ? 'up' : 'down'];
    if (host.cpus) facts.push(`${host.cpus} CPUs`);
    if (host.mem_mib) facts.push(`${Math.round((host.mem_mib / 1024) * 10) / 10} GiB`);
    if (host.maintenance) facts.push('maintenance');
    return facts.join(', ');
}

class VgVmList extends VgElement {
    static properties = {
        vms: { state: true },
        hosts: { state: true },
        filter: { state: true },
        sortKey: { state: true },
        sortDir: { state: true },
        selected: { state: true },
        cursor: { state: true },
        loaded: { state: true },
    };

    constructor() {
        super();
        this.vms = [];
        this.hosts = [];
        this.filter = '';
        this.sortKey = 'name';
        this.sortDir = 1;
        this.selected = new Set();
        this.cursor = 0;
        this.loaded = false;
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'VMs · vmgate';
        this.listen(RELOAD_EVENTS);
        this.listen(['vm.state'], (data) => this.onState(data));
        this._offs.push(watchNoticeToasts());
        this.onKey = (ev) => this.key(ev);
        window.addEventListener('keydown', this.onKey);
        this.reload();
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        window.removeEventListener('keydown', this.onKey);
    }

    async reload() {
        try {
            const [vmRes, hostRes, envRes] = await Promise.all([
                api.all('vm.list', {}, 'vms'),
                api.call('host.list', {}).catch(() => ({ hosts: [] })),
                api.call('env.list', {}).catch(() => ({ envs: [] })),
            ]);
            const envOf = {};
            for (const env of envRes.envs || [])
                for (const vm of Object.keys(env.vms || {})) envOf[vm] = env.name;
            this.vms = (vmRes.vms || []).map((v) => ({ ...v, env: envOf[v.name] || '' }));
            this.hosts = hostRes.hosts || [];
            const names = new Set(this.vms.map((v) => v.name));
            this.selected = new Set([...this.selected].filter((n) => names.has(n)));
            this.loaded = true;
        } catch (err) {
            if (err.code === 'unauthorized') window.vgRelogin?.();
            else toast(`Cannot load the VM list: ${err.message}`, 'error');
        }
    }

    onState(data) {
        const vm = this.vms.find((v) => v.name === (data.vm || data.name));
        if (!vm) {
            this.scheduleReload();
            return;
        }
        vm.state = data.state || vm.state;
        if (data.host) vm.host = data.host;
        this.vms = [...this.vms];
        this.updateComplete.then(() => {
            const row = this.querySelector(`tr[data-vm="${CSS.escape(vm.name)}"]`);
            if (!row) return;
            row.classList.remove('flash');
            void row.offsetWidth; // restart the highlight animation
            row.classList.add('flash');
        });
    }

    visible() {
        const q = this.filter.trim().toLowerCase();
        const rows = q
            ? this.vms.filter((v) =>
                  [v.name, v.host, v.state, v.project, v.env].some((f) =>
                      (f || '').toLowerCase().includes(q),
                  ),
              )
            : this.vms.slice();
        const k = this.sortKey;
        return rows.sort(
            (a, b) =>
                this.sortDir * String(a[k] || '').localeCompare(String(b[k] || '')) ||
                a.name.localeCompare(b.name),
        );
    }

    sortBy(key) {
        if (this.sortKey === key) this.sortDir = -this.sortDir;
        else {
            this.sortKey = key;
            this.sortDir = 1;
        }
    }

    toggle(name, on) {
        const s = new Set(this.selected);
        if (on) s.add(name);
        else s.delete(name);
        this.selected = s;
    }

    async batch(method, label) {
        const names = [...this.selected];
        const results = await longOp(
            `${label} ${names.length} VM${names.length > 1 ? 's' : ''}`,
            Promise.all(
                names.map((vm) =>
                    api
                        .call(method, { vm }, { timeout: 150000 })
                        .then(() => null)
                        .catch((err) => `${vm}: ${err.message}`),
                ),
            ).then((errs) => {
                const failed = errs.filter(Boolean);
                if (failed.length) throw new Error(failed.join('; '));
                return true;
            }),
        );
        if (results) this.selected = new Set();
        this.reload();
    }

    key(ev) {
        const inFilter = ev.target.id === 'vm-filter';
        if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
        if (ev.target !== document.body && !inFilter) return;
        const rows = this.visible();
        const cur = rows[this.cursor];
        if (ev.key === '/' && !inFilter) {
            ev.preventDefault();
            const f = this.querySelector('#vm-filter');
            f.focus();
            f.select();
        } else if (ev.key === 'Escape' && inFilter) {
            this.filter = '';
            ev.target.blur();
        } else if (ev.key === 'ArrowDown' || (ev.key === 'j' && !inFilter)) {
            ev.preventDefault();
            this.cursor = Math.min(rows.length - 1, this.cursor + 1);
        } else if (ev.key === 'ArrowUp' || (ev.key === 'k' && !inFilter)) {
            ev.preventDefault();
            this.cursor = Math.max(0, this.cursor - 1);
        } else if (ev.key === ' ' && !inFilter && cur) {
            ev.preventDefault();
            this.toggle(cur.name, !this.selected.has(cur.name));
        } else if (ev.key === 'o' && !inFilter && cur) {
            location.hash = vmHref(cur.name);
        } else if (ev.key === 'Enter' && cur) {
            ev.preventDefault();
            location.hash = consoleHref(cur.name);
        }
    }

    renderBatch() {
        if (!session.operatesSomewhere) return nothing;
        const chosen = this.vms.filter((v) => this.selected.has(v.name));
        const allowed =
            chosen.length > 0 && chosen.every((v) => session.can('operator', v.project));
        return html`<span class="batch" role="group" aria-label="Batch actions">
            <span class="dim">${chosen.length} selected</span>
            ${BATCH.map(
                ([method, label, id]) =>
                    html`<button
                        type="button"
                        id=${id}
                        ?disabled=${!allowed}
                        @click=${() => this.batch(method, label)}
                    >
                        ${label}
                    </button>`,
            )}
        </span>`;
    }

    renderRow(vm, i) {
        return html`<tr
            data-vm=${vm.name}
            class=${i === this.cursor ? 'selected' : ''}
            @click=${(ev) => {
                if (ev.target.closest('a,input')) return;
                this.cursor = i;
            }}
        >
            <td>
                <input
                    type="checkbox"
                    class="pick"
                    aria-label="Select ${vm.name}"
                    .checked=${this.selected.has(vm.name)}
                    @change=${(e) => this.toggle(vm.name, e.target.checked)}
                />
            </td>
            <td><a href=${vmHref(vm.name)} class="vm-link">${vm.name}</a></td>
            <td class="state-cell">${stateBadge(vm.state)}</td>
            <td class=${vm.host_up === false ? 'host-down' : ''}>
                ${vm.host || '—'}${vm.host_up === false ? ' (down)' : ''}
            </td>
            <td>${vm.project || html`<span class="dim">none</span>`}</td>
            <td>
                ${vm.env ? html`<a href="#/envs/${encodeURIComponent(vm.env)}">${vm.env}</a>` : ''}
            </td>
            <td class="consoles">
                ${(vm.consoles || []).map(
                    (dev) => html`<a href=${consoleHref(vm.name, dev)} class="dev">${dev}</a>`,
                )}
            </td>
        </tr>`;
    }

    render() {
        const rows = this.visible();
        if (this.cursor >= rows.length) this.cursor = Math.max(0, rows.length - 1);
        const allPicked = rows.length > 0 && rows.every((v) => this.selected.has(v.name));
        return html`<header class="bar sub">
                <h1>VMs</h1>
                <input
                    type="search"
                    id="vm-filter"
                    placeholder="Filter (/)"
                    aria-label="Filter VMs"
                    autocomplete="off"
                    spellcheck="false"
                    .value=${this.filter}
                    @input=${(e) => {
                        this.filter = e.target.value;
                        this.cursor = 0;
                    }}
                />
                ${this.renderBatch()}
                <span class="spacer"></span>
                ${
                    session.operatesSomewhere
                        ? html`<a class="button" href="#/vms/new" id="new-vm">New VM</a>`
                        : nothing
                }
            </header>
            <main>
                <table class="grid vms">
                    <thead>
                        <tr>
                            <th>
                                <input
                                    type="checkbox"
                                    id="pick-all"
                                    aria-label="Select all shown"
                                    .checked=${allPicked}
                                    @change=${(e) =>
                                        (this.selected = new Set(
                                            e.target.checked ? rows.map((v) => v.name) : [],
                                        ))}
                                />
                            </th>
                            ${COLUMNS.map(
                                ([key, label]) =>
                                    html`<th
                                        aria-sort=${
                                            this.sortKey === key
                                                ? this.sortDir > 0
                                                    ? 'ascending'
                                                    : 'descending'
                                                : 'none'
                                        }
                                    >
                                        <button
                                            type="button"
                                            class="link sort"
                                            data-sort=${key}
                                            @click=${() => this.sortBy(key)}
                                        >
                                            ${label}${
                                                this.sortKey === key
                                                    ? this.sortDir > 0
                                                        ? ' ▲'
                                                        : ' ▼'
                                                    : ''
                                            }
                                        </button>
                                    </th>`,
                            )}
                            <th>Consoles</th>
                        </tr>
                    </thead>
                    <tbody id="vm-rows">
                        ${rows.map((vm, i) => this.renderRow(vm, i))}
                    </tbody>
                </table>
                <p class="empty" id="vm-empty" ?hidden=${!this.loaded || rows.length > 0}>
                    ${this.vms.length ? 'No VM matches the filter.' : 'No VMs yet.'}
                </p>
                <p class="hosts" id="hosts">
                    ${this.hosts.length ? 'Hosts: ' : ''}${this.hosts.map(
                        (host, i) =>
                            html`${i ? ', ' : ''}<a
                                    href="#/hosts"
                                    class=${host.up ? 'host-up' : 'host-down'}
                                    >${host.id}</a
                                >
                                (${hostFacts(host)})`,
                    )}
                </p>
            </main>`;
    }
}
customElements.define('vg-vm-list', VgVmList);
