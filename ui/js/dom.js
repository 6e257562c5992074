// Small DOM helpers: element construction without innerHTML (so server data can never become
// markup) and transient notices.

export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
        else if (key === 'class') el.className = value;
        else if (key === 'dataset') Object.assign(el.dataset, value);
        else if (value === true) el.setAttribute(key, '');
        else el.setAttribute(key, String(value));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) continue;
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}

export function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
}

const recent = new Map();

// Shows a notice for a few seconds. The same text is not repeated while it is still on screen,
// so a burst of refused keystrokes gives one toast, not fifty.
export function toast(text, kind = 'info', ms = 4000) {
    if (recent.has(text)) return;
    let box = document.getElementById('toasts');
    if (!box) {
        box = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
        document.body.append(box);
    }
    const el = h('div', { class: `toast toast-${kind}` }, text);
    box.append(el);
    recent.set(text, el);
    setTimeout(() => {
        el.remove();
        recent.delete(text);
    }, ms);
}

export function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
