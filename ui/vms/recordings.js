// The VM page's recordings tab (C12, docs/api.md "Recordings"): the VM's console recordings
// (recording.list), played with asciinema-player (seekable: its progress bar, and the arrow keys
// when it has the focus), downloaded as .cast files (the session cookie authenticates the GET)
// and deleted by administrators.
//
// asciinema-player draws with a canvas and an SVG and keeps the text in a <pre> (selectable,
// searchable); its style sheet comes from index.html. Like xterm.js, it may set style
// attributes while it runs, so the same CSP shim is installed around it (console/cspstyle.js).

import { html, nothing } from 'lit';
import * as AsciinemaPlayer from 'asciinema-player';
import { VgElement, VgConfirm, formatBytes, formatTime } from '../lib/ui.js';
import { session } from '../lib/store.js';
import { cspSafeTerminal } from '../console/cspstyle.js';

const duration = (r) => {
    const s = Math.max(0, Math.round((r.end - r.start) / 1000));
    return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
};

export const recordingHref = (id) => `/api/v1/recording.download?id=${encodeURIComponent(id)}`;

class VgVmRecordings extends VgElement {
    static properties = {
        vm: { attribute: false },
        recs: { state: true },
        playing: { state: true },
    };

    constructor() {
        super();
        this.recs = null;
        this.playing = null;
        this.player = null;
        this.undoCsp = null;
    }

    connectedCallback() {
        super.connectedCallback();
        this.reload();
    }

    disconnectedCallback() {
        this.stop();
        super.disconnectedCallback();
    }

    async reload() {
        const res = await this.call('recording.list', { vm: this.vm.name }, 'Recordings');
        this.recs = res ? res.recordings : [];
    }

    stop() {
        this.player?.dispose();
        this.player = null;
        this.undoCsp?.();
        this.undoCsp = null;
    }

    async play(rec) {
        this.stop();
        this.playing = rec;
        await this.updateComplete;
        const box = this.querySelector('#rec-player');
        box.replaceChildren();
        this.undoCsp = cspSafeTerminal(box);
        this.player = AsciinemaPlayer.create(recordingHref(rec.id), box, {
            fit: 'width',
            idleTimeLimit: 2,
            autoPlay: true,
            controls: true,
        });
    }

    async remove(rec) {
        const ok = await VgConfirm.ask({
            text: `Delete the recording of ${rec.user}'s session from ${formatTime(rec.start)}?`,
            action: 'Delete',
        });
        if (!ok) return;
        if (this.playing?.id === rec.id) {
            this.stop();
            this.playing = null;
        }
        await this.op(`Delete recording ${rec.id}`, 'recording.delete', { id: rec.id });
        this.reload();
    }

    renderRow(r) {
        return html`<tr data-id=${r.id}>
            <td>${formatTime(r.start)}</td>
            <td>${r.user}</td>
            <td>${r.dev}</td>
            <td>${r.active ? 'recording…' : duration(r)}</td>
            <td>${formatBytes(r.size)}${r.part > 1 ? ` (part ${r.part})` : ''}</td>
            <td>${r.input ? 'output and input' : 'output'}</td>
            <td class="actions">
                <button class="rec-play" @click=${() => this.play(r)}>Play</button>
                <a class="rec-download" href=${recordingHref(r.id)} download=${`${r.id}.cast`}
                    >Download</a
                >
                ${session.isAdmin
                    ? html`<button class="rec-delete danger" @click=${() => this.remove(r)}>
                          Delete
                      </button>`
                    : nothing}
            </td>
        </tr>`;
    }

    render() {
        if (!this.recs) return html`<p class="loading">Loading…</p>`;
        return html`<section class="recordings">
            <p class="hint">
                Every session that holds the console's write lock is recorded on the VM's host.
                <button class="rec-reload" @click=${() => this.reload()}>Refresh</button>
            </p>
            ${this.recs.length
                ? html`<table class="grid recordings">
                      <thead>
                          <tr>
                              <th>Started</th>
                              <th>User</th>
                              <th>Console</th>
                              <th>Length</th>
                              <th>Size</th>
                              <th>Recorded</th>
                              <th></th>
                          </tr>
                      </thead>
                      <tbody>
                          ${this.recs.map((r) => this.renderRow(r))}
                      </tbody>
                  </table>`
                : html`<p class="empty">No recordings of this VM.</p>`}
            ${this.playing
                ? html`<h3>${this.playing.user}, ${formatTime(this.playing.start)}</h3>`
                : nothing}
            <div id="rec-player" class="rec-player"></div>
        </section>`;
    }
}

customElements.define('vg-vm-recordings', VgVmRecordings);
