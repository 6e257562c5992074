// The VM spec form (<vg-spec-form>): every field of docs/vmspec.md, used by the create page and
// the VM page's settings tab. It does not validate: the API does, and its message is shown at
// the field it names (`errors`: {'spec.disks[0].size_mib': '…'}).

import { html, nothing } from 'lit';
import { VgElement, fieldOf } from '../lib/ui.js';

const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'];
const CACHES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'];
const NIC_MODELS = ['virtio', 'e1000', 'rtl8139'];
const BOOT_DEVS = ['hd', 'cdrom', 'network'];
const ON_CRASH = ['destroy', 'restart', 'preserve', 'coredump-destroy', 'coredump-restart'];

// The id of the control for a spec path: spec.disks[0].size_mib → f-disks-0-size_mib.
export const idOf = (path) =>
    `f-${path
        .replace(/^spec\./, '')
        .replace(/[[\].]+/g, '-')
        .replace(/-$/, '')}`;

// Where to show an API refusal of a spec: {errors: {path: message}} when it names a field the
// form under root has (which then gets the focus), else {error: message} for the whole form.
export function placeError(root, err) {
    const field = err.code === 'bad_request' ? fieldOf(err.message) : '';
    const control = field && root.querySelector(`#${idOf(field)}`);
    if (!control) return { errors: {}, error: err.message };
    setTimeout(() => control.focus());
    return { errors: { [field]: err.message }, error: '' };
}

// The form's model from a stored spec (or a new one); toSpec() makes the spec back.
export function modelOf(spec = {}) {
    const s = structuredClone(spec);
    return {
        name: s.name || '',
        description: s.description || '',
        vcpus: s.vcpus ?? 1,
        memory_mib: s.memory_mib ?? 128,
        arch: s.arch || 'x86_64',
        machine: s.machine || '',
        graphics: s.graphics || 'none',
        autostart: Boolean(s.autostart),
        on_poweroff: s.on_poweroff || 'destroy',
        on_reboot: s.on_reboot || 'restart',
        on_crash: s.on_crash || 'destroy',
        boot: { order: s.boot?.order || ['hd'], menu: Boolean(s.boot?.menu) },
        useKernel: Boolean(s.kernel),
        kernel: { kernel: '', initrd: '', cmdline: '', ...(s.kernel || {}) },
        disks: (s.disks || []).map((d) => ({
            kind: d.volume ? 'volume' : d.image ? 'image' : 'new',
            size_mib: d.size_mib ?? '',
            pool: d.pool || '',
            format: d.format || 'qcow2',
            image: d.image || '',
            volume: d.volume || '',
            bus: d.bus || 'virtio',
            cache: d.cache || 'default',
        })),
        useCdrom: Boolean(s.cdrom),
        cdrom: { bus: s.cdrom?.bus || 'sata', media: s.cdrom?.media || '' },
        // A NIC's filter and its parameters are kept as they are; its fixed address and
        // security groups (comma-separated; a stored list stays a list even when emptied: the
        // project's default policy) are fields.
        nics: (s.nics || []).map((n) => ({
            ...n,
            network: n.network,
            model: n.model || 'virtio',
            mac: n.mac || '',
            ip: n.ip || '',
            groups: (n.secgroups || []).join(', '),
            hasGroups: Array.isArray(n.secgroups),
        })),
        consoles: {
            virtio_console: Boolean(s.consoles?.virtio_console),
            channel: Boolean(s.consoles?.channel),
        },
        placeKind: s.placement?.host ? 'host' : s.placement?.group ? 'group' : 'any',
        placeValue: s.placement?.host || s.placement?.group || '',
        raw_xml: s.raw_xml || '',
    };
}

const num = (v) => (v === '' || v === null || Number.isNaN(Number(v)) ? v : Number(v));

// One NIC of the form as the spec has it.
function nicSpec(n) {
    const { groups, hasGroups, ...nic } = n;
    if (!nic.mac) delete nic.mac;
    if (!nic.ip) delete nic.ip;
    const list = groups
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
    if (list.length || hasGroups) nic.secgroups = list;
    else delete nic.secgroups;
    return nic;
}
export function toSpec(m, { withName = true } = {}) {
    const spec = {};
    if (withName) spec.name = m.name;
    if (m.description) spec.description = m.description;
    const placement = m.placeKind === 'any' ? undefined : { [m.placeKind]: m.placeValue };
    if (m.raw_xml.trim()) {
        if (placement) spec.placement = placement;
        spec.raw_xml = m.raw_xml;
        return spec;
    }
    Object.assign(spec, {
        vcpus: num(m.vcpus),
        memory_mib: num(m.memory_mib),
        arch: m.arch,
        graphics: m.graphics,
        autostart: m.autostart,
        on_poweroff: m.on_poweroff,
        on_reboot: m.on_reboot,
        on_crash: m.on_crash,
    });
    if (m.machine) spec.machine = m.machine;
    if (m.useKernel) {
        spec.kernel = { kernel: m.kernel.kernel };
        if (m.kernel.initrd) spec.kernel.initrd = m.kernel.initrd;
        if (m.kernel.cmdline) spec.kernel.cmdline = m.kernel.cmdline;
    } else {
        spec.boot = { order: m.boot.order.filter(Boolean), menu: m.boot.menu };
    }
    spec.disks = m.disks.map((d) => {
        const common = { bus: d.bus, cache: d.cache };
        if (d.kind === 'volume') return { volume: d.volume, ...common };
        if (d.kind === 'image') {
            const disk = { image: d.image, ...common };
            if (d.size_mib !== '') disk.size_mib = num(d.size_mib);
            return disk;
        }
        return { size_mib: num(d.size_mib), pool: d.pool, format: d.format, ...common };
    });
    if (m.useCdrom) spec.cdrom = { bus: m.cdrom.bus, media: m.cdrom.media || null };
    spec.nics = m.nics.map(nicSpec);
    spec.consoles = { ...m.consoles };
    if (placement) spec.placement = placement;
    return spec;
}

class VgSpecForm extends VgElement {
    static properties = {
        model: { attribute: false },
        errors: { attribute: false },
        hosts: { attribute: false },
        groups: { attribute: false },
        admin: { type: Boolean },
        editing: { type: Boolean },
    };

    constructor() {
        super();
        this.model = modelOf();
        this.errors = {};
        this.hosts = [];
        this.groups = [];
    }

    set(path, value) {
        const keys = path.split('.');
        let o = this.model;
        for (const k of keys.slice(0, -1)) o = o[k];
        o[keys.at(-1)] = value;
        this.requestUpdate();
    }

    err(path) {
        const msg = this.errors[path];
        return html`<span class="field-error" id="${idOf(path)}-error" role="alert"
            >${msg || ''}</span
        >`;
    }

    // One labelled control bound to model path `key`, reporting API errors at spec path `path`.
    field(label, key, path, { type = 'text', options, help } = {}) {
        const get = key.split('.').reduce((o, k) => o[k], this.model);
        const id = idOf(path);
        const invalid = this.errors[path] ? 'true' : 'false';
        const described = `${id}-error`;
        let control;
        if (options)
            control = html`<select
                id=${id}
                aria-invalid=${invalid}
                aria-describedby=${described}
                @change=${(e) => this.set(key, e.target.value)}
            >
                ${options.map((o) => html`<option value=${o} ?selected=${o === get}>${o}</option>`)}
            </select>`;
        else if (type === 'checkbox')
            control = html`<input
                type="checkbox"
                id=${id}
                .checked=${get}
                @change=${(e) => this.set(key, e.target.checked)}
            />`;
        else if (type === 'textarea')
            control = html`<textarea
                id=${id}
                rows="3"
                aria-invalid=${invalid}
                aria-describedby=${described}
                .value=${get}
                @input=${(e) => this.set(key, e.target.value)}
            ></textarea>`;
        else
            control = html`<input
                type=${type}
                id=${id}
                aria-invalid=${invalid}
                aria-describedby=${described}
                placeholder=${help || ''}
                .value=${String(get ?? '')}
                @input=${(e) => this.set(key, e.target.value)}
            />`;
        return html`<label for=${id}>${label}</label>
            <div class="field">${control}${this.err(path)}</div>`;
    }

    renderDisk(d, i) {
        const p = `spec.disks[${i}]`;
        const k = `disks.${i}`;
        return html`<fieldset data-disk=${i}>
            <legend>Disk ${i + 1}</legend>
            ${this.field('Kind', `${k}.kind`, `${p}.kind`, { options: ['new', 'image', 'volume'] })}
            ${
                d.kind === 'new'
                    ? html`${this.field('Size (MiB)', `${k}.size_mib`, `${p}.size_mib`, { type: 'number' })}
                      ${this.field('Pool', `${k}.pool`, `${p}.pool`, { help: 'vmgate' })}
                      ${this.field('Format', `${k}.format`, `${p}.format`, { options: ['qcow2', 'raw'] })}`
                    : nothing
            }
            ${
                d.kind === 'image'
                    ? html`${this.field('Image', `${k}.image`, `${p}.image`, { help: 'pool/volume' })}
                      ${this.field('Size (MiB, 0 = the image)', `${k}.size_mib`, `${p}.size_mib`, {
                          type: 'number',
                      })}`
                    : nothing
            }
            ${
                d.kind === 'volume'
                    ? this.field('Volume', `${k}.volume`, `${p}.volume`, { help: 'pool/volume' })
                    : nothing
            }
            ${this.field('Bus', `${k}.bus`, `${p}.bus`, { options: DISK_BUSES })}
            ${this.field('Cache', `${k}.cache`, `${p}.cache`, { options: CACHES })}
            <div class="full">
                <button type="button" @click=${() => this.drop('disks', i)}>
                    Remove disk ${i + 1}
                </button>
            </div>
        </fieldset>`;
    }

    renderNic(n, i) {
        const p = `spec.nics[${i}]`;
        const k = `nics.${i}`;
        return html`<fieldset data-nic=${i}>
            <legend>NIC ${i + 1}</legend>
            ${this.field('Network', `${k}.network`, `${p}.network`, { help: 'vmgate' })}
            ${this.field('Model', `${k}.model`, `${p}.model`, { options: NIC_MODELS })}
            ${this.field('MAC', `${k}.mac`, `${p}.mac`, { help: 'generated' })}
            ${this.field('Fixed address', `${k}.ip`, `${p}.ip`, { help: 'DHCP' })}
            ${this.field('Security groups', `${k}.groups`, `${p}.secgroups`, { help: 'none' })}
            <div class="full">
                <button type="button" @click=${() => this.drop('nics', i)}>
                    Remove NIC ${i + 1}
                </button>
            </div>
        </fieldset>`;
    }

    drop(list, i) {
        this.model[list].splice(i, 1);
        this.requestUpdate();
    }

    add(list, item) {
        this.model[list].push(item);
        this.requestUpdate();
    }

    render() {
        const m = this.model;
        const raw = Boolean(m.raw_xml.trim());
        const placeOpts =
            m.placeKind === 'host' ? this.hosts : m.placeKind === 'group' ? this.groups : [];
        return html`
            ${this.editing ? nothing : this.field('Name', 'name', 'spec.name')}
            ${this.field('Description', 'description', 'spec.description', { type: 'textarea' })}
            <fieldset ?disabled=${raw}>
                <legend>Machine</legend>
                ${this.field('vCPUs', 'vcpus', 'spec.vcpus', { type: 'number' })}
                ${this.field('Memory (MiB)', 'memory_mib', 'spec.memory_mib', { type: 'number' })}
                ${this.field('Architecture', 'arch', 'spec.arch', { options: ['x86_64', 'i686', 'aarch64'] })}
                ${this.field('Machine type', 'machine', 'spec.machine', { help: 'pc (default)' })}
                ${this.field('Graphics', 'graphics', 'spec.graphics', { options: ['none', 'vnc', 'spice'] })}
                ${this.field('Autostart', 'autostart', 'spec.autostart', { type: 'checkbox' })}
                ${this.field('On power off', 'on_poweroff', 'spec.on_poweroff', { options: ['destroy', 'restart'] })}
                ${this.field('On reboot', 'on_reboot', 'spec.on_reboot', { options: ['destroy', 'restart'] })}
                ${this.field('On crash', 'on_crash', 'spec.on_crash', { options: ON_CRASH })}
            </fieldset>
            <fieldset ?disabled=${raw}>
                <legend>Boot</legend>
                ${this.field('Direct kernel boot', 'useKernel', 'spec.kernel', { type: 'checkbox' })}
                ${
                    m.useKernel
                        ? html`${this.field('Kernel', 'kernel.kernel', 'spec.kernel.kernel', { help: '/path/on/host' })}
                          ${this.field('Initrd', 'kernel.initrd', 'spec.kernel.initrd')}
                          ${this.field('Command line', 'kernel.cmdline', 'spec.kernel.cmdline', {
                              help: 'console=ttyS0',
                          })}`
                        : html`${[0, 1, 2].map((i) =>
                              this.field(
                                  `Boot device ${i + 1}`,
                                  `boot.order.${i}`,
                                  `spec.boot.order[${i}]`,
                                  {
                                      options: i ? ['', ...BOOT_DEVS] : BOOT_DEVS,
                                  },
                              ),
                          )}
                          ${this.field('Boot menu', 'boot.menu', 'spec.boot.menu', { type: 'checkbox' })}`
                }
            </fieldset>
            <fieldset ?disabled=${raw}>
                <legend>Disks</legend>
                ${this.err('spec.disks')} ${m.disks.map((d, i) => this.renderDisk(d, i))}
                <div class="full">
                    <button
                        type="button"
                        id="add-disk"
                        @click=${() =>
                            this.add('disks', {
                                kind: 'new',
                                size_mib: 1024,
                                pool: '',
                                format: 'qcow2',
                                image: '',
                                volume: '',
                                bus: 'virtio',
                                cache: 'default',
                            })}
                    >
                        Add disk
                    </button>
                </div>
            </fieldset>
            <fieldset ?disabled=${raw}>
                <legend>CD-ROM and consoles</legend>
                ${this.field('CD-ROM drive', 'useCdrom', 'spec.cdrom', { type: 'checkbox' })}
                ${
                    m.useCdrom
                        ? html`${this.field('CD-ROM bus', 'cdrom.bus', 'spec.cdrom.bus', { options: ['sata', 'ide'] })}
                          ${this.field('Medium', 'cdrom.media', 'spec.cdrom.media', { help: 'pool/volume or empty' })}`
                        : nothing
                }
                ${this.field(
                    'virtio console',
                    'consoles.virtio_console',
                    'spec.consoles.virtio_console',
                    {
                        type: 'checkbox',
                    },
                )}
                ${this.field('Channel', 'consoles.channel', 'spec.consoles.channel', { type: 'checkbox' })}
            </fieldset>
            <fieldset ?disabled=${raw}>
                <legend>Network</legend>
                ${this.err('spec.nics')} ${m.nics.map((n, i) => this.renderNic(n, i))}
                <div class="full">
                    <button
                        type="button"
                        id="add-nic"
                        @click=${() =>
                            this.add('nics', {
                                network: '',
                                model: 'virtio',
                                mac: '',
                                ip: '',
                                groups: '',
                                hasGroups: false,
                            })}
                    >
                        Add NIC
                    </button>
                </div>
            </fieldset>
            <fieldset>
                <legend>Placement</legend>
                ${this.field('Place on', 'placeKind', 'spec.placement', { options: ['any', 'host', 'group'] })}
                ${
                    m.placeKind !== 'any'
                        ? this.field(
                              m.placeKind === 'host' ? 'Host' : 'Host group',
                              'placeValue',
                              `spec.placement.${m.placeKind}`,
                              { options: ['', ...placeOpts] },
                          )
                        : nothing
                }
            </fieldset>
            ${
                this.admin
                    ? html`<fieldset>
                          <legend>Raw domain XML (administrators)</legend>
                          <p class="full dim">
                              With XML, only name, description and placement of the fields above
                              apply.
                          </p>
                          ${this.field('Domain XML', 'raw_xml', 'spec.raw_xml', { type: 'textarea' })}
                      </fieldset>`
                    : nothing
            }
        `;
    }
}
customElements.define('vg-spec-form', VgSpecForm);
