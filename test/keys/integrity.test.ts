// The file store is authenticated as a whole (every header field, no unknown or missing field, no
// other cipher, a full-length tag), and its audit log is anchored: entries carry a MAC under a key
// inside the store, so a forged entry appended to the log is refused; exports (prep's transport
// key) and other audited operations are anchored like every change. A version 1 store still opens
// and is upgraded at its next change.
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStoreAccessError } from '../../keys/errors.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { cli } from '../helpers/cli.js';
import { keysCli, PASS, tempDir } from './fixtures/helpers.js';

const pass = () => new TextEncoder().encode(PASS);
const FIXTURE_V1 = new URL('./fixtures/v1/', import.meta.url).pathname;

async function openError(path: string): Promise<KeyStoreAccessError> {
  const err = await FileKeyStore.open(path, pass()).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  if (!(err instanceof KeyStoreAccessError)) throw new Error(`expected a KeyStoreAccessError, got ${String(err)}`);
  return err;
}

/** Appends an entry that chains correctly (seq, prev, hash) — what anyone who can write the log can do. */
function forgeTail(audit: string): void {
  const last = JSON.parse(readFileSync(audit, 'utf8').trimEnd().split('\n').pop()!) as { seq: number; hash: string };
  const e: Record<string, unknown> = { seq: last.seq + 1, time: new Date().toISOString(), op: 'retire', backend: 'file', label: 'kmc', version: 1, prev: last.hash };
  e.hash = createHash('sha256').update(last.hash + JSON.stringify(e)).digest('hex').toUpperCase();
  appendFileSync(audit, JSON.stringify(e) + '\n');
}

t.test('every header field, an added field, another cipher, a short tag: refused with a clear message, file untouched', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'store.keys');
  const s = await FileKeyStore.create(path, pass());
  await s.generate({ label: 'kmc', alg: 'des3' });
  await s.close();
  const original = readFileSync(path, 'utf8');
  t.equal(JSON.parse(original).formatVersion, 2);
  const otherB64 = (n: number) => randomBytes(n).toString('base64');
  const edit = (f: (j: Record<string, any>) => void) => () => {
    const j = JSON.parse(original) as Record<string, any>;
    f(j);
    return JSON.stringify(j, null, 1) + '\n';
  };
  const cases: [string, () => string, string, RegExp][] = [
    ['format', edit((j) => (j.format = 'cardsmith-keystore-x')), 'not-a-keystore', /is not a cardsmith key store/],
    ['formatVersion 2 → 1', edit((j) => (j.formatVersion = 1)), 'tampered', /authentication failed; the passphrase is right/],
    ['formatVersion 3', edit((j) => (j.formatVersion = 3)), 'not-a-keystore', /format version 3; this cardsmith reads versions 1 and 2/],
    ['kdf.name', edit((j) => (j.kdf.name = 'pbkdf2')), 'tampered', /header fields out of range/],
    ['kdf.N', edit((j) => (j.kdf.N = 2 ** 15)), 'wrong-passphrase', /wrong passphrase .*the file's kdf fields were changed/],
    ['kdf.r', edit((j) => (j.kdf.r = 9)), 'wrong-passphrase', /wrong passphrase/],
    ['kdf.p', edit((j) => (j.kdf.p = 2)), 'wrong-passphrase', /wrong passphrase/],
    ['kdf.salt', edit((j) => (j.kdf.salt = otherB64(16))), 'wrong-passphrase', /wrong passphrase/],
    ['check', edit((j) => (j.check = otherB64(32))), 'tampered', /field 'check' was changed; the passphrase is right/],
    ['cipher name', edit((j) => (j.cipher = 'aes-128-gcm')), 'tampered', /cipher 'aes-128-gcm': a cardsmith key store is aes-256-gcm/],
    ['iv', edit((j) => (j.iv = otherB64(12))), 'tampered', /authentication failed/],
    ['tag cut to 4 bytes', edit((j) => (j.tag = Buffer.from(j.tag, 'base64').subarray(0, 4).toString('base64'))), 'tampered', /field 'tag' is not 16 bytes of base64/],
    ['an added field', edit((j) => (j.comment = 'hello')), 'tampered', /field 'comment' is not part of a cardsmith key store/],
    ['an added kdf field', edit((j) => (j.kdf.maxmem = 1)), 'tampered', /field 'kdf.maxmem' is not part of a cardsmith key store/],
    ['a missing field', edit((j) => delete j.cipher), 'tampered', /field 'cipher' is missing/],
    ['a duplicate key', () => original.replace('"check"', '"cipher": "des-ede3-cbc",\n "check"'), 'tampered', /duplicate keys, key order or number format/],
    ['keys reordered', edit((j) => {
      const { format, ...rest } = j;
      for (const k of Object.keys(j)) delete j[k];
      Object.assign(j, rest, { format });
    }), 'tampered', /key order/],
  ];
  for (const [name, mutate, reason, pattern] of cases) {
    const changed = mutate();
    writeFileSync(path, changed);
    const err = await openError(path);
    t.equal(err.reason, reason, `${name}: ${reason}`);
    t.match(err.message, pattern, name);
    t.match(err.message, /^keystore: /, `${name}: one line naming the store`);
    t.equal(readFileSync(path, 'utf8'), changed, `${name}: nothing written`);
  }
  // Through the CLI: exit 1, the message, no stack trace.
  writeFileSync(path, edit((j) => (j.cipher = 'aes-128-gcm'))());
  const cliErr = await keysCli({ CARDSMITH_KEYSTORE_PASS: PASS })(['list', '--keystore', path]);
  t.equal(cliErr.code, 1);
  t.match(cliErr.err, /has been tampered with or damaged \(cipher 'aes-128-gcm': a cardsmith key store is aes-256-gcm\); restore it from backup/);
  t.notMatch(cliErr.err, /\n\s+at /, 'no stack trace');
  writeFileSync(path, original.replace(/\n/g, '\n  '));
  const spaced = await FileKeyStore.open(path, pass());
  t.pass('white space alone is not an edit');
  await spaced.close();
  writeFileSync(path, original);
});

t.test('a version 1 store opens, and becomes version 2 with MACs on its audit entries at its next change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keystore-v1-'));
  const path = join(dir, 'store.keys');
  copyFileSync(join(FIXTURE_V1, 'store.keys'), path);
  copyFileSync(join(FIXTURE_V1, 'store.keys.audit'), `${path}.audit`);
  const run = keysCli({ CARDSMITH_KEYSTORE_PASS: PASS });
  const before = await run(['audit', '--keystore', path, '--verify']);
  t.equal(before.code, 0, before.err);
  t.match(before.out, /OK, 4 entries .*1 entry after the anchor belong to an operation that did not complete; the entries carry no MAC yet/);
  t.equal(JSON.parse(readFileSync(path, 'utf8')).formatVersion, 1);

  const s = await FileKeyStore.open(path, pass(), { write: true });
  await s.generate({ label: 'extra', alg: 'aes' });
  t.same(s.verifyAudit().authenticatedFrom, 5, 'entries from the first change on carry a MAC');
  await s.close();
  t.equal(JSON.parse(readFileSync(path, 'utf8')).formatVersion, 2, 'written back as version 2');
  const after = await run(['audit', '--keystore', path, '--verify']);
  t.equal(after.code, 0, after.err);
  t.match(after.out, /OK, 5 entries .*every operation completed; entries 5–5 carry a valid MAC \(the ones before predate it\)/);
  t.equal((await run(['list', '--keystore', path])).code, 0, 'the keys are all there');

  forgeTail(`${path}.audit`);
  const forged = await run(['audit', '--keystore', path, '--verify']);
  t.equal(forged.code, 1);
  t.match(forged.err, /:6: entry 6 \(retire\) was not written by this key store \(its MAC is missing\)/);
});

t.test("prep's export of the transport key completes in the audit log; a forged tail entry is refused", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'keystore-anchor-'));
  const demo = join(root, 'demo');
  const d = await cli(['demo', '--cards', '1', '--out', demo]);
  t.equal(d.code, 0, d.err);
  const store = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
  const p = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', join(root, 'b2'), ...store, '--registry', join(root, 'registry.sqlite')]); // the demo's registry knows the cardholder
  t.equal(p.code, 0, p.err);
  const audit = join(demo, 'keys.store.audit');
  const exports = readFileSync(audit, 'utf8').split('\n').filter((l) => l.includes('"op":"export-components"'));
  t.ok(exports.length >= 2, 'both preps (demo, cardsmith prep) exported the transport key, and the log says so');

  const v = await cli(['keys', 'audit', '--verify', ...store]);
  t.equal(v.code, 0, v.err);
  t.match(v.out, /every operation completed; every entry carries a valid MAC/);
  t.notMatch(v.out, /did not complete/);
  const n = readFileSync(audit, 'utf8').trimEnd().split('\n').length;
  t.match(v.out, new RegExp(`OK, ${n} entries .*matches the store's anchor \\(entry ${n}\\)`), 'the anchor is the last entry');

  const clean = readFileSync(audit, 'utf8');
  forgeTail(audit);
  const lines = readFileSync(audit, 'utf8').trimEnd().split('\n');
  const withMac = { ...(JSON.parse(lines.pop()!) as Record<string, unknown>), mac: 'ab'.repeat(32) };
  writeFileSync(audit, [...lines, JSON.stringify(withMac)].join('\n') + '\n');
  const wrong = await cli(['keys', 'audit', '--verify', ...store]);
  t.equal(wrong.code, 1);
  t.match(wrong.err, /its MAC is wrong/);
  writeFileSync(audit, clean);
  forgeTail(audit);
  const bad = await cli(['keys', 'audit', '--verify', ...store]);
  t.equal(bad.code, 1);
  t.match(bad.err, new RegExp(`:${n + 1}: entry ${n + 1} \\(retire\\) was not written by this key store \\(its MAC is missing\\).*restore the log from backup`));
  const list = await cli(['keys', 'list', ...store]);
  t.equal(list.code, 1, 'no command uses a store whose log has a forged entry');
  const chainOnly = await cli(['keys', 'audit', '--verify', '--chain-only', '--keystore', join(demo, 'keys.store')]);
  t.equal(chainOnly.code, 0, 'the chain alone cannot tell (it needs the store)');
});

t.test('an audited operation that changes no key (audit(), as issue-cert uses) moves the anchor', async (t: Test) => {
  const dir = tempDir();
  const s = await FileKeyStore.create(join(dir, 'store.keys'), pass());
  await s.generate({ label: 'kmc', alg: 'des3' });
  await s.audit('issue-cert', { label: 'kmc' }, { serial: '01' });
  const r = s.verifyAudit();
  t.same([r.entries, r.unconfirmed, s.auditAnchor().seq, r.authenticatedFrom], [3, 0, 3, 1]);
  await s.close();
});
