// Timers (#/timers, administrators): the timers with their schedule, next and last run and its
// result; create, pause or resume, delete. A run is an API call of the timer's owner
// (docs/api.md "Timers"); live from the audit-free events of what timers change (vm.state,
// env.changed), reloaded every 30 s for next / last run.

import { html, nothing } from 'lit';
import { api } from '../lib/api.js';
import { session } from '../lib/store.js';
import { VgElement, VgConfirm, formatTime, fieldOf } from '../lib/ui.js';

const SCHEDULES = ['daily', 'weekly', 'monthly', 'every', 'once'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function describe(t) {
    switch (t.schedule) {
        case 'every':
            return `every ${t.every_min} min`;
        case 'weekly':
            return `${WEEKDAYS[t.weekday]}s at ${t.at} ${t.tz}`;
        case 'monthly':
            return `day ${t.day} at ${t.at} ${t.tz}`;
        case 'once':
            return `once, ${t.at.replace('T', ' ')} ${t.tz}`;
        default:
            return `daily at ${t.at} ${t.tz}`;
    }
}

class VgTimers extends VgElement {
    static properties = {
        timers: { state: true },
        schedule: { state: true },
        errors: { state: true },
    };

    constructor() {
        super();
        this.timers = [];
        this.schedule = 'daily';
        this.errors = {};
    }

    connectedCallback() {
        super.connectedCallback();
        document.title = 'Timers · vmgate';
        this.listen(['vm.state', 'env.changed']);
        this.reload();
        this._tick = setInterval(() => this.reload(), 30000);
    }

    disconnectedCallback() {
        super.disconnectedCallback();
        clearInterval(this._tick);
    }

    async reload() {
        if (!session.isAdmin) return;
        const res = await this.call('timer.list', {}, 'Timers');
        if (res) this.timers = res.timers;
    }

    async create(ev) {
        ev.preventDefault();
        const f = ev.target.elements;
        const params = {
            name: f.name.value,
            action: f.action.value,
            schedule: f.schedule.value,
            missed: f.missed.value,
        };
        params[f.kind.value] = f.target.value;
        if (this.schedule === 'every') params.every_min = Number(f.every_min.value);
        else {
            params.at = this.schedule === 'once' ? f.at_once.value : f.at.value;
            params.tz = f.tz.value;
        }
        if (this.schedule === 'weekly') params.weekday = Number(f.weekday.value);
        if (this.schedule === 'monthly') params.day = Number(f.day.value);
        this.errors = {};
        try {
            await api.call('timer.create', params);
            ev.target.reset();
            this.schedule = 'daily';
            this.reload();
        } catch (err) {
            const field = fieldOf(err.message);
            this.errors = { [f[field] ? field : 'form']: err.message };
            f[field]?.focus();
        }
    }

    async pause(t) {
        const res = await this.call('timer.pause', { name: t.name, paused: !t.paused }, `Timer ${t.name}`);
        if (res) this.reload();
    }

    async deleteTimer(t) {
        if (!(await VgConfirm.ask({ text: `Delete timer ${t.name}?`, action: 'Delete' }))) return;
        if (await this.call('timer.delete', { name: t.name }, `Delete ${t.name}`)) this.reload();
    }

    err(field) {
        return html`<span class="field-error" id="timer-${field}-error" role="alert"
            >${this.errors[field] || ''}</span
        >`;
    }

    form() {
        const s = this.schedule;
        const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
        return html`<form class="form" id="timer-form" novalidate @submit=${(e) => this.create(e)}>
            <label for="timer-name">Name</label>
            <div class="field"><input id="timer-name" name="name" autocomplete="off" />${this.err('name')}</div>
            <label for="timer-action">Action</label>
            <div class="field">
                <select id="timer-action" name="action">
                    <option>start</option>
                    <option>stop</option>
                    <option>reboot</option>
                </select>
            </div>
            <label for="timer-target">Target</label>
            <div class="field">
                <select id="timer-kind" name="kind" aria-label="VM or environment">
                    <option value="vm">VM</option>
                    <option value="env">environment</option>
                </select>
                <input id="timer-target" name="target" autocomplete="off" aria-label="its name" />${this.err('vm')}${this.err('env')}
            </div>
            <label for="timer-schedule">Schedule</label>
            <div class="field">
                <select id="timer-schedule" name="schedule" @change=${(e) => (this.schedule = e.target.value)}>
                    ${SCHEDULES.map((x) => html`<option ?selected=${x === s}>${x}</option>`)}
                </select>
            </div>
            ${s === 'every'
                ? html`<label for="timer-every">Every (minutes)</label>
                      <div class="field">
                          <input id="timer-every" name="every_min" type="number" min="1" value="60" />${this.err('every_min')}
                      </div>`
                : html`<label for="timer-at">${s === 'once' ? 'At (local date and time)' : 'At (local time)'}</label>
                      <div class="field">
                          ${s === 'once'
                              ? html`<input id="timer-at" name="at_once" type="datetime-local" />`
                              : html`<input id="timer-at" name="at" type="time" value="07:00" />`}${this.err('at')}
                      </div>
                      <label for="timer-tz">Time zone</label>
                      <div class="field"><input id="timer-tz" name="tz" value=${tz} />${this.err('tz')}</div>`}
            ${s === 'weekly'
                ? html`<label for="timer-weekday">Weekday</label>
                      <div class="field">
                          <select id="timer-weekday" name="weekday">
                              ${WEEKDAYS.map((d, i) => html`<option value=${i}>${d}</option>`)}
                          </select>
                      </div>`
                : nothing}
            ${s === 'monthly'
                ? html`<label for="timer-day">Day of the month</label>
                      <div class="field">
                          <input id="timer-day" name="day" type="number" min="1" max="31" value="1" />${this.err('day')}
                      </div>`
                : nothing}
            <label for="timer-missed">Missed while no gateway ran</label>
            <div class="field">
                <select id="timer-missed" name="missed">
                    <option value="skip">skip it</option>
                    <option value="run">run it late</option>
                </select>
            </div>
            ${this.errors.form ? html`<p class="form-error full" role="alert">${this.errors.form}</p>` : nothing}
            <div class="actions"><button type="submit" class="primary" id="timer-create">Create timer</button></div>
        </form>`;
    }

    render() {
        if (!session.isAdmin)
            return html`<main><p class="empty">Timers are managed by administrators.</p></main>`;
        return html`<header class="bar sub"><h1>Timers</h1></header>
            <main>
                ${this.timers.length
                    ? html`<table class="grid" id="timer-table">
                          <thead>
                              <tr>
                                  <th>Timer</th>
                                  <th>Action</th>
                                  <th>When</th>
                                  <th>Next run</th>
                                  <th>Last run</th>
                                  <th>Runs</th>
                                  <th></th>
                              </tr>
                          </thead>
                          <tbody>
                              ${this.timers.map(
                                  (t) => html`<tr data-timer=${t.name}>
                                      <td><strong>${t.name}</strong><div class="dim">by ${t.owner}</div></td>
                                      <td>
                                          ${t.action}
                                          ${t.vm
                                              ? html`VM <a href="#/vm/${encodeURIComponent(t.vm)}/overview">${t.vm}</a>`
                                              : html`environment <a href="#/envs/${encodeURIComponent(t.env)}">${t.env}</a>`}
                                      </td>
                                      <td>${describe(t)}<div class="dim">missed: ${t.missed}</div></td>
                                      <td data-next>${t.paused ? 'paused' : formatTime(t.next_ms)}</td>
                                      <td data-last class=${t.last_result && t.last_result !== 'ok' && t.last_result !== 'skipped' ? 'count-bad' : ''}>
                                          ${t.last_run_ms ? html`${formatTime(t.last_run_ms)}: ${t.last_result}` : '—'}
                                      </td>
                                      <td data-runs>${t.runs}</td>
                                      <td class="actions">
                                          <button type="button" data-pause=${t.name} @click=${() => this.pause(t)}>
                                              ${t.paused ? 'Resume' : 'Pause'}
                                          </button>
                                          <button type="button" data-delete=${t.name} @click=${() => this.deleteTimer(t)}>Delete…</button>
                                      </td>
                                  </tr>`,
                              )}
                          </tbody>
                      </table>`
                    : html`<p class="empty" id="no-timers">No timers yet.</p>`}
                <p class="dim">Each run is a call of the timer's owner, in the <a href="#/audit">audit trail</a> as kind <code>timer</code>.</p>
                <h2>New timer</h2>
                ${this.form()}
            </main>`;
    }
}
customElements.define('vg-timers', VgTimers);
