#!/usr/bin/env node
// docgen.mjs — makes the installed example configurations and man pages from docs/, so they say
// what the docs say and cannot drift from them (issue 16).
//
//   node tools/docgen.mjs conf docs/config-gateway.md OUT [name=value ...]
//       OUT lists every option of the doc's option table, commented out with its default and
//       meaning; each name=value given becomes an active line (the package's paths).
//   node tools/docgen.mjs man DOC OUT NAME SECTION
//       OUT is DOC as a roff man page (headings, paragraphs, lists, code blocks, tables).
//
//   node tools/docgen.mjs options DOC
//       prints the option names of DOC's table, one a line: tests/integration/check-config.test.mjs
//       checks they are exactly the options the program accepts.
import fs from 'node:fs';
import path from 'node:path';

const WIDTH = 96;

// The rows of the first table whose header starts with "option": [name, default, meaning].
function optionRows(md) {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => /^\|\s*option\s*\|/.test(l));
  if (start < 0) throw new Error('no "| option |" table');
  const rows = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    const cells = splitRow(l);
    const name = cells[0].replace(/`/g, '').trim();
    if (!/^[a-z_]+$/.test(name)) throw new Error(`bad option name in row: ${l}`);
    rows.push([name, cells[1], cells[2]]);
  }
  return rows;
}

// A table row's cells; `|` inside backticks is no separator.
function splitRow(line) {
  const cells = [];
  let cur = '';
  let code = false;
  for (const ch of line.trim().slice(1, -1)) {
    if (ch === '`') code = !code;
    if (ch === '|' && !code) {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

// Markdown inline markup to plain text: links keep their text, code and emphasis lose marks.
function plain(s) {
  return s
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\\\|/g, '|');
}

function wrap(text, width, prefix) {
  const out = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && prefix.length + line.length + 1 + word.length > width) {
      out.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(prefix + line);
  return out;
}

function conf(doc, out, sets) {
  const md = fs.readFileSync(doc, 'utf8');
  const prog = `vmgate-${path.basename(doc, '.md').replace(/^config-/, '')}`;
  const active = new Map(sets.map((s) => {
    const i = s.indexOf('=');
    if (i < 1) throw new Error(`expected name=value, not ${s}`);
    return [s.slice(0, i), s.slice(i + 1)];
  }));
  const rows = optionRows(md);
  for (const name of active.keys()) {
    if (!rows.some(([n]) => n === name)) throw new Error(`${name} is no option of ${doc}`);
  }
  const text = [
    `# ${prog} configuration: \`name = value\` lines, # starts a comment, each option at most once.`,
    `# Every option is listed with its meaning and default (from ${path.basename(doc)}, the`,
    `# ${prog}(8) man page); a line without # sets it. After a change,`,
    `# \`${prog} --config FILE --check-config\` names the line of any mistake.`,
  ];
  for (const [name, def, meaning] of rows) {
    text.push('');
    text.push(...wrap(plain(meaning), WIDTH, '# '));
    const literal = /^`[^`]*`$/.test(def) ? def.slice(1, -1) : null;
    if (literal === null) text.push(...wrap(`Default: ${plain(def)}`, WIDTH, '# '));
    if (active.has(name)) text.push(`${name} = ${active.get(name)}`);
    else text.push(`#${name} = ${literal ?? ''}`.trimEnd());
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${text.join('\n')}\n`);
}

// roff: escape backslashes, and a line may not start with . or '.
function roffText(s) {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

function roffInline(s) {
  // Links keep their text; **x** bold; `x` bold as well (commands, options, file names).
  let t = s.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
  t = roffText(t);
  t = t.replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR').replace(/`([^`]*)`/g, '\\fB$1\\fR');
  return t;
}

function man(doc, out, name, section) {
  const lines = fs.readFileSync(doc, 'utf8').split('\n');
  const title = lines[0].replace(/^#\s*/, '');
  const r = [
    `.\\" Generated from ${path.basename(doc)} by tools/docgen.mjs; edit the doc, not this file.`,
    `.TH ${name.toUpperCase()} ${section} "" "vmgate" "vmgate manual"`,
    '.SH NAME',
    `${roffText(name)} \\- ${roffText(plain(title))}`,
    '.SH DESCRIPTION',
  ];
  let para = [];
  const flush = () => {
    if (para.length) r.push('.PP', roffInline(para.join(' ')));
    para = [];
  };
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('```')) {
      flush();
      r.push('.PP', '.RS 4', '.nf');
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) r.push(roffText(lines[i]));
      r.push('.fi', '.RE');
    } else if (/^#{2,}\s/.test(l)) {
      flush();
      const level = l.match(/^#+/)[0].length;
      r.push(`${level === 2 ? '.SH' : '.SS'} ${roffText(plain(l.replace(/^#+\s*/, ''))).toUpperCase()}`);
    } else if (l.startsWith('|')) {
      flush();
      const header = splitRow(l);
      i += 2; // header and |---|
      for (; i < lines.length && lines[i].startsWith('|'); i++) {
        const cells = splitRow(lines[i]);
        r.push('.TP', roffInline(cells[0]));
        r.push(roffInline(cells.slice(1).map((c, k) =>
          (k < cells.length - 2 && c ? `${header[k + 1]}: ${c}.` : c)).filter(Boolean).join(' ')));
      }
      i--;
    } else if (/^\s*[-*]\s/.test(l)) {
      flush();
      let item = l.replace(/^\s*[-*]\s+/, '');
      while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1])) item += ` ${lines[++i].trim()}`;
      r.push('.IP \\(bu 2', roffInline(item));
    } else if (!l.trim()) flush();
    else para.push(l.trim());
  }
  flush();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${r.join('\n')}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'conf' && args.length >= 2) conf(args[0], args[1], args.slice(2));
else if (mode === 'man' && args.length === 4) man(...args);
else if (mode === 'options' && args.length === 1) {
  for (const [name] of optionRows(fs.readFileSync(args[0], 'utf8'))) console.log(name);
} else {
  console.error('usage: docgen.mjs conf DOC OUT [name=value ...] | man DOC OUT NAME SECTION | options DOC');
  process.exit(2);
}
