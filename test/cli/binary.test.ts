// The installed binary as a user runs it: --help with examples, --version, exit codes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { cliProcess } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

t.test('--version prints the package version', async (t) => {
  const r = cliProcess(['--version']);
  t.equal(r.code, 0);
  t.equal(r.out.trim(), pkg.version);
});

t.test('--help lists the commands and every crypto command has examples', async (t) => {
  const top = cliProcess(['--help']);
  t.equal(top.code, 0);
  t.match(top.out, /crypto <command>/);
  t.match(top.out, /selftest/);
  for (const cmd of ['kcv', 'derive', 'encrypt', 'decrypt', 'mac', 'hash', 'sign', 'verify', 'keygen']) {
    const r = cliProcess(['crypto', cmd, '--help']);
    t.equal(r.code, 0, `${cmd} --help`);
    t.match(r.out, /Examples:/, `${cmd} has examples`);
    t.match(r.out, /--json/, `${cmd} has --json`);
  }
});

t.test('bad input: exit 2, one line, no stack trace', async (t) => {
  const r = cliProcess(['crypto', 'kcv', '--alg', 'des3', '--key', 'env:NOT_SET']);
  t.equal(r.code, 2);
  t.equal(r.err.trim().split('\n').length, 1, r.err);
  t.equal(r.out, '');
});

t.test('selftest passes every vector and exits 0', async (t) => {
  const r = cliProcess(['selftest', '--json']);
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as { passed: number; failed: number };
  t.equal(report.failed, 0);
  t.ok(report.passed >= 190, `${report.passed} vectors passed`);
});
