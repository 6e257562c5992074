// A console (<vg-console>, the page #/console/<vm>[/<dev>] and the VM page's console tab):
// xterm.js bound to a ConsoleSession, with fit to window, search, copy/paste, the status bar
// (connection, mode, write lock, viewers) and the read-only toggle.

import { api } from '../lib/api.js';
import { session as store } from '../lib/store.js';
import { VgElement, html, nothing, toast, formatBytes } from '../lib/ui.js';
import { isTerminalReport } from './proto.js';
import { ConsoleSession } from './session.js';
import './notices.js';
import './keys.js';
import {
    openTerminal,
    copySelection,
    pasteClipboard,
    binaryString,
    SEARCH_DECORATIONS,
} from './terminal.js';

const encoder = new TextEncoder();

function connText(st) {
    if (st.phase === 'connected' && st.vmConnected === false)
        return [`VM stopped${st.vmReason ? ` (${st.vmReason})` : ''}`, 'warn'];
    if (st.phase === 'connected') return ['connected', 'ok'];
    if (st.phase === 'reconnecting') {
        const attempt = st.attempt > 1 ? ` (attempt ${st.attempt})` : '';
        return [`reconnecting${attempt}${st.detail ? `: ${st.detail}` : ''}`, 'warn'];
    }
    if (st.phase === 'stopped')
        return [`disconnected${st.detail ? `: ${st.detail}` : ''}`, 'error'];
    return ['connecting…', 'warn'];
}

class VgConsole extends VgElement {
    static properties = {
        vm: {},
        dev: {},
        offset: {},
        embedded: { type: Boolean },
        st: { state: true },
        devs: { state: true },
        searching: { state: true },
        searchCount: { state: true },
        nextOffset: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.query = new URLSearchParams();
        this.devs = [];
        this.searching = false;
        this.searchCount = '';
        this.nextOffset = null;
        this.pendingReplay = 0; // replayed chunks handed to xterm and not parsed yet
        this.st = null;
    }

    connectedCallback() {
        super.connectedCallback();
        if (!this.vm) {
            [this.vm, this.dev = ''] = this.args;
            this.offset = this.query.get('offset') || 'ring';
        }
        this.dev = this.dev || '';
        if (!this.embedded)
            document.title = `${this.vm}${this.dev ? ` (${this.dev})` : ''} · vmgate`;
    }

    firstUpdated() {
        let startAt = this.offset || 'ring';
        if (!/^(?:ring|end|\d{1,15})$/.test(startAt)) {
            toast(`Ignored offset "${startAt}": use ring, end or a byte offset`, 'warn');
            startAt = 'ring';
        }
        const { term, search, refit, dispose } = openTerminal(this.querySelector('#terminal'));
        Object.assign(this, { term, search, refit, disposeTerm: dispose });
        // Tests and curious operators can read the terminal from the devtools console.
        const self = this;
        window.vmgate = {
            term,
            get session() {
                return self.session;
            },
        };

        this.session = new ConsoleSession({
            vm: this.vm,
            dev: this.dev,
            mode: store.can('operator', this.project()) ? 'rw' : 'ro',
            startAt,
            mintTicket: (v, d, mode) => {
                const params = { vm: v, mode };
                if (d) params.dev = d;
                return api.call('console.ticket', params);
            },
            handlers: {
                output: (data, offset, replay) => {
                    if (replay) {
                        this.pendingReplay++;
                        term.write(data, () => this.pendingReplay--);
                    } else {
                        term.write(data);
                    }
                    this.nextOffset = this.session.nextOffset;
                },
                gap(from, to) {
                    const what = `${formatBytes(to - from)} of output lost (bytes ${from}–${to})`;
                    term.write(`\r\n\x1b[2m── ${what} ──\x1b[0m\r\n`);
                },
                change: (st) => {
                    this.st = { ...st };
                    document.body.dataset.console = st.phase;
                },
                notice: (text, kind) => toast(text, kind),
                unauthorized: () => window.vgRelogin?.(),
            },
        });
        this.st = { ...this.session.status };

        term.onData((data) => {
            // xterm answers the guest's queries (busybox sends ESC[6n after every prompt)
            // through onData too: only the writer answers, and never to replayed history.
            if (isTerminalReport(data) && (this.pendingReplay > 0 || !this.session.isWriter))
                return;
            this.session.send(encoder.encode(data));
        });
        term.onBinary((data) => this.session.send(binaryString(data)));
        term.onSelectionChange(() => {
            clearTimeout(this.selectionTimer);
            if (term.hasSelection())
                this.selectionTimer = setTimeout(() => copySelection(term, false), 250);
        });
        search.onDidChangeResults(({ resultIndex, resultCount }) => {
            const q = this.querySelector('#search-input').value;
            this.searchCount = resultCount
                ? `${resultIndex + 1} of ${resultCount}`
                : q
                  ? 'no match'
                  : '';
        });

        this.onKey = (ev) => this.shortcut(ev);
        for (const type of ['keydown', 'keypress', 'keyup'])
            window.addEventListener(type, this.onKey, true);
        this.onOnline = () => {
            if (this.session.status.phase === 'reconnecting') this.session.reconnectNow();
        };
        window.addEventListener('online', this.onOnline);

        this.session.start();
        term.focus();
        this.loadDevices();
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        clearTimeout(this.selectionTimer);
        for (const type of ['keydown', 'keypress', 'keyup'])
            window.removeEventListener(type, this.onKey, true);
        window.removeEventListener('online', this.onOnline);
        this.session?.stop();
        this.disposeTerm?.();
        delete window.vmgate;
        delete document.body.dataset.console;
    }

    project() {
        return this.info?.project;
    }

    // Fill the device list from the registry; a console also works without it.
    async loadDevices() {
        try {
            // Its own name sorts first among the names it prefixes.
            const { vms } = await api.call('vm.list', { prefix: this.vm, limit: 1 });
            this.info = (vms || []).find((v) => v.name === this.vm);
            if (this.info && !store.can('operator', this.info.project) && this.st.mode === 'rw')
                this.session.setMode('ro');
            this.devs = this.info?.consoles || [];
        } catch {
            this.devs = [];
        }
    }

    // Shortcuts are caught before xterm.js sees the key, so they never reach the guest.
    // Ctrl+Shift+V only stops xterm: the browser's own paste event then delivers the text.
    shortcut(ev) {
        if (!(ev.ctrlKey && ev.shiftKey) || ev.altKey || ev.metaKey) return;
        if (ev.code === 'KeyV') {
            ev.stopPropagation();
            return;
        }
        const actions = {
            KeyF: () => this.openSearch(),
            KeyC: () => copySelection(this.term, true),
            KeyL: () => this.session.take(),
            KeyO: () => this.setReadOnly(this.st.mode !== 'ro'),
        };
        const action = actions[ev.code];
        if (!action) return;
        ev.preventDefault();
        ev.stopPropagation();
        if (ev.type === 'keydown') action();
    }

    setReadOnly(ro) {
        this.session.setMode(ro ? 'ro' : 'rw');
    }

    find(forward) {
        const q = this.querySelector('#search-input').value;
        if (!q) return;
        const opts = { decorations: SEARCH_DECORATIONS };
        if (forward) this.search.findNext(q, opts);
        else this.search.findPrevious(q, opts);
    }

    async openSearch() {
        this.searching = true;
        await this.updateComplete;
        const input = this.querySelector('#search-input');
        const selected = this.term.getSelection();
        if (selected && !selected.includes('\n')) input.value = selected;
        input.focus();
        input.select();
        requestAnimationFrame(this.refit);
    }

    closeSearch() {
        this.searching = false;
        this.search.clearDecorations();
        this.term.clearSelection();
        this.term.focus();
        requestAnimationFrame(this.refit);
    }

    searchInput(ev) {
        const q = ev.target.value;
        if (q) this.search.findNext(q, { incremental: true, decorations: SEARCH_DECORATIONS });
        else {
            this.search.clearDecorations();
            this.searchCount = '';
        }
    }

    searchKey(ev) {
        if (ev.key === 'Enter') {
            ev.preventDefault();
            this.find(!ev.shiftKey);
        } else if (ev.key === 'Escape') {
            ev.preventDefault();
            this.closeSearch();
        }
    }

    renderHeader() {
        const devs = this.devs.length > 1 ? this.devs : [];
        const current = this.dev || (this.devs.includes('serial0') ? 'serial0' : this.devs[0]);
        return html`<header class="bar sub">
            ${
                this.embedded
                    ? nothing
                    : html`<a href="#/vm/${encodeURIComponent(this.vm)}" class="back"
                              >← ${this.vm}</a
                          >
                          <strong class="vm-name" id="vm-name">${this.vm}</strong>`
            }
            <select
                id="dev"
                title="Console device"
                aria-label="Console device"
                ?hidden=${!devs.length}
                @change=${(e) =>
                    (location.hash = `#/console/${encodeURIComponent(this.vm)}/${encodeURIComponent(e.target.value)}`)}
            >
                ${devs.map((c) => html`<option value=${c} ?selected=${c === current}>${c}</option>`)}
            </select>
            <span class="spacer"></span>
            <vg-keys .vm=${this.vm} .project=${this.info?.project}></vg-keys>
            <button type="button" title="Search (Ctrl+Shift+F)" @click=${() => this.openSearch()}>
                Search
            </button>
            <button
                type="button"
                title="Copy the selection (Ctrl+Shift+C)"
                @click=${() => copySelection(this.term, true)}
            >
                Copy
            </button>
            <button
                type="button"
                title="Paste (Ctrl+Shift+V)"
                @click=${() => pasteClipboard(this.term)}
            >
                Paste
            </button>
            <label class="toggle" title="Read-only: watch without typing (Ctrl+Shift+O)">
                <input
                    type="checkbox"
                    id="readonly"
                    .checked=${this.st?.mode === 'ro'}
                    @change=${(e) => this.setReadOnly(e.target.checked)}
                />
                read-only
            </label>
        </header>`;
    }

    renderStatus() {
        const st = this.st;
        if (!st) return nothing;
        const writer = this.session?.isWriter;
        const [conn, cls] = connText(st);
        const live = st.phase === 'connected';
        let writerText = '';
        if (live && writer) writerText = 'you are the writer';
        else if (live && st.writerViewer !== null)
            writerText = `${st.writerUser || 'another viewer'} holds the write lock`;
        else if (live) writerText = 'nobody holds the write lock';
        const names = st.viewers.map((v) => {
            const tags = [v.mode || 'rw'];
            if (v.viewer === st.writerViewer) tags.push('writer');
            if (v.viewer === st.viewer) tags.push('you');
            return `${v.user} (${tags.join(', ')})`;
        });
        return html`<footer class="status" id="status">
            <span class="st-conn ${cls}" id="st-conn">${conn}</span>
            <span class="st-mode ${st.mode}" id="st-mode">${st.mode === 'ro' ? 'ro' : 'rw'}</span>
            <span class="st-writer" id="st-writer">${writerText}</span>
            <button
                type="button"
                id="take"
                title="Take the write lock (Ctrl+Shift+L)"
                ?hidden=${!live || writer || st.mode === 'ro'}
                @click=${() => this.session.take()}
            >
                ${st.writerViewer !== null ? 'Take over' : 'Take the write lock'}
            </button>
            <button
                type="button"
                class="link"
                id="release"
                title="Give the write lock up"
                ?hidden=${!live || !writer}
                @click=${() => this.session.release()}
            >
                release
            </button>
            <button
                type="button"
                id="reconnect"
                ?hidden=${st.phase !== 'stopped' && st.phase !== 'reconnecting'}
                @click=${() => this.session.reconnectNow()}
            >
                Reconnect
            </button>
            <span class="st-viewers" id="st-viewers"
                >${
                    live && st.viewerCount
                        ? `${st.viewerCount} viewer${st.viewerCount > 1 ? 's' : ''}: ${names.join(', ')}${
                              st.viewerCount > names.length
                                  ? ` and ${st.viewerCount - names.length} more`
                                  : ''
                          }`
                        : ''
                }</span
            >
            <span class="spacer"></span>
            <span class="st-offset" id="st-offset"
                >${this.nextOffset !== null ? `offset ${this.nextOffset}` : ''}</span
            >
        </footer>`;
    }

    render() {
        return html`<div class="console-page ${this.embedded ? 'embedded' : ''}">
            ${this.renderHeader()}
            <div class="searchbar" id="searchbar" ?hidden=${!this.searching}>
                <input
                    type="search"
                    id="search-input"
                    placeholder="Search output"
                    aria-label="Search output"
                    autocomplete="off"
                    spellcheck="false"
                    @input=${(e) => this.searchInput(e)}
                    @keydown=${(e) => this.searchKey(e)}
                />
                <button
                    type="button"
                    title="Previous (Shift+Enter)"
                    @click=${() => this.find(false)}
                >
                    ↑
                </button>
                <button type="button" title="Next (Enter)" @click=${() => this.find(true)}>
                    ↓
                </button>
                <span class="search-count" id="search-count">${this.searchCount}</span>
                <button
                    type="button"
                    class="link"
                    title="Close (Esc)"
                    @click=${() => this.closeSearch()}
                >
                    close
                </button>
            </div>
            <vg-notices .vm=${this.vm}></vg-notices>
            <div class="term-wrap"><div class="term" id="terminal"></div></div>
            ${this.renderStatus()}
        </div>`;
    }
}
customElements.define('vg-console', VgConsole);
