// The xterm.js terminal of a console: creation with its add-ons under the strict CSP, fit to
// its box, search, copy and paste.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { cspSafeTerminal } from './cspstyle.js';
import { toast } from '../lib/ui.js';

const THEME = {
    background: '#0f1113',
    foreground: '#d6d6d6',
    cursor: '#e6e6e6',
    selectionBackground: '#3a5a80',
};

export const SEARCH_DECORATIONS = {
    matchBackground: '#4d3d00',
    activeMatchBackground: '#b58900',
    matchOverviewRuler: '#b58900',
    activeMatchColorOverviewRuler: '#ffd75f',
};

// Opens a terminal in el; returns {term, search, refit, dispose}.
export function openTerminal(el) {
    const undoCsp = cspSafeTerminal(el);
    const term = new Terminal({
        cursorBlink: true,
        scrollback: 10000,
        fontSize: 14,
        fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
        theme: THEME,
        allowProposedApi: true, // search match decorations
    });
    const fit = new FitAddon();
    const search = new SearchAddon();
    term.loadAddon(fit);
    term.loadAddon(search);
    term.loadAddon(new WebLinksAddon());
    term.open(el);

    const refit = () => {
        try {
            fit.fit();
        } catch {
            // The element is hidden or detached during navigation: nothing to fit.
        }
    };
    let frame = 0;
    const ro = new ResizeObserver(() => {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(refit);
    });
    ro.observe(el.parentElement);
    refit();
    return {
        term,
        search,
        refit,
        dispose() {
            ro.disconnect();
            cancelAnimationFrame(frame);
            term.dispose();
            undoCsp();
        },
    };
}

export async function copySelection(term, explicit) {
    const text = term.getSelection();
    if (!text) {
        if (explicit) toast('Nothing selected', 'warn');
        return;
    }
    try {
        await navigator.clipboard.writeText(text);
        if (explicit) toast(`Copied ${text.length} characters`);
    } catch (err) {
        if (explicit) toast(`Copy failed: ${err.message}`, 'error');
    }
}

export async function pasteClipboard(term) {
    try {
        const text = await navigator.clipboard.readText();
        if (text) term.paste(text);
    } catch (err) {
        toast(`Paste failed: ${err.message}. Use Ctrl+Shift+V.`, 'error');
    }
    term.focus();
}

// onBinary delivers bytes 0-255 as a string (mouse reports in X10 mode); send them unchanged.
export function binaryString(s) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
}
