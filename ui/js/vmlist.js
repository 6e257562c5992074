// VM list (#/vms): the registry as vm.list and host.list return it, kept live by the vg:events
// bus (events.subscribe on /ws/api). Keyboard: / filters, ↑/↓ or j/k move, Enter opens.

import { api } from './api.js';
import { h, replace, toast } from './dom.js';

const REFRESH_DEBOUNCE_MS = 300;
const STATE_EVENTS = ['vm.state'];
const RELOAD_EVENTS = [
    'vm.added',
    'vm.removed',
    'host.up',
    'host.down',
    'console.connected',
    'console.disconnected',
];

function consoleHref(vm, dev) {
    return `#/console/${encodeURIComponent(vm)}${dev ? `/${encodeURIComponent(dev)}` : ''}`;
}

function hostFacts(host) {
    const facts = [host.up ? 'up' : 'down'];
    if (host.cpus) facts.push(`${host.cpus} CPUs`);
    if (host.mem_mib) facts.push(`${Math.round((host.mem_mib / 1024) * 10) / 10} GiB`);
    return facts.join(', ');
}

export function renderVmList(root, { me, navigate, relogin, logout }) {
    document.title = 'VMs · vmgate';
    let vms = [];
    let hosts = [];
    let selected = 0;
    let reloadTimer = 0;
    const cleanups = [];

    const filter = h('input', {
        type: 'search',
        id: 'vm-filter',
        placeholder: 'Filter (/)',
        autocomplete: 'off',
        spellcheck: 'false',
    });
    const tbody = h('tbody', { id: 'vm-rows' });
    const hostsEl = h('p', { class: 'hosts', id: 'hosts' });
    const liveEl = h('span', {
        class: 'live',
        id: 'live',
        title: 'Live updates from the event bus',
    });
    const emptyEl = h('p', { class: 'empty', id: 'vm-empty', hidden: true });

    replace(
        root,
        h(
            'div',
            { class: 'list-page' },
            h(
                'header',
                { class: 'bar' },
                h('strong', {}, 'vmgate'),
                filter,
                liveEl,
                h('span', { class: 'spacer' }),
                h('span', { class: 'user', id: 'whoami' }, `${me.user} (${me.role})`),
                h('button', { type: 'button', id: 'logout', onclick: () => logout() }, 'Log out'),
            ),
            h(
                'main',
                {},
                h(
                    'table',
                    { class: 'vms' },
                    h(
                        'thead',
                        {},
                        h(
                            'tr',
                            {},
                            h('th', {}, 'Name'),
                            h('th', {}, 'Host'),
                            h('th', {}, 'State'),
                            h('th', {}, 'Consoles'),
                        ),
                    ),
                    tbody,
                ),
                emptyEl,
                hostsEl,
            ),
        ),
    );

    function visible() {
        const q = filter.value.trim().toLowerCase();
        return q
            ? vms.filter(
                  (v) =>
                      v.name.toLowerCase().includes(q) || (v.host || '').toLowerCase().includes(q),
              )
            : vms;
    }

    function stateCell(vm) {
        return h('span', { class: `state state-${vm.state || 'unknown'}` }, vm.state || 'unknown');
    }

    function draw() {
        const rows = visible();
        if (selected >= rows.length) selected = Math.max(0, rows.length - 1);
        replace(
            tbody,
            rows.map((vm, i) =>
                h(
                    'tr',
                    {
                        class: i === selected ? 'selected' : '',
                        dataset: { vm: vm.name },
                        onclick: (ev) => {
                            if (ev.target.closest('a')) return;
                            navigate(consoleHref(vm.name));
                        },
                    },
                    h('td', {}, h('a', { href: consoleHref(vm.name), class: 'vm-link' }, vm.name)),
                    h(
                        'td',
                        { class: vm.host_up === false ? 'host-down' : '' },
                        vm.host || '—',
                        vm.host_up === false ? ' (down)' : '',
                    ),
                    h('td', { class: 'state-cell' }, stateCell(vm)),
                    h(
                        'td',
                        { class: 'consoles' },
                        (vm.consoles || []).map((dev) =>
                            h('a', { href: consoleHref(vm.name, dev), class: 'dev' }, dev),
                        ),
                    ),
                ),
            ),
        );
        emptyEl.hidden = rows.length > 0;
        emptyEl.textContent = vms.length ? 'No VM matches the filter.' : 'No VMs registered yet.';
        replace(
            hostsEl,
            hosts.length ? 'Hosts: ' : '',
            hosts.map((host, i) => [
                i ? ', ' : '',
                h('span', { class: host.up ? 'host-up' : 'host-down' }, host.id),
                ` (${hostFacts(host)})`,
            ]),
        );
    }

    async function load() {
        try {
            const [vmRes, hostRes] = await Promise.all([
                api.call('vm.list', {}),
                api.call('host.list', {}).catch(() => ({ hosts: [] })),
            ]);
            vms = (vmRes.vms || []).slice().sort((a, b) => a.name.localeCompare(b.name));
            hosts = hostRes.hosts || [];
            draw();
        } catch (err) {
            if (err.code === 'unauthorized') relogin();
            else toast(`Cannot load the VM list: ${err.message}`, 'error');
        }
    }

    function scheduleReload() {
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(load, REFRESH_DEBOUNCE_MS);
    }
    cleanups.push(() => clearTimeout(reloadTimer));

    function onVmState(data) {
        const name = data.vm || data.name;
        const vm = vms.find((v) => v.name === name);
        if (!vm) {
            scheduleReload();
            return;
        }
        vm.state = data.state || vm.state;
        if (data.host) vm.host = data.host;
        const row = tbody.querySelector(`tr[data-vm="${CSS.escape(name)}"]`);
        if (row) {
            replace(row.querySelector('.state-cell'), stateCell(vm));
            row.classList.remove('flash');
            void row.offsetWidth; // restart the highlight animation
            row.classList.add('flash');
        }
    }

    async function subscribe() {
        try {
            await api.call('events.subscribe', {});
            liveEl.textContent = '● live';
            liveEl.className = 'live on';
        } catch (err) {
            liveEl.textContent = '○ not live';
            liveEl.className = 'live off';
            liveEl.title = `Live updates unavailable: ${err.message}`;
        }
        load();
    }

    for (const type of STATE_EVENTS) cleanups.push(api.on(`event:${type}`, onVmState));
    for (const type of RELOAD_EVENTS) cleanups.push(api.on(`event:${type}`, scheduleReload));
    cleanups.push(api.on('open', subscribe));
    cleanups.push(
        api.on('close', () => {
            liveEl.textContent = '○ reconnecting';
            liveEl.className = 'live off';
        }),
    );
    if (api.isOpen) subscribe();
    else load();

    filter.addEventListener('input', () => {
        selected = 0;
        draw();
    });

    const onKey = (ev) => {
        const inFilter = ev.target === filter;
        if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
        if (ev.key === '/' && !inFilter) {
            ev.preventDefault();
            filter.focus();
            filter.select();
            return;
        }
        if (ev.key === 'Escape' && inFilter) {
            filter.value = '';
            filter.blur();
            draw();
            return;
        }
        const rows = visible();
        if (ev.key === 'ArrowDown' || (ev.key === 'j' && !inFilter)) {
            ev.preventDefault();
            selected = Math.min(rows.length - 1, selected + 1);
            draw();
        } else if (ev.key === 'ArrowUp' || (ev.key === 'k' && !inFilter)) {
            ev.preventDefault();
            selected = Math.max(0, selected - 1);
            draw();
        } else if (
            ev.key === 'Enter' &&
            rows[selected] &&
            (inFilter || ev.target === document.body)
        ) {
            ev.preventDefault();
            navigate(consoleHref(rows[selected].name));
        }
    };
    window.addEventListener('keydown', onKey);
    cleanups.push(() => window.removeEventListener('keydown', onKey));

    return () => cleanups.forEach((fn) => fn());
}
