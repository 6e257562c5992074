// The gateway sends Content-Security-Policy with style-src 'self', so the browser ignores the
// <style> elements xterm.js creates at run time (cell sizes, theme colours, viewport). Their text
// is mirrored into constructed style sheets, which CSP does not restrict. Where the policy allows
// inline styles the mirrored rules are identical duplicates and change nothing.

export function mirrorInlineStyles(root) {
    if (!('adoptedStyleSheets' in document) || !CSSStyleSheet.prototype.replaceSync) {
        return () => {};
    }
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
        return el && el.nodeName === 'STYLE' ? el : null;
    };
    const visit = (node, fn) => {
        if (node.nodeName === 'STYLE') fn(node);
        else if (node.querySelectorAll) node.querySelectorAll('style').forEach(fn);
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
    root.querySelectorAll('style').forEach(sync);

    return () => {
        observer.disconnect();
        [...sheets.keys()].forEach(drop);
    };
}
