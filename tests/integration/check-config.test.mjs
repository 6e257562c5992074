// Issue 16: `--check-config` of both daemons, and the option tables of docs/config-*.md (from
// which tools/docgen.mjs makes the installed example configurations and man pages) naming
// exactly the options each program accepts. Runs the programs of VG_BUILD_DIR; no stack.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './lib/stack.mjs';

const BUILD = process.env.VG_BUILD_DIR || path.join(REPO, 'build');
const PROGS = {
  gateway: path.join(BUILD, 'gateway/vmgate-gateway'),
  hostd: path.join(BUILD, 'hostd/vmgate-hostd'),
};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-checkconf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = (name, text) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};
const secret = file('secret', 'not-a-real-secret\n');
const cert = file('cert.pem', 'x\n');
const good = {
  gateway: `tls_cert = ${cert}\ntls_key = ${cert}\ntls_ca = ${cert}\nscripts_dir = ${REPO}/redis-scripts\n`,
  hostd: `tls_cert = ${cert}\ntls_key = ${cert}\ntls_ca = ${cert}\nlink_secret_file = ${secret}\nscripts_dir = ${REPO}/redis-scripts\n`,
};

function check(prog, text) {
  const conf = file(`${prog}-${Math.random().toString(36).slice(2)}.conf`, text);
  const r = spawnSync(PROGS[prog], ['--config', conf, '--check-config'], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr, conf };
}

for (const prog of ['gateway', 'hostd']) {
  test(`vmgate-${prog} --check-config passes a good file and names the line of an unknown key, a bad value and a missing file`, () => {
    const ok = check(prog, good[prog]);
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /configuration OK/);

    const unknown = check(prog, `${good[prog]}\nfrobnicate = 1\n`);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.err.trim().split('\n').length, 1, unknown.err);
    const line = good[prog].split('\n').length + 1; // after the good lines and a blank one
    assert.match(unknown.err, new RegExp(`${unknown.conf}: line ${line}: unknown option "frobnicate"`));

    const badValue = check(prog, `${good[prog]}redis_port = 70000\n`);
    assert.equal(badValue.status, 2);
    assert.equal(badValue.err.trim().split('\n').length, 1, badValue.err);
    assert.match(badValue.err, new RegExp(`${badValue.conf}: line \\d+: redis_port: must be 1`));

    const notNumber = check(prog, `redis_port = many\n${good[prog]}`);
    assert.equal(notNumber.status, 2);
    assert.match(notNumber.err, /line 1: redis_port: "many" is not a whole number/);

    const missing = check(prog, good[prog].replace(`tls_ca = ${cert}`, 'tls_ca = /nonexistent/ca.pem'));
    assert.equal(missing.status, 2);
    assert.equal(missing.err.trim().split('\n').length, 1, missing.err);
    assert.match(missing.err, new RegExp(`${missing.conf}: line 3: tls_ca: cannot read /nonexistent/ca.pem: No such file`));

    // Redis Sentinel (operations.md "Redis high availability"): a list the client could not
    // use, or a master name that cannot travel in the Sentinels' messages, stops the start.
    for (const [line, why] of [
      ['redis_sentinels = 127.0.0.1:26379,,127.0.0.1:26380', /redis_sentinels: the Sentinel list has an empty entry/],
      ['redis_sentinels = 127.0.0.1:26379, sentinel-b', /redis_sentinels: Sentinel 'sentinel-b' is not host:port/],
      ['redis_sentinels = 127.0.0.1:0', /redis_sentinels: Sentinel '127.0.0.1:0' has a bad port/],
      ['redis_master_name = two words', /redis_master_name: must be one word/],
    ]) {
      const bad = check(prog, `${good[prog]}${line}\n`);
      assert.equal(bad.status, 2, line);
      assert.match(bad.err, why);
    }
    const sentinels = check(prog, `${good[prog]}redis_sentinels = 127.0.0.1:26379, [::1]:26380,s3.example:26381\nredis_master_name = vmgate-eu\n`);
    assert.equal(sentinels.status, 0, sentinels.err);

    // A flag that overrides the file is named as the flag.
    const flag = spawnSync(PROGS[prog], ['--config', check(prog, good[prog]).conf, '--redis_port=0', '--check-config'], { encoding: 'utf8' });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--redis_port: redis_port: must be 1/);
  });

  test(`docs/config-${prog}.md documents exactly the options vmgate-${prog} accepts`, () => {
    const help = execFileSync(PROGS[prog], ['--help'], { encoding: 'utf8' });
    const accepted = [...help.matchAll(/^\s+--(\w+)/gm)].map((m) => m[1]).sort();
    const documented = execFileSync('node', [path.join(REPO, 'tools/docgen.mjs'), 'options', path.join(REPO, `docs/config-${prog}.md`)], { encoding: 'utf8' })
      .trim().split('\n').sort();
    assert.deepEqual(documented, accepted);
  });
}
