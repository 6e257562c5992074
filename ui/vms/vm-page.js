// The VM page (#/vm/<vm>[/<tab>]): state and power actions, and the tabs overview, console,
// snapshots, metrics (monitoring/charts.js), recordings, settings, CD-ROM, migrate, clone and delete. Live
// from vm.state / vm.migrated.

import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, html, nothing, stateBadge, formatMib, formatTime } from '../lib/ui.js';
import '../console/console.js';
import './snapshots.js';
import './recordings.js';
import './vm-tabs.js';
import '../monitoring/charts.js';

const TABS = [
    ['overview', 'Overview'],
    ['console', 'Console'],
    ['snapshots', 'Snapshots'],
    ['metrics', 'Metrics'],
    ['recordings', 'Recordings'],
    ['settings', 'Settings'],
    ['cdrom', 'CD-ROM'],
    ['migrate', 'Migrate'],
    ['clone', 'Clone'],
    ['delete', 'Delete'],
];

// [method, label, the states it applies to (docs/api.md, Lifecycle)]
const POWER = [
    ['vm.start', 'Start', ['shutoff', 'crashed']],
    ['vm.shutdown', 'Shut down', ['running', 'blocked']],
    ['vm.reboot', 'Reboot', ['running', 'blocked']],
    ['vm.reset', 'Reset', ['running', 'paused', 'blocked']],
    ['vm.destroy', 'Power off', ['running', 'paused', 'crashed', 'blocked', 'pmsuspended']],
    ['vm.suspend', 'Pause', ['running', 'blocked']],
    ['vm.resume', 'Resume', ['paused']],
    ['vm.save', 'Save', ['running', 'paused']],
    ['vm.restore', 'Restore', ['shutoff']],
];

class VgVmPage extends VgElement {
    static properties = {
        args: { attribute: false },
        vm: { state: true },
        error: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.vm = null;
        this.error = '';
    }

    get name() {
        return this.args[0];
    }

    get tab() {
        const t = this.args[1] || 'overview';
        return TABS.some(([k]) => k === t) ? t : 'overview';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = `${this.name} · vmgate`;
        const mine = (fn) => (data) => (data.vm === this.name ? fn(data) : null);
        this.listen(
            ['vm.state'],
            mine((d) => {
                if (this.vm) this.vm = { ...this.vm, state: d.state, host: d.host || this.vm.host };
            }),
        );
        this.listen(['vm.migrated', 'vm.deleted', 'vm.added', 'host.up', 'host.down'], () =>
            this.scheduleReload(),
        );
        this.reload();
    }

    async reload() {
        try {
            this.vm = await api.call('vm.get', { vm: this.name });
            this.error = '';
        } catch (err) {
            this.error = err.message;
        }
    }

    get canOperate() {
        if (!this.vm) return false;
        return this.vm.project ? session.can('operator', this.vm.project) : session.isAdmin;
    }

    async power(method, label) {
        const res = await this.op(`${label} ${this.name}`, method, { vm: this.name });
        if (res) this.vm = { ...this.vm, state: res.state, host: res.host };
    }

    tabKey(ev) {
        const i = TABS.findIndex(([k]) => k === this.tab);
        let j = -1;
        if (ev.key === 'ArrowRight') j = (i + 1) % TABS.length;
        else if (ev.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
        else if (ev.key === 'Home') j = 0;
        else if (ev.key === 'End') j = TABS.length - 1;
        if (j < 0) return;
        ev.preventDefault();
        location.hash = `#/vm/${encodeURIComponent(this.name)}/${TABS[j][0]}`;
        this.updateComplete.then(() => this.querySelector(`#tab-${TABS[j][0]}`)?.focus());
    }

    renderOverview(vm) {
        const spec = vm.spec || {};
        return html`<section class="cards" id="vm-overview">
            <div class="card">
                <h2>State</h2>
                <dl class="facts">
                    <dt>State</dt>
                    <dd>${stateBadge(vm.state)}</dd>
                    <dt>Host</dt>
                    <dd>${vm.host || '—'}${vm.host_up === false ? ' (down)' : ''}</dd>
                    <dt>Project</dt>
                    <dd>
                        ${vm.project ? html`<a href="#/projects/${encodeURIComponent(vm.project)}">${vm.project}</a>` : 'none'}
                    </dd>
                    <dt>Environment</dt>
                    <dd>
                        ${vm.env ? html`<a href="#/envs/${encodeURIComponent(vm.env)}">${vm.env}</a> (${vm.role})` : '—'}
                    </dd>
                    <dt>Consoles</dt>
                    <dd>
                        ${(vm.consoles || []).map((c) => html`<a class="dev" href="#/console/${encodeURIComponent(vm.name)}/${encodeURIComponent(c)}">${c}</a> `)}
                    </dd>
                    <dt>Snapshots</dt>
                    <dd>${vm.snapshots ?? 0}</dd>
                </dl>
            </div>
            <div class="card">
                <h2>Spec</h2>
                <dl class="facts">
                    <dt>vCPUs</dt>
                    <dd>${vm.vcpus}</dd>
                    <dt>Memory</dt>
                    <dd>${formatMib(vm.memory_mib)}</dd>
                    <dt>Disk</dt>
                    <dd>${formatMib(vm.disk_mib || 0)}</dd>
                    <dt>Disks</dt>
                    <dd>${(spec.disks || []).length}</dd>
                    <dt>NICs</dt>
                    <dd id="vm-nics">
                        ${(spec.nics || [])
                            .map(
                                (n) =>
                                    `${n.network}${n.ip ? ` ${n.ip}` : ''}${
                                        n.secgroups ? ` [groups: ${n.secgroups.join(', ') || 'project default'}]` : ''
                                    }`,
                            )
                            .join('; ') || '—'}
                    </dd>
                    <dt>CD-ROM</dt>
                    <dd>${spec.cdrom ? spec.cdrom.media || 'empty' : 'no drive'}</dd>
                    <dt>Boot</dt>
                    <dd>
                        ${spec.kernel ? `kernel ${spec.kernel.kernel}` : (spec.boot?.order || ['hd']).join(', ')}
                    </dd>
                </dl>
            </div>
            <div class="card">
                <h2>About</h2>
                <dl class="facts">
                    <dt>UUID</dt>
                    <dd>${vm.uuid}</dd>
                    <dt>Created</dt>
                    <dd>
                        ${formatTime(vm.created_ms)}${vm.created_by ? ` by ${vm.created_by}` : ''}
                    </dd>
                    <dt>Adopted</dt>
                    <dd>${vm.adopted ? 'yes' : 'no'}</dd>
                    <dt>Description</dt>
                    <dd>${vm.description || '—'}</dd>
                </dl>
            </div>
        </section>`;
    }

    renderTab(vm) {
        const props = { vm, canOperate: this.canOperate };
        switch (this.tab) {
            case 'console':
                return html`<vg-console
                    embedded
                    .vm=${vm.name}
                    .dev=${''}
                    .offset=${'ring'}
                ></vg-console>`;
            case 'snapshots':
                return html`<vg-vm-snapshots
                    .vm=${vm}
                    .canOperate=${props.canOperate}
                ></vg-vm-snapshots>`;
            case 'recordings':
                return html`<vg-vm-recordings .vm=${vm}></vg-vm-recordings>`;
            case 'metrics':
                return html`<vg-metrics-charts .kind=${'vm'} .name=${vm.name}></vg-metrics-charts>`;
            case 'overview':
                return this.renderOverview(vm);
            default:
                return html`<vg-vm-tab
                    .tab=${this.tab}
                    .vm=${vm}
                    .canOperate=${props.canOperate}
                    .onChanged=${() => this.reload()}
                ></vg-vm-tab>`;
        }
    }

    render() {
        if (this.error && !this.vm)
            return html`<main>
                <p class="form-error" role="alert" id="vm-error">${this.name}: ${this.error}</p>
                <a href="#/vms">VM list</a>
            </main>`;
        const vm = this.vm;
        if (!vm) return html`<p class="loading">Loading…</p>`;
        return html`<header class="bar sub">
                <a href="#/vms" class="back">← VMs</a>
                <h1 id="vm-name">${vm.name}</h1>
                <span id="vm-state">${stateBadge(vm.state)}</span>
                <span class="dim">${vm.host || ''}</span>
                <span class="spacer"></span>
                ${
                    this.canOperate
                        ? html`<span class="batch" role="group" aria-label="Power">
                              ${POWER.filter(
                                  ([, , states]) =>
                                      states.includes(vm.state) || vm.state === 'unknown',
                              ).map(
                                  ([method, label]) =>
                                      html`<button
                                          type="button"
                                          data-power=${method}
                                          @click=${() => this.power(method, label)}
                                      >
                                          ${label}
                                      </button>`,
                              )}
                          </span>`
                        : nothing
                }
            </header>
            <div role="tablist" aria-label="VM" @keydown=${(e) => this.tabKey(e)}>
                ${TABS.map(
                    ([key, label]) =>
                        html`<button
                            type="button"
                            role="tab"
                            id="tab-${key}"
                            aria-selected=${this.tab === key ? 'true' : 'false'}
                            tabindex=${this.tab === key ? '0' : '-1'}
                            @click=${() => (location.hash = `#/vm/${encodeURIComponent(vm.name)}/${key}`)}
                        >
                            ${label}
                        </button>`,
                )}
            </div>
            <div role="tabpanel" aria-labelledby="tab-${this.tab}" class="tabpanel">
                ${this.renderTab(vm)}
            </div>`;
    }
}
customElements.define('vg-vm-page', VgVmPage);
