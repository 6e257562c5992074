// The shared components: VgElement (the base of every page), notices (toasts), long-operation
// progress, the typed confirmation dialog, usage bars and field errors. Pages are lit elements
// rendered into the light DOM, so one style sheet (css/) styles them all and tests find their
// elements with plain selectors.

import { LitElement, html, nothing } from 'lit';
import { api, LONG_CALL_MS } from './api.js';
import { live, session } from './store.js';

export { html, nothing };

const recent = new Map();

// Shows a notice for a few seconds. The same text is not repeated while it is still on screen,
// so a burst of refused keystrokes gives one toast, not fifty.
export function toast(text, kind = 'info', ms = 4000) {
    if (recent.has(text)) return;
    let box = document.getElementById('toasts');
    if (!box) {
        box = document.createElement('div');
        box.id = 'toasts';
        box.setAttribute('role', 'status');
        box.setAttribute('aria-live', 'polite');
        document.body.append(box);
    }
    const el = document.createElement('div');
    el.className = `toast toast-${kind}`;
    el.textContent = text;
    box.append(el);
    recent.set(text, el);
    setTimeout(() => {
        el.remove();
        recent.delete(text);
    }, ms);
}

// A long operation (create, migrate, save, snapshot, batch power): a progress line in the
// #ops panel while it runs, a toast when it ends. Resolves to the result, or null on error
// (whose API message the toast shows).
export async function longOp(label, promise) {
    let box = document.getElementById('ops');
    if (!box) {
        box = document.createElement('div');
        box.id = 'ops';
        box.setAttribute('aria-live', 'polite');
        document.body.append(box);
    }
    const row = document.createElement('div');
    row.className = 'op';
    const bar = document.createElement('progress');
    const text = document.createElement('span');
    text.textContent = `${label}…`;
    row.append(bar, text);
    box.append(row);
    try {
        const result = await promise;
        toast(`${label}: done`, 'ok');
        return result;
    } catch (err) {
        toast(`${label}: ${err.message}`, 'error', 8000);
        return null;
    } finally {
        row.remove();
    }
}

export function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
    return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

export function formatMib(mib) {
    if (mib === -1) return '∞';
    return mib >= 1024 ? `${Math.round((mib / 1024) * 10) / 10} GiB` : `${mib} MiB`;
}

export const formatTime = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

// The field an API validation message is about: `"password" must be …` names a parameter,
// `spec.disks[1].size_mib must be …` a path into the spec. '' when it names none.
export function fieldOf(message) {
    const quoted = /^"([A-Za-z_]+)"/.exec(message || '');
    if (quoted) return quoted[1];
    const spec = /\b(spec(?:\.[a-z_]+|\[\d+\])+)/.exec(message || '');
    return spec ? spec[1] : '';
}

export function stateBadge(state) {
    const s = state || 'unknown';
    return html`<span class="state state-${s}">${s}</span>`;
}

// used of quota (-1 = unlimited) as a bar with the numbers beside it.
export function usageBar(name, used, quota, fmt = String) {
    const limited = quota !== -1;
    const pct = limited ? Math.min(100, quota ? (used / quota) * 100 : 100) : 0;
    const cls = pct >= 90 ? 'high' : pct >= 70 ? 'mid' : '';
    return html`<div class="usage" data-quota=${name}>
        <span class="usage-name">${name}</span>
        <meter min="0" max="100" value=${limited ? pct : 0} class=${cls}></meter>
        <span class="usage-num">${fmt(used)} of ${limited ? fmt(quota) : 'unlimited'}</span>
    </div>`;
}

// The base of every page: light DOM, calls with the API's message on error, listeners that end
// with the element.
export class VgElement extends LitElement {
    createRenderRoot() {
        return this;
    }

    connectedCallback() {
        super.connectedCallback();
        this._offs = [session.on(() => this.requestUpdate())];
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        this._offs.forEach((off) => off());
        this._offs = [];
        clearTimeout(this._reloadTimer);
    }

    // Reloads (debounced) on these events; reload() is the page's own.
    listen(types, fn = () => this.scheduleReload()) {
        this._offs.push(live.on(types, fn));
    }

    scheduleReload(ms = 300) {
        clearTimeout(this._reloadTimer);
        this._reloadTimer = setTimeout(() => this.reload?.(), ms);
    }

    // A call whose error is shown as a toast; resolves to the result or null.
    async call(method, params = {}, what = method) {
        try {
            return await api.call(method, params);
        } catch (err) {
            toast(`${what}: ${err.message}`, 'error', 8000);
            return null;
        }
    }

    // A mutating call shown as a long operation (progress, then a toast).
    op(label, method, params = {}) {
        return longOp(label, api.call(method, params, { timeout: LONG_CALL_MS }));
    }
}

// Asks before a destructive action. With `typed`, the user must type that word (the VM's name)
// before the button enables. Resolves true when confirmed.
export class VgConfirm extends LitElement {
    static properties = {
        text: {},
        typed: {},
        action: {},
        extra: { attribute: false },
        value: { state: true },
    };

    createRenderRoot() {
        return this;
    }

    static ask({ text, typed = '', action = 'Delete', extra = nothing }) {
        const dlg = document.createElement('vg-confirm');
        Object.assign(dlg, { text, typed, action, extra, value: '' });
        document.body.append(dlg);
        return new Promise((resolve) => {
            dlg.done = (ok) => {
                dlg.remove();
                resolve(ok ? dlg : null);
            };
        });
    }

    firstUpdated() {
        const d = this.querySelector('dialog');
        d.showModal();
        d.addEventListener('cancel', () => this.done(false));
    }

    render() {
        const ready = !this.typed || this.value === this.typed;
        return html`<dialog class="confirm" aria-labelledby="confirm-text">
            <form
                method="dialog"
                @submit=${(e) => {
                    e.preventDefault();
                    if (ready) this.done(true);
                }}
            >
                <p id="confirm-text">${this.text}</p>
                ${this.extra}
                ${
                    this.typed
                        ? html`<label
                              >Type <code>${this.typed}</code> to confirm
                              <input
                                  id="confirm-typed"
                                  autocomplete="off"
                                  .value=${this.value}
                                  @input=${(e) => (this.value = e.target.value)}
                          /></label>`
                        : nothing
                }
                <div class="actions">
                    <button type="button" @click=${() => this.done(false)}>Cancel</button>
                    <button type="submit" id="confirm-ok" class="danger" ?disabled=${!ready}>
                        ${this.action}
                    </button>
                </div>
            </form>
        </dialog>`;
    }
}
customElements.define('vg-confirm', VgConfirm);
