// The "Keys" menu of the console page (C13, docs/api.md "vm.sendkey"): keys a serial console
// cannot type, pressed on the VM's keyboard through libvirt. Reboot-class keys ask first.

import { VgElement, VgConfirm, html, toast } from '../lib/ui.js';
import { session as store } from '../lib/store.js';

const KEYS = [
    { keys: 'ctrl-alt-del', label: 'Ctrl-Alt-Del', confirm: 'the guest usually reboots' },
    { keys: 'sysrq-h', label: 'SysRq h (help)' },
    { keys: 'sysrq-s', label: 'SysRq s (sync disks)' },
    { keys: 'sysrq-u', label: 'SysRq u (remount read-only)', confirm: 'file systems become read-only' },
    { keys: 'sysrq-b', label: 'SysRq b (reboot now)', confirm: 'the guest reboots at once, without syncing' },
];

class VgKeys extends VgElement {
    static properties = { vm: {}, project: {} };

    async press(k, ev) {
        ev.target.closest('details').open = false;
        if (k.confirm) {
            const ok = await VgConfirm.ask({
                text: `Send ${k.label} to ${this.vm}? ${k.confirm[0].toUpperCase()}${k.confirm.slice(1)}.`,
                action: 'Send',
            });
            if (!ok) return;
        }
        if (await this.call('vm.sendkey', { vm: this.vm, keys: [k.keys] }, k.label))
            toast(`${k.label} sent to ${this.vm}`, 'ok');
    }

    render() {
        const allowed = store.can('operator', this.project);
        return html`<details class="keys-menu" id="keys-menu" ?hidden=${!allowed}>
            <summary title="Special keys through the VM's keyboard">Keys</summary>
            <div class="keys-list" role="menu">
                ${KEYS.map(
                    (k) => html`<button
                        type="button"
                        role="menuitem"
                        data-keys=${k.keys}
                        @click=${(e) => this.press(k, e)}
                    >
                        ${k.label}
                    </button>`,
                )}
            </div>
        </details>`;
    }
}
customElements.define('vg-keys', VgKeys);
