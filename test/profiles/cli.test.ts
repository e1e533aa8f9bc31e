// `cardsmith profile validate|show|schema`: output, JSON, exit codes (0 valid, 2 invalid or bad
// usage) and no stack trace for the user — in-process and through the built binary.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cli, cliProcess } from '../helpers/cli.js';
import { PROFILE_SCHEMA } from '../../profiles/index.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

t.test('validate: a valid profile prints "valid" and exits 0', async (t) => {
  for (const p of ['builtin:sscard-gen3', 'builtin:sscard-gen3-sm4', 'builtin:gp-cps', here('../../profiles/sscard-gen3.yaml')]) {
    const r = await cli(['profile', 'validate', p]);
    t.same(r, { code: 0, out: 'valid\n', err: '' }, p);
  }
  const j = await cli(['profile', 'validate', 'builtin:gp-cps', '--json']);
  t.equal(j.code, 0);
  t.match(JSON.parse(j.out), { valid: true, errors: 0, warnings: 0, profile: 'gp-cps', diagnostics: [] });
});

t.test('validate: every problem as file:line:column, exit 2', async (t) => {
  const file = here('broken/gbk-too-long.yaml');
  const r = await cli(['profile', 'validate', file]);
  t.equal(r.code, 2);
  t.equal(r.err, '');
  t.match(r.out, `${file}:8:66: error: name: GBK text of up to 30 bytes does not fit in 20 bytes (hint: raise the length to 30 or declare the field with maxBytes: 20)\n`);
  t.match(r.out, /: 1 error\n$/);
  const j = await cli(['profile', 'validate', file, '--json']);
  t.equal(j.code, 2);
  t.match(JSON.parse(j.out), { valid: false, errors: 1, diagnostics: [{ severity: 'error', code: 'encoding-capacity', file, line: 8, col: 66 }] });
});

t.test('validate: several problems at once, each with its place', async (t) => {
  const r = await cli(['profile', 'validate', 'x.yaml'], {});
  t.equal(r.code, 2);
  t.match(r.out, /^x\.yaml:1:1: error: cannot read the profile \(no such file\)\n/);
  const many = await cli(['profile', 'validate', here('fixtures/many-problems.yaml')]);
  t.equal(many.code, 2);
  const lines = many.out.trim().split('\n');
  t.ok(lines.length >= 5, many.out);
  for (const l of lines.slice(0, -1)) t.match(l, /^\/.*many-problems\.yaml:\d+:\d+: (error|warning): /);
  t.match(many.out, /unknown key 'sfid'.*did you mean 'sfi'/);
  t.match(many.out, /FID EF01 is used twice/);
  t.match(many.out, /key 'NOPE' is not defined/);
  t.match(many.out, /record field 'nmae' is not declared/);
  t.match(many.out, /cn of 8 digits needs 4 bytes; the element has 3/);
});

t.test('validate: a fixed PIN is an error, and a warning in a test profile', async (t) => {
  const r = await cli(['profile', 'validate', here('fixtures/test-pin.yaml')]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /warning: PIN PIN is the same on every card \(allowed because this is a test profile\)\nvalid \(1 warning\)\n$/);
});

t.test('show: the tree with access conditions and keys; no key bytes anywhere', async (t) => {
  const r = await cli(['profile', 'show', 'builtin:sscard-gen3']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /SSSE {2}DF {2}DDF1 {2}aid 7378312E73682EC9E7BBE1B1A3D5CF/);
  t.match(r.out, /EF05 {2}EF {2}EF05 {2}sfi 5 {2}linear-variable tlv 8 × 32 {2}read always {2}update auth\(UK #0D\) {2}append auth\(UK #0D\)/);
  t.match(r.out, /key UK {2}external-auth #0D v1 3DES tries 5 {2}← pboc 2 levels from ss3-des-uk v\(newest\), at run time {2}kcv ------/);
  t.match(r.out, /pin PIN {2}#00 6 digits tries 3 random {2}unblock PUK reload RPK/);
  t.match(r.out, /tag 09 {2}name {2}30 gbk pad 00 {2}= \$\{record\.name\}/);
  t.notMatch(r.out, /[0-9A-F]{32}/, 'nothing that looks like a 16-byte key');
  const gp = await cli(['profile', 'show', 'builtin:gp-cps']);
  t.match(gp.out, /DGI 8000 secret {2}keys AC ‖ SMI ‖ SMC \(encrypted\)/);
  const j = await cli(['profile', 'show', 'builtin:sscard-gen3', '--json']);
  const parsed = JSON.parse(j.out);
  t.equal(parsed.name, 'sscard-gen3');
  t.equal(parsed.mf.children[1].aid, '7378312E73682EC9E7BBE1B1A3D5CF');
  t.same(parsed.keyStore.uk, { alias: 'uk', label: 'ss3-des-uk', alg: 'des3' });
  t.notOk(JSON.stringify(parsed).includes('"loc"'), 'no source locations in JSON');
});

t.test('show: an invalid profile is one line and exit 2', async (t) => {
  const r = await cli(['profile', 'show', here('broken/duplicate-fid.yaml')]);
  t.equal(r.code, 2);
  t.equal(r.out, '');
  t.match(r.err, /^cardsmith: .*duplicate-fid\.yaml:6:23: error: FID EF06 is used twice in DF APP/);
  t.equal(r.err.trim().split('\n').length, 1);
  const none = await cli(['profile', 'show', 'builtin:nope']);
  t.equal(none.code, 2);
  t.match(none.err, /no built-in profile 'nope'/);
});

t.test('schema: the JSON Schema, parseable', async (t) => {
  const r = await cli(['profile', 'schema']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.out), PROFILE_SCHEMA);
});

t.test('usage errors exit 2', async (t) => {
  t.equal((await cli(['profile'])).code, 2);
  t.equal((await cli(['profile', 'validate'])).code, 2);
  t.equal((await cli(['profile', 'frobnicate', 'x'])).code, 2);
});

t.test('the built binary: exit codes and no stack trace', async (t) => {
  const ok = cliProcess(['profile', 'validate', 'builtin:sscard-gen3']);
  t.equal(ok.code, 0, ok.err);
  t.equal(ok.out, 'valid\n');
  for (const args of [['profile', 'validate', here('broken/yaml-syntax.yaml')], ['profile', 'show', here('broken/cycle-a.yaml')], ['profile', 'show', '/nonexistent/x.yaml']]) {
    const r = cliProcess(args);
    t.equal(r.code, 2, args.join(' '));
    t.notMatch(r.out + r.err, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
  }
});
