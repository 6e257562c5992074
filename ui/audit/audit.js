// The audit trail (#/audit, administrators): the query form with every filter of audit.query,
// paging by cursor, export of the same selection as JSON lines or CSV (audit.export, saved as
// a file), and purge of old entries (audit.purge, re-authenticated).

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, formatTime, toast } from '../lib/ui.js';

const KINDS = ['', 'login', 'api', 'console', 'purge', 'notice'];
const TEXT_FILTERS = ['user', 'vm', 'addr', 'result'];

class VgAudit extends VgElement {
    static properties = {
        entries: { state: true },
        next: { state: true },
        pages: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.entries = [];
        this.next = '';
        this.pages = []; // cursors of the pages before this one
        this.cursor = '';
        this.error = '';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Audit · vmgate';
    }

    firstUpdated() {
        if (session.isAdmin) this.runQuery();
    }

    // The filters of the form as audit.query / audit.export take them.
    filters() {
        const f = this.querySelector('#audit-form').elements;
        const p = {};
        for (const k of TEXT_FILTERS) if (f[k].value.trim()) p[k] = f[k].value.trim();
        if (f.kind.value) p.kind = f.kind.value;
        if (f.from.value) p.from = new Date(f.from.value).getTime();
        if (f.to.value) p.to = new Date(f.to.value).getTime();
        p.order = f.order.value;
        return p;
    }

    async runQuery(cursor = '') {
        const f = this.querySelector('#audit-form').elements;
        const params = { ...this.filters(), limit: Number(f.limit.value) };
        if (cursor) params.cursor = cursor;
        try {
            const res = await api.call('audit.query', params);
            this.entries = res.entries;
            this.next = res.next_cursor;
            this.cursor = cursor;
            this.error = '';
        } catch (err) {
            this.error = err.message;
        }
    }

    submit(ev) {
        ev.preventDefault();
        this.pages = [];
        this.runQuery();
    }

    nextPage() {
        this.pages = [...this.pages, this.cursor];
        this.runQuery(this.next);
    }

    prevPage() {
        const pages = this.pages.slice();
        const cursor = pages.pop();
        this.pages = pages;
        this.runQuery(cursor);
    }

    async export(format) {
        try {
            const res = await api.call('audit.export', { ...this.filters(), format });
            const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
            const a = document.createElement('a');
            a.href = URL.createObjectURL(new Blob([res.data], { type }));
            a.download = `vmgate-audit.${format === 'csv' ? 'csv' : 'jsonl'}`;
            a.click();
            setTimeout(() => URL.revokeObjectURL(a.href), 10000);
            toast(
                `Exported ${res.count} entries${res.next_cursor ? ' (more remain: narrow the filter)' : ''}`,
                'ok',
            );
        } catch (err) {
            this.error = err.message;
        }
    }

    async purge() {
        let before = '';
        let password = '';
        const ok = await VgConfirm.ask({
            text: 'Delete every audit entry before a time (purge records stay).',
            action: 'Purge',
            extra: html`<label
                    >Before
                    <input
                        type="datetime-local"
                        id="purge-before"
                        @input=${(e) => (before = e.target.value)}
                /></label>
                <label
                    >Your password (re-authentication)
                    <input
                        type="password"
                        id="reauth-password"
                        autocomplete="current-password"
                        @input=${(e) => (password = e.target.value)}
                /></label>`,
        });
        if (!ok) return;
        const res = await this.op('Purge the audit trail', 'audit.purge', {
            before: before ? new Date(before).getTime() : 0,
            admin_password: password,
        });
        if (res) {
            toast(`Purged ${res.deleted} entries`, 'ok');
            this.runQuery();
        }
    }

    render() {
        if (!session.isAdmin)
            return html`<main><p class="empty">The audit trail is for administrators.</p></main>`;
        return html`<header class="bar sub">
                <h1>Audit</h1>
                <span class="spacer"></span>
                <button type="button" id="audit-export-jsonl" @click=${() => this.export('jsonl')}>
                    Export JSON lines
                </button>
                <button type="button" id="audit-export-csv" @click=${() => this.export('csv')}>
                    Export CSV
                </button>
                <button type="button" class="danger" id="audit-purge" @click=${() => this.purge()}>
                    Purge…
                </button>
            </header>
            <main>
                <form class="inline-form" id="audit-form" @submit=${(e) => this.submit(e)}>
                    <label>From <input type="datetime-local" name="from" /></label>
                    <label>To <input type="datetime-local" name="to" /></label>
                    <label
                        >Kind
                        <select name="kind">
                            ${KINDS.map((k) => html`<option value=${k}>${k || 'any'}</option>`)}
                        </select></label
                    >
                    ${TEXT_FILTERS.map((k) => html`<label>${k} <input name=${k} id="audit-${k}" size="10" autocomplete="off" /></label>`)}
                    <label
                        >Order
                        <select name="order">
                            <option value="desc">newest first</option>
                            <option value="asc">oldest first</option>
                        </select></label
                    >
                    <label
                        >Per page
                        <select name="limit">
                            <option>25</option>
                            <option selected>100</option>
                            <option>500</option>
                        </select></label
                    >
                    <button type="submit" class="primary" id="audit-query">Query</button>
                </form>
                <p class="form-error" role="alert" id="audit-error">${this.error}</p>
                <table class="grid" id="audit-table">
                    <thead>
                        <tr>
                            <th>Time</th>
                            <th>Kind</th>
                            <th>User</th>
                            <th>Address</th>
                            <th>Method</th>
                            <th>VM</th>
                            <th>Project</th>
                            <th>Result</th>
                            <th>Detail</th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.entries.map(
                            (e) =>
                                html`<tr data-id=${e.id}>
                                    <td>${formatTime(e.ts)}</td>
                                    <td>${e.kind}</td>
                                    <td>${e.user}</td>
                                    <td>${e.addr}</td>
                                    <td>${e.method}</td>
                                    <td>${e.vm}</td>
                                    <td>${e.project}</td>
                                    <td class=${e.result === 'ok' ? 'count-ok' : 'count-bad'}>
                                        ${e.result}
                                    </td>
                                    <td>${e.detail}</td>
                                </tr>`,
                        )}
                    </tbody>
                </table>
                ${this.entries.length ? nothing : html`<p class="empty">No entries match.</p>`}
                <div class="actions">
                    <button
                        type="button"
                        id="audit-prev"
                        ?disabled=${!this.pages.length}
                        @click=${() => this.prevPage()}
                    >
                        Previous page
                    </button>
                    <button
                        type="button"
                        id="audit-next"
                        ?disabled=${!this.next}
                        @click=${() => this.nextPage()}
                    >
                        Next page
                    </button>
                    <span class="dim">page ${this.pages.length + 1}</span>
                </div>
            </main>`;
    }
}
customElements.define('vg-audit', VgAudit);
