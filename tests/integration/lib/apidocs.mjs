// Reads the request and response examples of docs/api.md (its "Examples" section says how they
// are written) and compares the shape of an answer with a documented one.
//
//   const examples = parseExamples(fs.readFileSync('docs/api.md', 'utf8'));
//   // [{method, params, transport: 'ws'|'http', response: {result}|{error}|null, partial, line}]
//   const problems = shapeDiff(example.response.result, actual, { partial });
import fs from 'node:fs';

// Objects whose keys are names (users, projects, roles, VMs), not fields: compared as maps.
export const MAP_FIELDS = new Set(['members', 'projects', 'roles', 'vms']);

// The fenced code blocks of a Markdown text: [{lang, text, line}].
function codeBlocks(md) {
  const blocks = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) j++;
    blocks.push({ lang: open[1], text: lines.slice(start, j).join('\n'), line: start + 1 });
    i = j;
  }
  return blocks;
}

// Splits text into its top-level {...} values (strings respected): [{text, line}].
function topObjects(text, line0) {
  const out = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && depth > 0 && --depth === 0) {
      const before = text.slice(0, start);
      out.push({ text: text.slice(start, i + 1), line: line0 + (before.match(/\n/g) || []).length });
    }
  }
  return out;
}

// JSON with the docs' ellipses: `…` outside a string (and what follows it up to the next
// `,` `]` `}`) is left out together with the comma before it. Returns {value, partial} or null.
export function parseLenient(text) {
  let out = '';
  let partial = false;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      out += ch;
      if (ch === '\\') out += text[++i];
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') {
      inStr = true;
      out += ch;
    } else if (ch === '…') {
      partial = true;
      while (i + 1 < text.length && !',]}'.includes(text[i + 1])) i++;
      out = out.replace(/,\s*$/, '');
    } else {
      out += ch;
    }
  }
  // An ellipsis first in a list leaves a comma behind it: `[…, x]` → `[, x]`.
  out = out.replace(/([[{])\s*,/g, '$1');
  try {
    return { value: JSON.parse(out), partial };
  } catch {
    return null;
  }
}

// A curl line of the docs: {method, params} or null.
function curlRequest(text) {
  const m = /\/api\/v1\/([A-Za-z0-9_.]+)/.exec(text);
  if (!m) return null;
  const d = /(?:^|\s)-d\s+'([^']*)'/.exec(text);
  const parsed = d ? parseLenient(d[1]) : { value: {}, partial: false };
  if (!parsed) return null;
  return { method: m[1], params: parsed.value, partial: parsed.partial };
}

// Every request example with the response example that follows it (null when none does).
export function parseExamples(md) {
  const items = []; // requests and responses in document order
  for (const b of codeBlocks(md)) {
    if (b.lang === 'sh' || b.lang === 'bash') {
      for (const [k, l] of b.text.split('\n').entries()) {
        // A curl command may continue over lines ending in a backslash.
        if (!/curl\b/.test(l)) continue;
        let cmd = l;
        let n = k;
        const all = b.text.split('\n');
        while (/\\\s*$/.test(cmd) && n + 1 < all.length) cmd = cmd.replace(/\\\s*$/, ' ') + all[++n];
        const r = curlRequest(cmd);
        if (r) items.push({ kind: 'request', transport: 'http', line: b.line + k, ...r });
      }
      continue;
    }
    if (b.lang !== 'json') continue;
    for (const o of topObjects(b.text, b.line)) {
      const p = parseLenient(o.text);
      if (!p || typeof p.value !== 'object' || p.value === null) continue;
      const v = p.value;
      // A request has no other fields than these (an audit entry also has a "method").
      const isRequest = typeof v.method === 'string' &&
        Object.keys(v).every((k) => ['id', 'method', 'params'].includes(k));
      if (isRequest) {
        items.push({ kind: 'request', transport: 'ws', line: o.line, method: v.method,
          params: v.params ?? {}, partial: p.partial });
      } else if ('result' in v || 'error' in v) {
        // `"…": "…"` stands for the fields left out.
        items.push({ kind: 'response', line: o.line, value: v, partial: p.partial || o.text.includes('"…":') });
      }
    }
  }
  const examples = [];
  for (let i = 0; i < items.length; i++) {
    if (items[i].kind !== 'request') continue;
    const next = items[i + 1];
    const resp = next && next.kind === 'response' ? next : null;
    const { kind, ...req } = items[i];
    examples.push({
      ...req,
      response: resp ? resp.value : null,
      partial: req.partial || Boolean(resp?.partial),
    });
  }
  return examples;
}

export function readExamples(file) {
  return parseExamples(fs.readFileSync(file, 'utf8'));
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

// Differences between the shape of a documented value and an actual one, as readable lines.
// Same keys (the actual may have more when partial), same JSON types; null in the docs stands
// for any type; the first element of a documented list is the shape of every actual element.
export function shapeDiff(doc, actual, { partial = false, path = '$', key = '' } = {}) {
  const td = typeOf(doc);
  const ta = typeOf(actual);
  if (td === 'null' || ta === 'null') return [];
  if (td !== ta) return [`${path}: documented ${td}, got ${ta} (${JSON.stringify(actual).slice(0, 80)})`];
  if (td === 'array') {
    if (doc.length === 0) return [];
    return actual.flatMap((a, i) => shapeDiff(doc[0], a, { partial, path: `${path}[${i}]` }));
  }
  if (td !== 'object') return [];
  if (MAP_FIELDS.has(key)) {
    const proto = Object.values(doc)[0];
    if (proto === undefined) return [];
    return Object.entries(actual).flatMap(([k, a]) => shapeDiff(proto, a, { partial, path: `${path}.${k}` }));
  }
  const out = [];
  for (const k of Object.keys(doc)) {
    if (k === '…') continue;
    if (!(k in actual)) out.push(`${path}.${k}: documented, missing in the answer`);
    else out.push(...shapeDiff(doc[k], actual[k], { partial, path: `${path}.${k}`, key: k }));
  }
  if (!partial) {
    for (const k of Object.keys(actual)) if (!(k in doc)) out.push(`${path}.${k}: in the answer, not documented`);
  }
  return out;
}
