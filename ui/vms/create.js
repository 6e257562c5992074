// Create a VM (#/vms/new): the project, the whole spec (vms/spec-form.js), and whether to start
// it. The API checks the spec; a refusal naming a field is shown at that field.

import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, html, nothing, longOp } from '../lib/ui.js';
import { modelOf, placeError, toSpec } from './spec-form.js';
import { vmHref } from './list.js';

class VgVmCreate extends VgElement {
    static properties = {
        projects: { state: true },
        project: { state: true },
        errors: { state: true },
        error: { state: true },
        busy: { state: true },
        hosts: { state: true },
        groups: { state: true },
    };

    constructor() {
        super();
        this.projects = [];
        this.project = '';
        this.errors = {};
        this.error = '';
        this.busy = false;
        this.hosts = [];
        this.groups = [];
        this.model = modelOf({ nics: [], disks: [] });
        this.start = true;
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'New VM · vmgate';
        this.reload();
    }

    async reload() {
        const [p, h, g] = await Promise.all([
            this.call('project.list', {}, 'Projects'),
            this.call('host.list', {}, 'Hosts'),
            this.call('hostgroup.list', {}, 'Host groups'),
        ]);
        this.projects = (p?.projects || []).filter(
            (x) => session.can('operator', x.name) && x.active,
        );
        this.project ||= this.query?.get('project') || this.projects[0]?.name || '';
        this.hosts = (h?.hosts || []).map((x) => x.id);
        this.groups = (g?.groups || []).map((x) => x.name);
    }

    async submit(ev) {
        ev.preventDefault();
        this.errors = {};
        this.error = '';
        const spec = toSpec(this.model);
        this.busy = true;
        try {
            const res = await longOp(
                `Create ${spec.name || 'VM'}`,
                api
                    .call('vm.create', { project: this.project, spec }, { timeout: 90000 })
                    .catch((err) => {
                        this.showError(err);
                        throw err;
                    }),
            );
            if (!res) return;
            if (this.start)
                await longOp(
                    `Start ${res.vm}`,
                    api.call('vm.start', { vm: res.vm }, { timeout: 90000 }),
                );
            location.hash = vmHref(res.vm, this.start ? 'console' : '');
        } finally {
            this.busy = false;
        }
    }

    showError(err) {
        ({ errors: this.errors, error: this.error } = placeError(this, err));
    }

    render() {
        if (!session.operatesSomewhere)
            return html`<main>
                <p class="empty">Creating VMs needs the operator role in a project.</p>
            </main>`;
        return html`<header class="bar sub"><h1>New VM</h1></header>
            <main>
                <form class="form" id="create-form" novalidate @submit=${(e) => this.submit(e)}>
                    <label for="f-project">Project</label>
                    <div class="field">
                        <select id="f-project" @change=${(e) => (this.project = e.target.value)}>
                            ${this.projects.map(
                                (p) =>
                                    html`<option
                                        value=${p.name}
                                        ?selected=${p.name === this.project}
                                    >
                                        ${p.name}
                                    </option>`,
                            )}
                        </select>
                    </div>
                    <vg-spec-form
                        .model=${this.model}
                        .errors=${this.errors}
                        .hosts=${this.hosts}
                        .groups=${this.groups}
                        ?admin=${session.isAdmin}
                    ></vg-spec-form>
                    <label for="f-start">Start it</label>
                    <div class="field">
                        <input
                            type="checkbox"
                            id="f-start"
                            .checked=${this.start}
                            @change=${(e) => (this.start = e.target.checked)}
                        />
                    </div>
                    <p class="form-error full" id="create-error" role="alert">${this.error}</p>
                    <div class="actions">
                        <button
                            type="submit"
                            class="primary"
                            id="create-submit"
                            ?disabled=${this.busy || !this.project}
                        >
                            Create VM
                        </button>
                        <a href="#/vms">Cancel</a>
                    </div>
                </form>
                ${this.projects.length ? nothing : html`<p class="empty">No project you may create VMs in.</p>`}
            </main>`;
    }
}
customElements.define('vg-vm-create', VgVmCreate);
