// Console page (#/console/<vm>[/<dev>]): xterm.js bound to a ConsoleSession, with fit to window,
// search, copy/paste, the status bar (connection, mode, write lock, viewers) and the read-only
// toggle.

import { Terminal } from '/vendor/@xterm/xterm/lib/xterm.mjs';
import { FitAddon } from '/vendor/@xterm/addon-fit/lib/addon-fit.mjs';
import { SearchAddon } from '/vendor/@xterm/addon-search/lib/addon-search.mjs';
import { WebLinksAddon } from '/vendor/@xterm/addon-web-links/lib/addon-web-links.mjs';
import { api } from './api.js';
import { h, replace, toast, formatBytes } from './dom.js';
import { mirrorInlineStyles } from './cspstyle.js';
import { isTerminalReport } from './proto.js';
import { ConsoleSession } from './session.js';

const THEME = {
    background: '#0f1113',
    foreground: '#d6d6d6',
    cursor: '#e6e6e6',
    selectionBackground: '#3a5a80',
};

const SEARCH_DECORATIONS = {
    matchBackground: '#4d3d00',
    activeMatchBackground: '#b58900',
    matchOverviewRuler: '#b58900',
    activeMatchColorOverviewRuler: '#ffd75f',
};

const encoder = new TextEncoder();

// onBinary delivers bytes 0-255 as a string (mouse reports in X10 mode); send them unchanged.
function binaryString(s) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
}

// offset: where to begin, as in the route's ?offset= (ring, end or a byte offset).
export function renderConsole(root, { vm, dev, offset = 'ring', me, navigate, relogin }) {
    document.title = `${vm}${dev ? ` (${dev})` : ''} · vmgate`;
    let startAt = offset;
    if (!/^(?:ring|end|\d{1,15})$/.test(startAt)) {
        toast(`Ignored offset "${offset}": use ring, end or a byte offset`, 'warn');
        startAt = 'ring';
    }
    let pendingReplay = 0; // replayed chunks handed to xterm and not parsed yet
    const cleanups = [];

    const termEl = h('div', { class: 'term', id: 'terminal' });
    const stopMirror = mirrorInlineStyles(termEl);
    cleanups.push(stopMirror);

    const connEl = h('span', { class: 'st-conn', id: 'st-conn' });
    const modeEl = h('span', { class: 'st-mode', id: 'st-mode' });
    const writerEl = h('span', { class: 'st-writer', id: 'st-writer' });
    const viewersEl = h('span', { class: 'st-viewers', id: 'st-viewers' });
    const offsetEl = h('span', { class: 'st-offset', id: 'st-offset' });
    const takeBtn = h(
        'button',
        {
            type: 'button',
            id: 'take',
            title: 'Take the write lock (Ctrl+Shift+L)',
            onclick: () => session.take(),
        },
        'Take over',
    );
    const releaseBtn = h(
        'button',
        {
            type: 'button',
            class: 'link',
            id: 'release',
            title: 'Give the write lock up',
            onclick: () => session.release(),
        },
        'release',
    );
    const retryBtn = h(
        'button',
        {
            type: 'button',
            id: 'reconnect',
            onclick: () => session.reconnectNow(),
        },
        'Reconnect',
    );
    const roBox = h('input', {
        type: 'checkbox',
        id: 'readonly',
        onchange: () => session.setMode(roBox.checked ? 'ro' : 'rw'),
    });
    const devSelect = h('select', {
        id: 'dev',
        title: 'Console device',
        hidden: true,
        onchange: () =>
            navigate(`#/console/${encodeURIComponent(vm)}/${encodeURIComponent(devSelect.value)}`),
    });

    const searchInput = h('input', {
        type: 'search',
        id: 'search-input',
        placeholder: 'Search output',
        autocomplete: 'off',
        spellcheck: 'false',
    });
    const searchCount = h('span', { class: 'search-count', id: 'search-count' });
    const searchBar = h(
        'div',
        { class: 'searchbar', id: 'searchbar', hidden: true },
        searchInput,
        h(
            'button',
            { type: 'button', title: 'Previous (Shift+Enter)', onclick: () => find(false) },
            '↑',
        ),
        h('button', { type: 'button', title: 'Next (Enter)', onclick: () => find(true) }, '↓'),
        searchCount,
        h(
            'button',
            { type: 'button', class: 'link', title: 'Close (Esc)', onclick: () => closeSearch() },
            'close',
        ),
    );

    const page = h(
        'div',
        { class: 'console-page' },
        h(
            'header',
            { class: 'bar' },
            h('a', { href: '#/vms', class: 'back', title: 'Back to the VM list' }, '← VMs'),
            h('strong', { class: 'vm-name', id: 'vm-name' }, vm),
            devSelect,
            h('span', { class: 'spacer' }),
            h(
                'button',
                { type: 'button', title: 'Search (Ctrl+Shift+F)', onclick: () => openSearch() },
                'Search',
            ),
            h(
                'button',
                {
                    type: 'button',
                    title: 'Copy the selection (Ctrl+Shift+C)',
                    onclick: () => copySelection(true),
                },
                'Copy',
            ),
            h(
                'button',
                { type: 'button', title: 'Paste (Ctrl+Shift+V)', onclick: () => pasteClipboard() },
                'Paste',
            ),
            h(
                'label',
                { class: 'toggle', title: 'Read-only: watch without typing (Ctrl+Shift+O)' },
                roBox,
                ' read-only',
            ),
            h('span', { class: 'user' }, me.user),
        ),
        searchBar,
        h('div', { class: 'term-wrap' }, termEl),
        h(
            'footer',
            { class: 'status', id: 'status' },
            connEl,
            modeEl,
            writerEl,
            takeBtn,
            releaseBtn,
            retryBtn,
            viewersEl,
            h('span', { class: 'spacer' }),
            offsetEl,
        ),
    );
    replace(root, page);

    const term = new Terminal({
        cursorBlink: true,
        scrollback: 10000,
        fontSize: 14,
        fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
        theme: THEME,
        allowProposedApi: true, // search match decorations
    });
    const fit = new FitAddon();
    const search = new SearchAddon();
    term.loadAddon(fit);
    term.loadAddon(search);
    term.loadAddon(new WebLinksAddon());
    term.open(termEl);
    cleanups.push(() => term.dispose());

    const refit = () => {
        try {
            fit.fit();
        } catch {
            // The element is hidden or detached during navigation: nothing to fit.
        }
    };
    let fitFrame = 0;
    const ro = new ResizeObserver(() => {
        cancelAnimationFrame(fitFrame);
        fitFrame = requestAnimationFrame(refit);
    });
    ro.observe(termEl.parentElement);
    cleanups.push(() => ro.disconnect());
    refit();

    // Tests and curious operators can read the terminal from the devtools console.
    window.vmgate = {
        term,
        get session() {
            return session;
        },
    };
    cleanups.push(() => delete window.vmgate);

    const session = new ConsoleSession({
        vm,
        dev,
        mode: 'rw',
        startAt,
        mintTicket: (v, d, mode) => {
            const params = { vm: v, mode };
            if (d) params.dev = d;
            return api.call('console.ticket', params);
        },
        handlers: {
            output(data, offset, replay) {
                if (replay) {
                    pendingReplay++;
                    term.write(data, () => pendingReplay--);
                } else {
                    term.write(data);
                }
                offsetEl.textContent = `offset ${session.nextOffset}`;
            },
            gap(from, to) {
                const what = `${formatBytes(to - from)} of output lost (bytes ${from}–${to})`;
                term.write(`\r\n\x1b[2m── ${what} ──\x1b[0m\r\n`);
            },
            change: showStatus,
            notice: (text, kind) => toast(text, kind),
            unauthorized: relogin,
        },
    });
    cleanups.push(() => session.stop());

    term.onData((data) => {
        // xterm answers the guest's queries (busybox sends ESC[6n after every prompt) through
        // onData too: only the writer answers, and never to replayed history.
        if (isTerminalReport(data) && (pendingReplay > 0 || !session.isWriter)) return;
        session.send(encoder.encode(data));
    });
    term.onBinary((data) => session.send(binaryString(data)));

    let selectionTimer = 0;
    term.onSelectionChange(() => {
        clearTimeout(selectionTimer);
        if (term.hasSelection()) selectionTimer = setTimeout(() => copySelection(false), 250);
    });
    cleanups.push(() => clearTimeout(selectionTimer));

    search.onDidChangeResults(({ resultIndex, resultCount }) => {
        if (resultCount === 0) searchCount.textContent = searchInput.value ? 'no match' : '';
        else searchCount.textContent = `${resultIndex + 1} of ${resultCount}`;
    });
    searchInput.addEventListener('input', () => {
        if (searchInput.value)
            search.findNext(searchInput.value, {
                incremental: true,
                decorations: SEARCH_DECORATIONS,
            });
        else {
            search.clearDecorations();
            searchCount.textContent = '';
        }
    });
    searchInput.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
            ev.preventDefault();
            find(!ev.shiftKey);
        } else if (ev.key === 'Escape') {
            ev.preventDefault();
            closeSearch();
        }
    });

    function find(forward) {
        const q = searchInput.value;
        if (!q) return;
        const opts = { decorations: SEARCH_DECORATIONS };
        if (forward) search.findNext(q, opts);
        else search.findPrevious(q, opts);
    }

    function openSearch() {
        searchBar.hidden = false;
        const selected = term.getSelection();
        if (selected && !selected.includes('\n')) searchInput.value = selected;
        searchInput.focus();
        searchInput.select();
        requestAnimationFrame(refit);
    }

    function closeSearch() {
        searchBar.hidden = true;
        search.clearDecorations();
        term.clearSelection();
        term.focus();
        requestAnimationFrame(refit);
    }

    async function copySelection(explicit) {
        const text = term.getSelection();
        if (!text) {
            if (explicit) toast('Nothing selected', 'warn');
            return;
        }
        try {
            await navigator.clipboard.writeText(text);
            if (explicit) toast(`Copied ${text.length} characters`);
        } catch (err) {
            if (explicit) toast(`Copy failed: ${err.message}`, 'error');
        }
    }

    async function pasteClipboard() {
        try {
            const text = await navigator.clipboard.readText();
            if (text) term.paste(text);
        } catch (err) {
            toast(`Paste failed: ${err.message}. Use Ctrl+Shift+V.`, 'error');
        }
        term.focus();
    }

    // Shortcuts are caught before xterm.js sees the key, so they never reach the guest.
    // Ctrl+Shift+V only stops xterm: the browser's own paste event then delivers the text.
    const onKey = (ev) => {
        if (!(ev.ctrlKey && ev.shiftKey) || ev.altKey || ev.metaKey) return;
        const actions = {
            KeyF: () => openSearch(),
            KeyC: () => copySelection(true),
            KeyL: () => session.take(),
            KeyO: () => {
                roBox.checked = !roBox.checked;
                session.setMode(roBox.checked ? 'ro' : 'rw');
            },
        };
        if (ev.code === 'KeyV') {
            ev.stopPropagation();
            return;
        }
        const action = actions[ev.code];
        if (!action) return;
        ev.preventDefault();
        ev.stopPropagation();
        if (ev.type === 'keydown') action();
    };
    for (const type of ['keydown', 'keypress', 'keyup']) {
        window.addEventListener(type, onKey, true);
        cleanups.push(() => window.removeEventListener(type, onKey, true));
    }

    const onOnline = () => {
        if (session.status.phase === 'reconnecting') session.reconnectNow();
    };
    window.addEventListener('online', onOnline);
    cleanups.push(() => window.removeEventListener('online', onOnline));

    function showStatus(st) {
        const writer = session.isWriter;
        let conn;
        let cls;
        if (st.phase === 'connected' && st.vmConnected === false) {
            conn = `VM stopped${st.vmReason ? ` (${st.vmReason})` : ''}`;
            cls = 'warn';
        } else if (st.phase === 'connected') {
            conn = 'connected';
            cls = 'ok';
        } else if (st.phase === 'reconnecting') {
            const attempt = st.attempt > 1 ? ` (attempt ${st.attempt})` : '';
            conn = `reconnecting${attempt}${st.detail ? `: ${st.detail}` : ''}`;
            cls = 'warn';
        } else if (st.phase === 'stopped') {
            conn = `disconnected${st.detail ? `: ${st.detail}` : ''}`;
            cls = 'error';
        } else {
            conn = 'connecting…';
            cls = 'warn';
        }
        connEl.textContent = conn;
        connEl.className = `st-conn ${cls}`;
        modeEl.textContent = st.mode === 'ro' ? 'ro' : 'rw';
        modeEl.className = `st-mode ${st.mode}`;
        roBox.checked = st.mode === 'ro';

        const live = st.phase === 'connected';
        if (!live) writerEl.textContent = '';
        else if (writer) writerEl.textContent = 'you are the writer';
        else if (st.writerViewer !== null)
            writerEl.textContent = `${st.writerUser || 'another viewer'} holds the write lock`;
        else writerEl.textContent = 'nobody holds the write lock';
        takeBtn.hidden = !live || writer || st.mode === 'ro';
        takeBtn.textContent = st.writerViewer !== null ? 'Take over' : 'Take the write lock';
        releaseBtn.hidden = !live || !writer;
        retryBtn.hidden = st.phase !== 'stopped' && st.phase !== 'reconnecting';

        const names = st.viewers.map((v) => {
            const tags = [v.mode || 'rw'];
            if (v.writer) tags.push('writer');
            if (v.viewer === st.viewer) tags.push('you');
            return `${v.user} (${tags.join(', ')})`;
        });
        viewersEl.textContent =
            live && names.length
                ? `${names.length} viewer${names.length > 1 ? 's' : ''}: ${names.join(', ')}`
                : '';
        document.body.dataset.console = st.phase;
    }

    showStatus(session.status);
    session.start();
    term.focus();

    // Fill the device list from the registry; a console page also works without it.
    api.call('vm.list', {})
        .then(({ vms }) => {
            const info = (vms || []).find((v) => v.name === vm);
            if (!info || !Array.isArray(info.consoles) || info.consoles.length < 2) return;
            const current =
                dev || (info.consoles.includes('serial0') ? 'serial0' : info.consoles[0]);
            replace(
                devSelect,
                info.consoles.map((c) => h('option', { value: c, selected: c === current }, c)),
            );
            devSelect.hidden = false;
        })
        .catch(() => {});

    return () => {
        for (const fn of cleanups.reverse()) fn();
        delete document.body.dataset.console;
    };
}
