// A synthetic console for line-mode tests and the console.exec benchmark: a unix socket in a
// stack's console directory (com-<vm>.sock, which hostd picks up) serving a tiny shell that
// echoes what it is sent, answers `echo $((a*b))` lines, prints "^C" on Ctrl-C and prompts
// "syn# ". onClient(socket) sees each connection (hostd's holder). Returns the net.Server.
import fs from 'node:fs';
import net from 'node:net';

export function fakeShell(file, onClient) {
  fs.rmSync(file, { force: true });
  const srv = net.createServer((s) => {
    let line = '';
    s.write('syn# ');
    onClient?.(s);
    s.on('data', (d) => {
      for (const ch of d.toString('latin1')) {
        if (ch === '\r') {
          const m = /^echo \$\(\((\d+)\*(\d+)\)\)/.exec(line);
          s.write(`\r\n${m ? `${Number(m[1]) * Number(m[2])}\r\n` : ''}syn# `);
          line = '';
        } else if (ch === '\x03') {
          s.write('^C\r\nsyn# ');
          line = '';
        } else if (ch >= ' ') {
          line += ch;
          s.write(ch);
        }
      }
    });
    s.on('error', () => {});
  });
  srv.listen(file);
  return srv;
}
