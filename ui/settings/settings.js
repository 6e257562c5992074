// Settings (#/settings, administrators): the runtime settings of docs/api.md "Settings" with
// their value, range and default; a change applies on every gateway and hostd without a
// restart. An out-of-range value shows the API's message at the field.

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, toast } from '../lib/ui.js';

class VgSettings extends VgElement {
    static properties = {
        settings: { state: true },
        errors: { state: true },
    };

    constructor() {
        super();
        this.settings = [];
        this.errors = {};
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Settings · vmgate';
        this.listen(['settings.changed']);
        this.reload();
    }

    async reload() {
        if (!session.isAdmin) return;
        const res = await this.call('settings.list', {}, 'Settings');
        if (res) this.settings = res.settings;
    }

    async save(s, value) {
        this.errors = { ...this.errors, [s.name]: '' };
        try {
            await api.call('settings.set', { name: s.name, value });
            toast(`${s.name} is now ${value ?? `its default`}`);
            this.reload();
        } catch (err) {
            this.errors = { ...this.errors, [s.name]: err.message };
        }
    }

    row(s) {
        return html`<tr data-setting=${s.name}>
            <td><strong><label for="set-${s.name}">${s.name}</label></strong><div class="dim">${s.doc}</div></td>
            <td>
                <form
                    class="inline"
                    novalidate
                    @submit=${(e) => {
                        e.preventDefault();
                        this.save(s, Number(e.target.elements.value.value));
                    }}
                >
                    <input id="set-${s.name}" name="value" type="number" .value=${String(s.value)} />
                    <button type="submit" data-save=${s.name}>Set</button>
                    ${s.default
                        ? html`<span class="dim">default</span>`
                        : html`<button type="button" data-reset=${s.name} @click=${() => this.save(s, null)}>
                              Default (${s.default_value})
                          </button>`}
                </form>
                <span class="field-error" id="set-${s.name}-error" role="alert">${this.errors[s.name] || nothing}</span>
            </td>
            <td class="dim">${s.min}–${s.max}</td>
            <td class="dim">${s.applies}</td>
        </tr>`;
    }

    render() {
        if (!session.isAdmin)
            return html`<main><p class="empty">Settings are managed by administrators.</p></main>`;
        return html`<header class="bar sub"><h1>Settings</h1></header>
            <main>
                <p class="dim">
                    Applied on every gateway and host without a restart. Everything else is a
                    configuration-file option (docs/operations.md).
                </p>
                <table class="grid" id="settings-table">
                    <thead>
                        <tr>
                            <th>Setting</th>
                            <th>Value</th>
                            <th>Range</th>
                            <th>Applies</th>
                        </tr>
                    </thead>
                    <tbody>
                        ${this.settings.map((s) => this.row(s))}
                    </tbody>
                </table>
            </main>`;
    }
}
customElements.define('vg-settings', VgSettings);
