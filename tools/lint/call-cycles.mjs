#!/usr/bin/env node
// call-cycles.mjs BUILD_DIR — lists every cycle of calls between source files of vmgate's own
// programs and fails when there is one. A file "calls" another when its object file needs a
// function the other's object file defines (nm: U against T), which is what the linker sees:
// macros, static functions and function pointers handed over at run time do not count, calls
// through a header-declared function do. Files that call each other, directly or round a longer
// loop, cannot be read, tested or replaced one at a time.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const build = process.argv[2];
if (!build || !fs.existsSync(build)) {
  console.error('usage: call-cycles.mjs BUILD_DIR (a configured and built tree)');
  process.exit(2);
}

// The programs' own objects: tests, fuzz targets and CMake's probes are left out.
function objects(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['tests', 'CMakeTmp'].includes(e.name)) objects(p, out);
    } else if (e.name.endsWith('.c.o')) out.push(p);
  }
  return out;
}

// CMake names an object after its source below the target's directory: X.dir/sub/file.c.o.
function sourceOf(obj) {
  const rel = path.relative(build, obj).split(path.sep);
  const i = rel.findIndex((s) => s.endsWith('.dir'));
  return [...rel.slice(0, i - 1), ...rel.slice(i + 1)].join('/').replace(/\.o$/, '');
}

// An object whose source is gone (a file renamed or split since the build dir was made) would
// report calls that no longer exist.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const defines = new Map(); // symbol -> source
const needs = new Map(); // source -> Set(symbol)
for (const obj of objects(build)) {
  const src = sourceOf(obj);
  if (!fs.existsSync(path.join(root, src))) continue;
  const lines = execFileSync('nm', ['--defined-only', '-g', obj], { encoding: 'utf8' });
  for (const l of lines.split('\n')) {
    const m = l.match(/ T (\S+)$/);
    if (m) defines.set(m[1], src);
  }
  const und = execFileSync('nm', ['-u', obj], { encoding: 'utf8' });
  needs.set(src, new Set(und.split('\n').map((l) => l.trim().replace(/^U /, '')).filter(Boolean)));
}

const edges = new Map();
for (const [src, syms] of needs) {
  const to = new Map();
  for (const s of syms) {
    const d = defines.get(s);
    if (d && d !== src) to.set(d, [...(to.get(d) || []), s]);
  }
  edges.set(src, to);
}

// Tarjan's strongly connected components: every component of two or more files is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of (edges.get(v) || new Map()).keys()) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) cycles.push(comp.sort());
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);

for (const comp of cycles) {
  console.log(`cycle: ${comp.join(' <-> ')}`);
  for (const a of comp) {
    for (const [b, syms] of edges.get(a)) {
      if (comp.includes(b)) console.log(`  ${a} -> ${b}: ${syms.slice(0, 4).join(', ')}`);
    }
  }
}
console.log(`${edges.size} files, ${cycles.length} call cycle(s)`);
process.exit(cycles.length ? 1 : 0);
