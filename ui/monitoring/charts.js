// <vg-metrics-charts>: CPU, memory, disk and network of a VM or a host drawn with uPlot over the
// last hour, 6 hours, day or 7 days (metrics.query; the store picks raw points or the 1-minute
// rollups by the range). Live: each metrics.round event of the target's host (a collection
// round written to Redis) reloads the series. Properties: kind ('vm' | 'host'), name.

import uPlot from 'uplot';
import { html, nothing } from 'lit';
import { VgElement, formatBytes } from '../lib/ui.js';

export const RANGES = [
    ['1h', 'Last hour', 3600],
    ['6h', '6 hours', 6 * 3600],
    ['24h', '24 hours', 24 * 3600],
    ['7d', '7 days', 7 * 86400],
];

const pct = (v) => (v == null ? '—' : `${v.toFixed(1)} %`);
const rate = (v) => (v == null ? '—' : `${formatBytes(v)}/s`);

const SERIES = [
    ['cpu', 'CPU', pct, [0, 100]],
    ['mem', 'Memory', pct, [0, 100]],
    ['disk', 'Disk read + write', rate, null],
    ['net', 'Network in + out', rate, null],
];

class VgMetricsCharts extends VgElement {
    static properties = {
        kind: {},
        name: {},
        range: { state: true },
        info: { state: true },
    };

    constructor() {
        super();
        this.kind = 'vm';
        this.name = '';
        this.range = '1h';
        this.info = '';
        this.plots = {};
    }

    connectedCallback() {
        super.connectedCallback();
        // A VM's host is known from its latest values; a VM with none yet (just started: its
        // first round is still to come) reloads on any host's round until it has them.
        this.listen(['metrics.round'], (data) => {
            const host = this.kind === 'host' ? this.name : this.host;
            if (!host || data.host === host) this.scheduleReload(200);
        });
        this.onResize = () => this.resize();
        window.addEventListener('resize', this.onResize);
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        window.removeEventListener('resize', this.onResize);
        for (const p of Object.values(this.plots)) p.destroy();
        this.plots = {};
    }

    updated(changed) {
        if (changed.has('name') || changed.has('kind') || changed.has('range')) this.reload();
    }

    width() {
        return Math.max(280, Math.min(640, (this.clientWidth || 900) / 2 - 24));
    }

    resize() {
        for (const p of Object.values(this.plots)) p.setSize({ width: this.width(), height: 170 });
    }

    async reload() {
        if (!this.name) return;
        if (this.kind === 'vm') {
            const l = await this.call('metrics.latest', { target: 'vm', names: [this.name] });
            this.host = l?.targets[0]?.host;
        }
        const span = RANGES.find(([k]) => k === this.range)[2];
        const to = Date.now();
        const want = { kind: this.kind, name: this.name, range: this.range };
        const r = await this.call(
            'metrics.query',
            { target: this.kind, name: this.name, from: to - span * 1000, to },
            `Metrics of ${this.name}`,
        );
        // An answer for a target or range left meanwhile is dropped.
        if (!r || want.name !== this.name || want.kind !== this.kind || want.range !== this.range)
            return;
        const points = r.series.cpu.avg.filter((v) => v !== null).length;
        this.info = `${points} points, ${r.step} s apart (${r.tier})`;
        for (const [key, label, fmt, range] of SERIES) {
            const s = r.series[key];
            const data = [r.t, s.avg, s.max];
            const el = this.querySelector(`[data-chart=${key}]`);
            if (!el) continue;
            if (this.plots[key]) {
                this.plots[key].setData(data);
                continue;
            }
            this.plots[key] = new uPlot(
                {
                    width: this.width(),
                    height: 170,
                    title: label,
                    scales: { x: { time: true }, y: range ? { range } : { auto: true } },
                    series: [
                        {},
                        { label: 'avg', stroke: '#2563eb', width: 1.5, value: (u, v) => fmt(v) },
                        { label: 'max', stroke: '#93c5fd', width: 1, value: (u, v) => fmt(v) },
                    ],
                    axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => fmt(v)) }],
                },
                data,
                el,
            );
        }
    }

    render() {
        return html`<div class="bar sub metrics-bar" role="group" aria-label="Range">
                ${RANGES.map(
                    ([key, label]) =>
                        html`<button
                            type="button"
                            class=${this.range === key ? 'primary' : ''}
                            aria-pressed=${this.range === key ? 'true' : 'false'}
                            data-range=${key}
                            @click=${() => (this.range = key)}
                        >
                            ${label}
                        </button>`,
                )}
                <span class="dim metrics-info">${this.info || nothing}</span>
            </div>
            <div class="metrics-charts">
                ${SERIES.map(([key]) => html`<div class="metrics-chart" data-chart=${key}></div>`)}
            </div>`;
    }
}
customElements.define('vg-metrics-charts', VgMetricsCharts);
