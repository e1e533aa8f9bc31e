// Reuse: extends and include, the merge rules, !delete, cycles with their chain, and locations
// that stay in the file where each value was written.
import { join } from 'node:path';
import t from 'tap';
import { formatDiagnostic, formatLoc, loadProfile, ProfileError, validateProfile, type DfNode } from '../../profiles/index.js';

const BASE = `profile: base
card: { cos: sscard, interfaces: [contact] }
keyStore:
  transport: { label: t-transport, algorithm: 3des }
  mk: { label: t-mk, algorithm: 3des }
transport: { key: transport }
record:
  fields:
    name: { type: text, maxBytes: 30 }
mf:
  keys:
    MF_MK: { type: master, id: "00", tries: 15, derive: { method: pboc, master: mk, data: "\${hex('0102030405060708')}" } }
  files:
    A: { fid: DF01, access: { create: auth(MF_MK) } }
    B: { fid: DF02, access: { create: auth(MF_MK) } }
`;

t.test('extends: maps merge key by key, new keys go after, scalars and lists are replaced', async (t) => {
  const dir = t.testdir({
    'base.yaml': BASE,
    'child.yaml': `extends: base.yaml
profile: child
card: { interfaces: [contact, contactless] }
mf:
  files:
    C: { fid: DF03 }
    A: { fid: DF0A }
`,
  });
  const p = loadProfile(join(dir, 'child.yaml'));
  t.equal(p.name, 'child');
  t.equal(p.cos, 'sscard', 'kept from the base');
  t.same(p.interfaces, ['contact', 'contactless'], 'a list is replaced whole');
  t.same(p.mf!.children.map((c) => [c.name, c.fid]), [['A', 0xdf0a], ['B', 0xdf02], ['C', 0xdf03]], 'A changed in place, C appended');
  t.equal((p.mf!.children[0] as DfNode).access.create.kind, 'key', "A's other keys come from the base");
  t.equal(p.files.length, 2);
});

t.test('!delete removes a key; include merges fragments before the file itself', async (t) => {
  const dir = t.testdir({
    'base.yaml': BASE,
    'frag1.yaml': 'mf:\n  files:\n    D: { fid: DF04 }\n',
    'frag2.yaml': 'mf:\n  files:\n    D: { fid: DF05 }\n    E: { fid: DF06 }\n',
    'child.yaml': 'extends: base.yaml\ninclude: [frag1.yaml, frag2.yaml]\nmf:\n  files:\n    B: !delete\n    E: { fid: DF07 }\n',
  });
  const p = loadProfile(join(dir, 'child.yaml'));
  t.same(p.mf!.children.map((c) => [c.name, c.fid]), [['A', 0xdf01], ['D', 0xdf05], ['E', 0xdf07]], 'base ⊕ frag1 ⊕ frag2 ⊕ child');
});

t.test('a diamond (two routes to one fragment) is not a cycle', async (t) => {
  const dir = t.testdir({
    'base.yaml': BASE,
    'common.yaml': 'parameters: { x: "1" }\n',
    'left.yaml': 'include: [common.yaml]\n',
    'right.yaml': 'include: [common.yaml]\n',
    'top.yaml': 'extends: base.yaml\ninclude: [left.yaml, right.yaml]\n',
  });
  const r = validateProfile(join(dir, 'top.yaml'));
  t.ok(r.ok, r.diagnostics.map(formatDiagnostic).join('\n'));
  t.same(r.profile!.parameters, { x: '1' });
});

t.test('cycles are reported at the reference that closes them, with the chain', async (t) => {
  const dir = t.testdir({
    'a.yaml': 'include: [b.yaml]\nprofile: a\n',
    'b.yaml': 'include:\n  - c.yaml\n',
    'c.yaml': 'extends: a.yaml\n',
  });
  const r = validateProfile(join(dir, 'a.yaml'));
  t.notOk(r.ok);
  const d = r.diagnostics.find((x) => x.code === 'include-cycle')!;
  t.ok(d);
  t.equal(d.loc.line, 1);
  t.equal(d.loc.col, 10);
  t.match(d.loc.file, /c\.yaml$/);
  t.match(d.message, /a\.yaml → .*b\.yaml → .*c\.yaml → .*a\.yaml/);
  t.throws(() => loadProfile(join(dir, 'a.yaml')), ProfileError);
});

t.test('a profile extending itself', async (t) => {
  const dir = t.testdir({ 'self.yaml': 'extends: self.yaml\n' });
  const r = validateProfile(join(dir, 'self.yaml'), { display: 'self.yaml' });
  t.same(r.diagnostics.map(formatDiagnostic), ["self.yaml:1:10: error: 'self.yaml' makes a cycle: self.yaml → self.yaml (hint: a profile cannot extend or include itself, directly or through other files; remove one link of the chain)"]);
});

t.test('builtin:NAME, and errors located in the file that has them', async (t) => {
  const dir = t.testdir({
    'mine.yaml': 'extends: builtin:sscard-gen3\nprofile: mine\nparameters:\n  cityCode: "440300"\nmf:\n  files:\n    SSSE:\n      files:\n        EF06: { recordLength: 20 }\n',
  });
  const r = validateProfile(join(dir, 'mine.yaml'), { display: 'mine.yaml' });
  t.notOk(r.ok);
  const tooLong = r.diagnostics.filter((d) => d.code === 'record-too-long');
  t.ok(tooLong.length >= 2, 'the records that no longer fit');
  t.match(formatLoc(tooLong[0]!.loc), /profiles\/sscard-gen3\.yaml:\d+:\d+$/, 'reported where the element is written, in the built-in file');
  const ok = validateProfile(join(dir, 'mine.yaml').replace('mine.yaml', 'mine.yaml'), { text: 'extends: builtin:sscard-gen3\nprofile: mine\nparameters:\n  cityCode: "440300"\n' });
  t.ok(ok.ok, 'changing a parameter only');
  t.equal(ok.profile!.parameters.cityCode, '440300');
});

t.test('the profile hash depends on content, not on how it is split into files', async (t) => {
  const dir = t.testdir({
    'whole.yaml': BASE + 'parameters: { x: "1" }\n',
    'base.yaml': BASE,
    'split.yaml': 'extends: base.yaml\nparameters: { x: "1" }\n',
    'other.yaml': 'extends: base.yaml\nparameters: { x: "2" }\n',
  });
  const whole = loadProfile(join(dir, 'whole.yaml'));
  t.equal(loadProfile(join(dir, 'split.yaml')).hash, whole.hash);
  t.not(loadProfile(join(dir, 'other.yaml')).hash, whole.hash);
  t.match(whole.hash, /^[0-9a-f]{64}$/);
});

t.test('empty files, non-mappings and unreadable files', async (t) => {
  const dir = t.testdir({ 'empty.yaml': '', 'list.yaml': '- a\n- b\n' });
  t.match(validateProfile(join(dir, 'empty.yaml')).diagnostics, [{ code: 'empty-profile', loc: { line: 1, col: 1 } }]);
  t.match(validateProfile(join(dir, 'list.yaml')).diagnostics, [{ code: 'not-a-mapping' }]);
  t.match(validateProfile(join(dir, 'none.yaml'), { display: 'none.yaml' }).diagnostics, [{ code: 'file-unreadable', message: 'cannot read the profile (no such file)' }]);
});
