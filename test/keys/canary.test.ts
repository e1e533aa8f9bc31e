// No key, component, passphrase or PIN in anything the commands write. Every command runs with
// canary values (components, the key they make, a passphrase, a PIN), including the failure paths;
// then stdout, stderr, the audit log, the store file and every output file — except the component
// files that export-components writes on purpose — are searched for each canary as text, as hex
// (upper and lower case) and as base64. Keys made inside the store are added as canaries once the
// test learns them through export-components, and so are the card keys `keys derive` computes.
import t, { type Test } from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { diversify } from '../../crypto/diversify.js';
import { sm2GenerateKeyPair } from '../../crypto/sm2.js';
import { kcvHex } from '../../crypto/kcv.js';
import { bytes, hex, keysCli, softhsmMissing, softhsmToken, tempDir } from './fixtures/helpers.js';

const PASSPHRASE = 'canary passphrase 5e1d0b93 ✓';
const PIN = 'CANARY-PIN-7f3a9c';
const C1 = 'C0FFEE1122334455DEADBEEF66778899';
const C2 = 'A5A5A5A55A5A5A5A0F0F0F0FF0F0F0F0';
const KEY = hex(bytes(C1).map((b, i) => b ^ bytes(C2)[i]!));
const KDD = '00010203040506070809';

function forms(secret: Uint8Array | string): string[] {
  const b = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  const h = Buffer.from(b).toString('hex');
  const out = [h.toUpperCase(), h.toLowerCase(), Buffer.from(b).toString('base64'), Buffer.from(b).toString('base64url')];
  if (typeof secret === 'string') out.push(secret);
  // Also any 8-byte window of a key (a half of a 3DES key, or a value cut by a formatter).
  if (typeof secret !== 'string' && b.length >= 16) for (let i = 0; i + 8 <= b.length; i += 4) out.push(Buffer.from(b.subarray(i, i + 8)).toString('hex').toUpperCase());
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

async function scenario(t: Test, backend: 'file' | 'pkcs11') {
  const dir = tempDir('cardsmith-canary-');
  const outDir = join(dir, 'out');
  const compDir = join(dir, 'components');
  mkdirSync(outDir);
  mkdirSync(compDir);
  writeFileSync(join(dir, 'c1.hex'), C1 + '\n');
  writeFileSync(join(dir, 'secret.txt'), (backend === 'file' ? PASSPHRASE : PIN) + '\n');
  const store =
    backend === 'file'
      ? ['--keystore', join(dir, 'issuer.keys'), '--pass-file', join(dir, 'secret.txt')]
      : ['--keystore', `pkcs11:token=${softhsmToken('canary', PIN).label}`, '--pin-file', join(dir, 'secret.txt'), '--audit-log', join(dir, 'hsm.audit')];
  const env = { CANARY_C2: C2, CARDSMITH_KEYSTORE_PASS: backend === 'file' ? PASSPHRASE : '', CARDSMITH_PKCS11_PIN: backend === 'pkcs11' ? PIN : '' };
  const run = keysCli(env);
  const written: string[] = [];
  const k = async (...args: string[]) => {
    const r = await run([...args, ...store]);
    written.push(r.out, r.err);
    return r;
  };
  const k1 = kcvHex('des3', bytes(C1));
  const k2 = kcvHex('des3', bytes(C2));
  const comps = ['--component', `file:${join(dir, 'c1.hex')}`, '--component-kcv', k1, '--component', 'env:CANARY_C2', '--component-kcv', k2];
  t.equal((await k('init')).code, 0);
  t.equal((await k('import', '--label', 'kmc', '--alg', 'des3', ...comps, '--kcv', kcvHex('des3', bytes(KEY)), '--exportable')).code, 0);
  await k('import', '--label', 'kmc-x', '--alg', 'des3', ...comps.slice(0, 7), '000000');
  await k('import', '--label', 'kmc-y', '--alg', 'des3', '--component', C1, '--component', 'env:CANARY_C2', '--component-kcv', k1, '--component-kcv', k2);
  await k('import', '--label', 'kmc-z', '--alg', 'des3', ...comps, '--kcv', 'ABCDEF');
  await k('import', '--label', 'kmc-w', '--alg', 'aes', ...comps);
  t.equal((await k('generate', '--label', 'transport', '--alg', 'aes', '--usage', 'seal', '--exportable')).code, 0);
  t.equal((await k('generate', '--label', 'master-aes', '--alg', 'aes', '--length', '16', '--exportable')).code, 0);
  await k('list');
  await k('list', '--json');
  for (const method of ['emv', 'visa2', 'cps11']) await k('derive', '--label', 'kmc', '--method', method, '--data', KDD, '--json');
  await k('derive', '--label', 'kmc', '--method', 'pboc', '--data', '3201000073780000');
  await k('derive', '--label', 'master-aes', '--method', 'kdf3', '--data', KDD);
  await k('rotate', '--label', 'kmc', ...comps.map((c) => c));
  await k('rotate', '--label', 'transport');
  await k('retire', '--label', 'transport', '--key-version', '1');
  await k('derive', '--label', 'kmc', '--key-version', '9', '--method', 'emv', '--data', KDD);
  const exported: string[] = [];
  for (const label of ['kmc', 'master-aes', 'transport']) {
    const r = await k('export-components', '--label', label, '--parts', '3', '--out-dir', compDir, '--json');
    t.equal(r.code, 0, r.err);
    exported.push(...(JSON.parse(r.out).components as { file: string }[]).map((c) => c.file));
  }
  // The keys made inside the store, learnt from their components: canaries from now on.
  const learnt: Uint8Array[] = [];
  for (const label of ['master-aes', 'transport']) {
    const files = exported.filter((f) => f.includes(`/${label}-v`));
    const parts = files.map((f) => bytes(readFileSync(f, 'utf8').trim()));
    const key = parts.reduce((a, b) => a.map((x, i) => x ^ b[i]!));
    learnt.push(key, ...parts);
  }
  if (backend === 'file') {
    await k('ca-init', '--label', 'card-ca', '--subject', 'C=CN, O=Canary, CN=Canary CA', '--out', join(outDir, 'ca.pem'));
    await k('issue-cert', '--ca', 'card-ca', '--public-key', hex(sm2GenerateKeyPair().publicKey), '--subject', 'C=CN, CN=Card', '--out', join(outDir, 'card.der'), '--der');
  } else {
    await k('generate', '--label', 'sm4', '--alg', 'sm4');
  }
  await k('audit');
  await k('audit', '--verify');
  const wrong = await run(['list', ...store.filter((x, i) => !(store[i - 1] === '--pass-file' || store[i - 1] === '--pin-file' || x === '--pass-file' || x === '--pin-file'))], {
    CARDSMITH_KEYSTORE_PASS: PASSPHRASE + 'x',
    CARDSMITH_PKCS11_PIN: PIN + 'x',
  });
  t.equal(wrong.code, 1, 'a wrong passphrase/PIN (itself a canary variant) fails');
  written.push(wrong.out, wrong.err);

  const derived = [['emv', 'visa2', 'cps11'].flatMap((m) => (['enc', 'mac', 'dek'] as const).map((kt) => diversify({ method: m as 'emv', master: bytes(KEY), data: bytes(KDD), keyType: kt })))].flat();
  derived.push(diversify({ method: 'pboc', master: bytes(KEY), data: bytes('3201000073780000') }));
  const canaries = [
    ...forms(PASSPHRASE),
    ...forms(PIN),
    ...[C1, C2, KEY].flatMap((h) => forms(bytes(h))),
    ...learnt.flatMap((b) => forms(b)),
    ...derived.flatMap((b) => forms(b)),
  ];
  const files = filesUnder(dir).filter((f) => !exported.includes(f) && !f.endsWith('c1.hex') && !f.endsWith('secret.txt'));
  t.ok(files.some((f) => f.endsWith('.audit')), 'the audit log is scanned');
  if (backend === 'file') t.ok(files.some((f) => f.endsWith('issuer.keys')) && files.some((f) => f.endsWith('card.der')), 'the store and the certificates are scanned');
  const haystacks: [string, string][] = [...written.map((w, i) => [`output ${i}`, w] as [string, string]), ...files.map((f) => [f, readFileSync(f).toString('latin1') + '\n' + readFileSync(f, 'utf8')] as [string, string])];
  let found = 0;
  for (const [where, text] of haystacks) {
    for (const c of canaries) {
      if (text.includes(c)) {
        found++;
        t.fail(`canary ${c.slice(0, 4)}… found in ${where}`);
      }
    }
  }
  t.equal(found, 0, `${canaries.length} canary forms, none in ${haystacks.length} outputs and files`);
  t.ok(exported.every((f) => /^[0-9A-F]+\n$/.test(readFileSync(f, 'utf8'))), 'the component files themselves hold the components, as intended');
  // Positive control: the same search does find a learnt component in its own (excluded) file.
  const control = readFileSync(exported.find((f) => f.includes('/transport-v'))!, 'utf8');
  t.ok(canaries.some((c) => control.includes(c)), 'the scan finds a canary where one is');
}

t.test('file store: no secret in any output, log, store or file', (t) => scenario(t, 'file'));
t.test('PKCS#11 store: no secret in any output, log or file', { skip: softhsmMissing() }, (t) => scenario(t, 'pkcs11'));
