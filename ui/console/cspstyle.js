// xterm.js under the gateway's strict Content-Security-Policy (style-src 'self', no
// 'unsafe-inline'), with no CSP error in the browser console.
//
// xterm.js 6 styles its DOM renderer with <style> elements it creates and fills at run time
// (theme colours, cell sizes, the scrollbar) and with setAttribute('style', …) on cells with
// 24-bit colours. The policy refuses both, and the browser logs an error for each. Neither a
// hash (the text depends on fonts and sizes) nor a nonce (xterm.js has no option for one, and
// the gateway serves index.html as a static file) can allow them, so while a terminal is open:
//   - document.createElement('style') makes a <vg-style> element instead: no style sheet for
//     the browser (nothing to refuse, nothing to log); its text is mirrored into a constructed
//     style sheet (document.adoptedStyleSheets), which CSP does not govern;
//   - setAttribute('style', text) sets the same declarations through the CSSOM
//     (element.style.cssText), which CSP allows.
// The page's own code creates no <style> element and sets no style attribute, so nothing else
// changes. The shim is installed while at least one terminal is open.

let users = 0;
let restore = null;

function install() {
    const doc = document;
    const createElement = doc.createElement;
    const setAttribute = Element.prototype.setAttribute;
    doc.createElement = function (tag, options) {
        const name = String(tag).toLowerCase() === 'style' ? 'vg-style' : tag;
        return createElement.call(this, name, options);
    };
    Element.prototype.setAttribute = function (name, value) {
        if (String(name).toLowerCase() === 'style') this.style.cssText = String(value);
        else setAttribute.call(this, name, value);
    };
    return () => {
        delete doc.createElement;
        Element.prototype.setAttribute = setAttribute;
    };
}

// Mirrors the <vg-style> elements under root into constructed style sheets; returns the
// function that stops it and drops the sheets.
function mirror(root) {
    const sheets = new Map();
    const sync = (el) => {
        let sheet = sheets.get(el);
        if (!sheet) {
            sheet = new CSSStyleSheet();
            sheets.set(el, sheet);
            document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
        }
        sheet.replaceSync(el.textContent || '');
    };
    const drop = (el) => {
        const sheet = sheets.get(el);
        if (!sheet) return;
        sheets.delete(el);
        document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
    };
    const styleOf = (node) => {
        const el = node.nodeType === Node.TEXT_NODE ? node.parentNode : node;
        return el && el.nodeName === 'VG-STYLE' ? el : null;
    };
    const visit = (node, fn) => {
        if (node.nodeName === 'VG-STYLE') fn(node);
        else if (node.querySelectorAll) node.querySelectorAll('vg-style').forEach(fn);
    };
    const observer = new MutationObserver((records) => {
        for (const rec of records) {
            const style = styleOf(rec.target);
            if (style) {
                if (style.isConnected) sync(style);
                continue;
            }
            rec.addedNodes.forEach((n) => visit(n, (el) => el.isConnected && sync(el)));
            rec.removedNodes.forEach((n) => visit(n, drop));
        }
    });
    observer.observe(root, { subtree: true, childList: true, characterData: true });
    root.querySelectorAll('vg-style').forEach(sync);
    return () => {
        observer.disconnect();
        [...sheets.keys()].forEach(drop);
    };
}

// Call before the terminal is created on root; the returned function undoes it after the
// terminal is disposed.
export function cspSafeTerminal(root) {
    if (users++ === 0) restore = install();
    const stopMirror = mirror(root);
    return () => {
        stopMirror();
        if (--users === 0) {
            restore();
            restore = null;
        }
    };
}
