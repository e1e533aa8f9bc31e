// The audit log: every kind of change to it is found, by the library and by `keys audit --verify`.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAuditLog } from '../../keys/audit.js';
import { AuditError } from '../../keys/errors.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { keysCli, PASS, tempDir } from './fixtures/helpers.js';

async function storeWithHistory(hashAlg: 'sha256' | 'sm3' = 'sha256') {
  const dir = tempDir();
  const path = join(dir, 'store.keys');
  const s = await FileKeyStore.create(path, new TextEncoder().encode(PASS), { auditHash: hashAlg });
  await s.generate({ label: 'a', alg: 'aes' });
  await s.generate({ label: 'b', alg: 'des3' });
  await s.rotate('a');
  await s.retire({ label: 'a', version: 1 });
  const anchor = s.auditAnchor();
  await s.close();
  return { dir, path, audit: `${path}.audit`, anchor };
}

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').slice(0, -1);
const put = (p: string, ls: string[]) => writeFileSync(p, ls.map((l) => l + '\n').join(''));

t.test('a clean log verifies, with either chain hash', async (t) => {
  for (const alg of ['sha256', 'sm3'] as const) {
    const h = await storeWithHistory(alg);
    const r = verifyAuditLog(h.audit, h.anchor);
    t.same([r.entries, r.hashAlg, r.unconfirmed], [5, alg, 0], alg);
    t.same(r.head, h.anchor);
    const first = JSON.parse(lines(h.audit)[0]!);
    t.equal(first.op, 'init');
    t.equal(first.hashAlg, alg);
    for (const l of lines(h.audit)) t.notMatch(l, /"value"|passphrase/i, 'entries carry no values');
  }
});

t.test('edits, deletions, reordering, a cut tail and a rewritten chain are all detected', async (t) => {
  const h = await storeWithHistory();
  const orig = lines(h.audit);
  const cases: [string, (ls: string[]) => string[], RegExp][] = [
    ['an edited field', (ls) => ls.map((l, i) => (i === 2 ? l.replace(/"kcv":"[0-9A-F]{6}"/, '"kcv":"000000"') : l)), /:3: the entry was changed after it was written/],
    ['a deleted entry', (ls) => ls.filter((_, i) => i !== 1), /:2: entry number 3 where 2 was expected/],
    ['two entries swapped', (ls) => [ls[0]!, ls[2]!, ls[1]!, ...ls.slice(3)], /:2: entry number 3 where 2 was expected/],
    ['the last entry removed', (ls) => ls.slice(0, -1), /entries were removed from the end of the log/],
    ['garbage line', (ls) => [...ls.slice(0, 2), 'not json', ...ls.slice(3)], /:3: not a JSON entry/],
  ];
  for (const [name, mutate, pattern] of cases) {
    put(h.audit, mutate(orig));
    t.throws(() => verifyAuditLog(h.audit, h.anchor), pattern, name);
    put(h.audit, orig);
  }
  writeFileSync(h.audit, orig.join('\n') + '\n{"seq":6,');
  t.throws(() => verifyAuditLog(h.audit, h.anchor), /last line is incomplete/, 'a torn last line');
  // A forger who rebuilds the whole chain consistently after an edit: the chain checks out, the anchor does not.
  put(h.audit, orig);
  const { createHash } = await import('node:crypto');
  let prev = '0'.repeat(64);
  const forged = orig.map((l, i) => {
    const e = JSON.parse(l);
    if (i === 2) e.kcv = '000000';
    e.prev = prev;
    delete e.hash;
    delete e.mac; // a forger cannot compute it
    e.hash = createHash('sha256').update(prev + JSON.stringify(e)).digest('hex').toUpperCase();
    prev = e.hash;
    return JSON.stringify(e);
  });
  put(h.audit, forged);
  t.doesNotThrow(() => verifyAuditLog(h.audit), 'the rebuilt chain is self-consistent…');
  t.throws(() => verifyAuditLog(h.audit, h.anchor), /differs from the entry the key store recorded \(the log was rewritten\)/, '…but not with the anchor');
  put(h.audit, orig);
});

t.test('keys audit --verify: exit 0 on a clean log, 1 on a tampered one; a store with a broken log does not open', async (t) => {
  const h = await storeWithHistory();
  const run = keysCli({ CARDSMITH_KEYSTORE_PASS: PASS });
  const ok = await run(['audit', '--keystore', h.path, '--verify']);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /OK, 5 entries \(sha256\), matches the store's anchor \(entry 5\)/);
  const chain = await run(['audit', '--keystore', h.path, '--verify', '--chain-only'], { CARDSMITH_KEYSTORE_PASS: '' });
  t.equal(chain.code, 0, chain.err);
  t.match(chain.out, /chain OK, 5 entries/);
  const shown = await run(['audit', '--keystore', h.path]);
  t.match(shown.out, /retire\s+a v1/);
  const orig = lines(h.audit);
  put(h.audit, orig.map((l, i) => (i === 1 ? l.replace('"generate"', '"generatf"') : l)));
  const bad = await run(['audit', '--keystore', h.path, '--verify']);
  t.equal(bad.code, 1);
  t.match(bad.err, /audit: .*:2: the entry was changed after it was written/);
  const badChain = await run(['audit', '--keystore', h.path, '--verify', '--chain-only']);
  t.equal(badChain.code, 1);
  const list = await run(['list', '--keystore', h.path]);
  t.equal(list.code, 1, 'every command refuses a store whose log is broken');
  t.match(list.err, /hash mismatch/);
  put(h.audit, orig.slice(0, 3));
  const cut = await run(['audit', '--keystore', h.path, '--verify']);
  t.equal(cut.code, 1);
  t.match(cut.err, /removed from the end of the log/);
  put(h.audit, orig);
  t.equal((await run(['list', '--keystore', h.path])).code, 0, 'restored: opens again');
  t.throws(() => verifyAuditLog(join(h.dir, 'missing.audit')), AuditError);
});
