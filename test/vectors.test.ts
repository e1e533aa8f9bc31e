// Runs every known-answer vector in test-vectors/*.json: one subtest per file, one assertion per
// vector named after it. Adding a vector is adding JSON (format: test-vectors/README.md).
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { checkVector, KNOWN_OPS, loadVectorFiles } from '../crypto/known-answers.js';

const files = loadVectorFiles(fileURLToPath(new URL('../test-vectors', import.meta.url)));

t.ok(files.length >= 10, `found ${files.length} vector files`);

for (const f of files) {
  t.test(f.file, async (t) => {
    t.ok(f.vectors.length > 0, 'has vectors');
    for (const v of f.vectors) {
      t.ok(typeof v.source === 'string' && v.source.length > 10, `${v.name}: has a source`);
      t.ok(KNOWN_OPS.includes(v.op), `${v.name}: op '${v.op}' is known`);
      const r = checkVector(v);
      t.ok(r.ok, `${v.name}${v.valid === false ? ' (must be rejected)' : ''}`, r.ok ? {} : { diag: r.detail });
    }
  });
}

t.test('the runner itself can fail', async (t) => {
  // A corrupted expected value must fail, or a passing corpus would prove nothing.
  const good = files.flatMap((f) => f.vectors).find((v) => v.op === 'cipher' && v.valid !== false)!;
  const bad = { ...good, ciphertext: String(good.ciphertext).replace(/^./, (c) => (c === '0' ? '1' : '0')) };
  const r = checkVector(bad);
  t.notOk(r.ok, 'a wrong ciphertext fails');
  t.match(r.detail, /expected/);
  t.notOk(checkVector({ ...good, source: '' }).ok, 'a vector without a source fails');
  t.notOk(checkVector({ ...good, op: 'no-such-op' }).ok, 'an unknown op fails');
  const negated = { ...good, valid: false };
  t.notOk(checkVector(negated).ok, 'valid:false on a correct vector fails');
});
