// Monitoring (#/monitoring[/<vm|host>/<name>]): the active alerts and the last transitions
// (alert.list, live from alert.* events), the latest values of every visible VM and host
// (metrics.latest) and the charts of the one chosen (<vg-metrics-charts>); for administrators
// the threshold rules and webhooks (alert.rule.*, webhook.*).

import { html, nothing } from 'lit';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, formatBytes, formatTime } from '../lib/ui.js';
import './charts.js';

const ALERT_EVENTS = ['alert.firing', 'alert.resolved'];
const num = (v, unit = '') => (typeof v === 'number' ? `${Math.round(v * 10) / 10}${unit}` : '—');

class VgMonitoring extends VgElement {
    static properties = {
        args: { attribute: false },
        alerts: { state: true },
        recent: { state: true },
        vms: { state: true },
        hosts: { state: true },
        rules: { state: true },
        webhooks: { state: true },
    };

    constructor() {
        super();
        this.args = [];
        this.alerts = [];
        this.recent = [];
        this.vms = [];
        this.hosts = [];
        this.rules = [];
        this.webhooks = [];
    }

    get kind() {
        return this.args[0] === 'host' ? 'host' : 'vm';
    }

    get target() {
        return this.args[1] || '';
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Monitoring · vmgate';
        this.listen(ALERT_EVENTS);
        this.timer = setInterval(() => this.reload(), 10000);
        this.reload();
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        clearInterval(this.timer);
    }

    async reload() {
        const admin = session.isAdmin;
        const [a, v, h, r, w] = await Promise.all([
            this.call('alert.list', { recent: 20 }, 'Alerts'),
            this.call('metrics.latest', { target: 'vm' }, 'VM metrics'),
            this.call('metrics.latest', { target: 'host' }, 'Host metrics'),
            admin ? this.call('alert.rule.list', {}, 'Alert rules') : null,
            admin ? this.call('webhook.list', {}, 'Webhooks') : null,
        ]);
        if (a) [this.alerts, this.recent] = [a.alerts, a.recent];
        if (v) this.vms = v.targets;
        if (h) this.hosts = h.targets;
        if (r) this.rules = r.rules;
        if (w) this.webhooks = w.webhooks;
        if (!this.target && (this.vms.length || this.hosts.length)) {
            const first = this.vms[0] ? `vm/${this.vms[0].name}` : `host/${this.hosts[0].name}`;
            location.replace(`#/monitoring/${first}`);
        }
    }

    async deleteNamed(method, name, what) {
        if (!(await VgConfirm.ask({ text: `Delete ${what} ${name}?` }))) return;
        if (await this.op(`Delete ${what} ${name}`, method, { name })) this.reload();
    }

    async createRule(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = {
            name: f.name.value,
            target: f.target.value,
            metric: f.metric.value,
            op: f.op.value,
            threshold: Number(f.threshold.value),
            for_s: Number(f.for_s.value || 0),
        };
        if (await this.op(`Create alert rule ${params.name}`, 'alert.rule.create', params)) {
            ev.target.reset();
            this.reload();
        }
    }

    renderAlerts() {
        return html`<section aria-labelledby="alerts-h">
            <h2 id="alerts-h">Alerts</h2>
            ${this.alerts.length
                ? html`<table class="grid alerts">
                      <thead>
                          <tr><th>state</th><th>rule</th><th>target</th><th>since</th><th>value</th><th>detail</th></tr>
                      </thead>
                      <tbody>
                          ${this.alerts.map(
                              (a) => html`<tr data-alert=${a.id}>
                                  <td><span class="state ${a.state === 'firing' ? 'state-crashed' : 'state-paused'}">${a.state}</span></td>
                                  <td>${a.rule}</td>
                                  <td><a href="#/monitoring/${a.kind}/${encodeURIComponent(a.target)}">${a.kind} ${a.target}</a></td>
                                  <td>${formatTime(a.since_ms)}</td>
                                  <td>${num(a.value)}</td>
                                  <td>${a.detail ?? ''}</td>
                              </tr>`,
                          )}
                      </tbody>
                  </table>`
                : html`<p class="dim" id="no-alerts">No active alert.</p>`}
            ${this.recent.length
                ? html`<details>
                      <summary>Last transitions</summary>
                      <ul class="recent">
                          ${this.recent.map(
                              (e) => html`<li>
                                  ${formatTime(e.ts)} · ${e.type === 'alert.firing' ? 'fired' : 'resolved'}
                                  · ${e.alert} · ${e.kind} ${e.target}${e.detail ? ` · ${e.detail}` : ''}
                              </li>`,
                          )}
                      </ul>
                  </details>`
                : nothing}
        </section>`;
    }

    renderTargets() {
        const row = (kind, t) => {
            const cur = this.kind === kind && this.target === t.name;
            const net = kind === 'vm' ? (t.net_rx_bps ?? 0) + (t.net_tx_bps ?? 0) : t.net_bps;
            const disk = kind === 'vm' ? (t.disk_rd_bps ?? 0) + (t.disk_wr_bps ?? 0) : t.disk_bps;
            return html`<tr class=${cur ? 'current' : ''} data-target="${kind}/${t.name}">
                <td>
                    <a href="#/monitoring/${kind}/${encodeURIComponent(t.name)}"
                       aria-current=${cur ? 'true' : 'false'}>${t.name}</a>
                </td>
                <td>${kind}</td>
                <td>${num(t.cpu_pct, ' %')}</td>
                <td>${num(t.mem_pct, ' %')}</td>
                <td>${typeof disk === 'number' ? `${formatBytes(disk)}/s` : '—'}</td>
                <td>${typeof net === 'number' ? `${formatBytes(net)}/s` : '—'}</td>
            </tr>`;
        };
        return html`<section aria-labelledby="targets-h">
            <h2 id="targets-h">Now</h2>
            <table class="grid">
                <thead><tr><th>name</th><th>kind</th><th>CPU</th><th>memory</th><th>disk</th><th>network</th></tr></thead>
                <tbody>
                    ${this.hosts.map((t) => row('host', t))} ${this.vms.map((t) => row('vm', t))}
                </tbody>
            </table>
        </section>`;
    }

    renderAdmin() {
        if (!session.isAdmin) return nothing;
        return html`<section aria-labelledby="rules-h">
                <h2 id="rules-h">Threshold rules</h2>
                <ul>
                    ${this.rules.map(
                        (r) => html`<li>
                            <strong>${r.name}</strong>: ${r.target} ${r.metric} ${r.op} ${r.threshold}
                            for ${r.for_s} s
                            <button type="button" class="danger" @click=${() => this.deleteNamed('alert.rule.delete', r.name, 'alert rule')}>Delete</button>
                        </li>`,
                    )}
                </ul>
                <form class="form" @submit=${(e) => this.createRule(e)}>
                    <label>Name <input name="name" required /></label>
                    <label>Target <select name="target"><option>vm</option><option>host</option></select></label>
                    <label>Metric <select name="metric">
                        ${['cpu_pct', 'mem_pct', 'disk_rd_bps', 'disk_wr_bps', 'net_rx_bps', 'net_tx_bps', 'disk_bps', 'net_bps', 'load1'].map(
                            (m) => html`<option>${m}</option>`,
                        )}
                    </select></label>
                    <label>Operator <select name="op"><option>&gt;</option><option>&gt;=</option><option>&lt;</option><option>&lt;=</option></select></label>
                    <label>Threshold <input name="threshold" type="number" required /></label>
                    <label>For (s) <input name="for_s" type="number" min="0" value="0" /></label>
                    <button type="submit" class="primary">Add rule</button>
                </form>
            </section>
            <section aria-labelledby="hooks-h">
                <h2 id="hooks-h">Webhooks</h2>
                ${this.webhooks.length
                    ? html`<ul>
                          ${this.webhooks.map(
                              (w) => html`<li>
                                  <strong>${w.name}</strong> ${w.url}
                                  (${w.alerts.length ? w.alerts.join(', ') : 'every alert'}): ${w.delivered}
                                  delivered, ${w.failed} failed${w.last_result ? `, last ${w.last_result}` : ''}
                                  <button type="button" class="danger" @click=${() => this.deleteNamed('webhook.delete', w.name, 'webhook')}>Delete</button>
                              </li>`,
                          )}
                      </ul>`
                    : html`<p class="dim">No webhook (webhook.create).</p>`}
            </section>`;
    }

    render() {
        return html`<div class="bar sub"><h1>Monitoring</h1></div>
            ${this.renderAlerts()} ${this.renderTargets()}
            ${this.target
                ? html`<section aria-labelledby="charts-h">
                      <h2 id="charts-h">${this.kind} ${this.target}</h2>
                      <vg-metrics-charts .kind=${this.kind} .name=${this.target}></vg-metrics-charts>
                  </section>`
                : nothing}
            ${this.renderAdmin()}`;
    }
}
customElements.define('vg-monitoring', VgMonitoring);
