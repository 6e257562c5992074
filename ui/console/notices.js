// Operator notices (C11, docs/api.md "Notices") in the browser: <vg-notices vm=…> is the banner
// over a console — every live notice a viewer of the VM sees, with its acknowledge button, and
// for operators a small form to send one — and watchNoticeToasts() shows new notices as toasts
// (the VM list). Notices never touch the terminal: nothing of them reaches the guest.

import { api } from '../lib/api.js';
import { live, session as store } from '../lib/store.js';
import { VgElement, html, nothing, toast } from '../lib/ui.js';

const EVENTS = ['notice.sent', 'notice.acked', 'notice.cancelled'];
const LEVEL_KIND = { info: 'info', warn: 'warn', critical: 'error' };

const noticeLine = (n) => `Notice from ${n.sender}: ${n.text}`;

// Toasts for the notices that arrive while the page is open, and for those alive and not
// acknowledged yet when it opens. Returns the function that stops it.
export function watchNoticeToasts() {
    const show = (n) => toast(noticeLine(n), LEVEL_KIND[n.level] || 'info', 10000);
    api.call('notice.list', {})
        .then(({ notices }) => notices.filter((n) => n.acked_ms === null).forEach(show))
        .catch(() => {});
    return live.on(['notice.sent'], show);
}

class VgNotices extends VgElement {
    static properties = {
        vm: {},
        notices: { state: true },
        project: { state: true },
        composing: { state: true },
    };

    constructor() {
        super();
        this.notices = [];
        this.project = undefined;
        this.composing = false;
    }

    connectedCallback() {
        super.connectedCallback();
        this.listen(EVENTS, () => this.scheduleReload(100));
        this._offs.push(live.onStatus((on) => on && this.reload()));
        // Expired notices go when they expire, without an event.
        this.sweep = setInterval(() => {
            const now = Date.now();
            if (this.notices.some((n) => n.expires_ms <= now))
                this.notices = this.notices.filter((n) => n.expires_ms > now);
        }, 1000);
        this.reload();
        api.call('vm.get', { vm: this.vm })
            .then((v) => (this.project = v.project || ''))
            .catch(() => {});
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        clearInterval(this.sweep);
    }

    async reload() {
        try {
            const { notices } = await api.call('notice.list', { vm: this.vm });
            this.notices = notices;
        } catch {
            // The console works without notices; the next event tries again.
        }
    }

    async ack(n) {
        const r = await this.call('notice.ack', { id: n.id }, 'Acknowledge');
        if (r) this.notices = this.notices.map((x) => (x.id === n.id ? { ...x, ...r } : x));
    }

    async send(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const scope = f.scope.value;
        const params = {
            scope,
            text: f.text.value,
            level: f.level.value,
            ttl_s: Number(f.ttl.value) * 60,
            require_ack: f.require_ack.checked,
        };
        if (scope === 'vm') params.target = this.vm;
        if (scope === 'project') params.target = this.project;
        if (await this.call('notice.send', params, 'Send notice')) {
            this.composing = false;
            this.reload();
        }
    }

    renderForm() {
        return html`<form class="notice-form" id="notice-form" @submit=${(e) => this.send(e)}>
            <select name="scope" aria-label="Who sees it">
                <option value="vm">viewers of ${this.vm}</option>
                ${
                    this.project
                        ? html`<option value="project">project ${this.project}</option>`
                        : nothing
                }
                ${store.isAdmin ? html`<option value="all">everyone</option>` : nothing}
            </select>
            <input
                name="text"
                id="notice-text"
                required
                maxlength="1000"
                placeholder="Message (shown over the console, never sent to the VM)"
                autocomplete="off"
            />
            <select name="level" aria-label="Level">
                <option value="info">info</option>
                <option value="warn">warn</option>
                <option value="critical">critical</option>
            </select>
            <label>for <input name="ttl" type="number" min="1" max="10080" value="60" /> min</label>
            <label class="toggle"><input name="require_ack" type="checkbox" /> ask to acknowledge</label>
            <button type="submit" id="notice-send">Send</button>
            <button type="button" class="link" @click=${() => (this.composing = false)}>
                cancel
            </button>
        </form>`;
    }

    render() {
        const open = this.notices.filter((n) => n.acked_ms === null);
        const mayCompose =
            this.project !== undefined &&
            (this.project ? store.can('operator', this.project) : store.isAdmin);
        return html`<div class="notices" id="notices">
            ${open.map(
                (n) => html`<div
                    class="notice-banner notice-${n.level}"
                    role="alert"
                    data-notice=${n.id}
                >
                    <strong class="notice-level">${n.level}</strong>
                    <span class="notice-text">${n.text}</span>
                    <span class="notice-meta"
                        >— ${n.sender}, until ${new Date(n.expires_ms).toLocaleTimeString()}</span
                    >
                    <span class="spacer"></span>
                    <button
                        type="button"
                        class="notice-ack ${n.require_ack ? 'primary' : ''}"
                        @click=${() => this.ack(n)}
                    >
                        ${n.require_ack ? 'Acknowledge' : 'Dismiss'}
                    </button>
                </div>`,
            )}
            ${this.composing ? this.renderForm() : nothing}
            ${
                mayCompose && !this.composing
                    ? html`<button
                          type="button"
                          class="link notice-new"
                          id="notice-new"
                          @click=${() => (this.composing = true)}
                      >
                          send a notice…
                      </button>`
                    : nothing
            }
        </div>`;
    }
}
customElements.define('vg-notices', VgNotices);
