// Every `cardsmith keys` command, run in-process against both backends: a file store, and a
// SoftHSM2 token initialised in a temporary folder (skipped, with the reason, where SoftHSM2 or
// pkcs11js is missing). Where an algorithm is missing from the token (SM2, SM4) the command must
// fail and say so.
import t, { type Test } from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sm2GenerateKeyPair } from '../../crypto/sm2.js';
import { kcvHex } from '../../crypto/kcv.js';
import { bytes, hex, keysCli, PASS, PIN, softhsmMissing, softhsmToken, tempDir } from './fixtures/helpers.js';

const GP_KEY = '404142434445464748494A4B4C4D4E4F';
const C2 = '0123456789ABCDEFFEDCBA9876543210';
const C1 = hex(bytes(GP_KEY).map((b, i) => b ^ bytes(C2)[i]!)); // C1 xor C2 = the GP test key
const KDD = '00010203040506070809';

interface Backend {
  name: 'file' | 'pkcs11';
  store: string[];
  env: NodeJS.ProcessEnv;
}

async function suite(t: Test, b: Backend) {
  const dir = tempDir();
  const run = keysCli({ ...b.env, C2 });
  const k = (...args: string[]) => run([...args, ...b.store]);
  writeFileSync(join(dir, 'c1.hex'), C1 + '\n');
  const kcv1 = kcvHex('des3', bytes(C1));
  const kcv2 = kcvHex('des3', bytes(C2));

  const init = await k('init');
  t.equal(init.code, 0, init.err);
  t.equal((await k('init')).code, 1, 'init refuses an existing store');

  const good = await k('import', '--label', 'kmc', '--alg', 'des3', '--component', `file:${join(dir, 'c1.hex')}`, '--component-kcv', kcv1, '--component', 'env:C2', '--component-kcv', kcv2.toLowerCase(), '--kcv', '8BAF47', '--json');
  t.equal(good.code, 0, good.err);
  t.equal(JSON.parse(good.out).key.kcv, '8BAF47', 'key = XOR of the components');
  t.match(good.err, new RegExp(`component 1: KCV ${kcv1} confirmed`));

  const wrong = await k('import', '--label', 'kmc-b', '--alg', 'des3', '--component', `file:${join(dir, 'c1.hex')}`, '--component-kcv', kcv1, '--component', 'env:C2', '--component-kcv', '000000');
  t.equal(wrong.code, 1, 'a component with the wrong KCV is rejected');
  t.match(wrong.err, new RegExp(`component 2: its KCV is ${kcv2} but the custodian's sheet \\(--component-kcv\\) says 000000; nothing was stored`));
  const noKcv = await k('import', '--label', 'kmc-b', '--alg', 'des3', '--component', `file:${join(dir, 'c1.hex')}`, '--component', 'env:C2');
  t.equal(noKcv.code, 2, 'not on a terminal: the KCVs are required');
  t.match(noKcv.err, /give --component-kcv for every component/);
  const literal = await k('import', '--label', 'kmc-b', '--alg', 'des3', '--component', C1, '--component-kcv', kcv1, '--component', 'env:C2', '--component-kcv', kcv2);
  t.equal(literal.code, 2);
  t.match(literal.err, /never typed on the command line/);
  t.notMatch(literal.err, C1, 'and the value is not echoed');
  const badFinal = await k('import', '--label', 'kmc-b', '--alg', 'des3', '--component', `file:${join(dir, 'c1.hex')}`, '--component-kcv', kcv1, '--component', 'env:C2', '--component-kcv', kcv2, '--kcv', 'ABCDEF');
  t.equal(badFinal.code, 1);
  t.match(badFinal.err, /combined key's KCV is 8BAF47 but --kcv says ABCDEF/);
  const one = await k('import', '--label', 'kmc-b', '--alg', 'des3', '--component', 'env:C2', '--component-kcv', kcv2);
  t.equal(one.code, 2, 'one component is not a ceremony');

  const gen = await k('generate', '--label', 'transport', '--alg', 'aes', '--length', '32', '--usage', 'seal', '--json');
  t.equal(gen.code, 0, gen.err);
  t.equal(JSON.parse(gen.out).key.usage[0], 'seal');
  t.equal((await k('generate', '--label', 'aes-kmc', '--alg', 'aes', '--length', '16', '--exportable')).code, 0);
  t.equal((await k('generate', '--label', 'kmc', '--alg', 'des3')).code, 2, 'a taken label');
  const badUsage = await k('generate', '--label', 'x', '--alg', 'des3', '--usage', 'seal');
  t.equal(badUsage.code, 2);
  t.match(badUsage.err, /cannot have usage 'seal'/);

  const list = await k('list', '--json');
  t.equal(list.code, 0, list.err);
  const keys = JSON.parse(list.out).keys as { label: string; kcv: string }[];
  t.same(keys.map((x) => x.label), ['kmc', 'transport', 'aes-kmc']);
  t.notMatch(list.out, /value/);
  t.match((await k('list')).out, /^LABEL\s+VER\s+ALG/);

  const derive = await k('derive', '--label', 'kmc', '--method', 'visa2', '--data', KDD, '--json');
  t.equal(derive.code, 0, derive.err);
  t.same(JSON.parse(derive.out).keys.map((x: { kcv: string }) => x.kcv), ['2BE598', '58DA38', '3C328E'], 'GlobalPlatformPro visa2 KCVs');

  const rot = await k('rotate', '--label', 'kmc', '--json');
  t.equal(rot.code, 0, rot.err);
  t.equal(JSON.parse(rot.out).key.version, 2);
  const rot3 = await k('rotate', '--label', 'kmc', '--component', 'env:C2', '--component-kcv', kcv2, '--component', `file:${join(dir, 'c1.hex')}`, '--component-kcv', kcv1, '--json');
  t.equal(rot3.code, 0, rot3.err);
  t.same([JSON.parse(rot3.out).key.version, JSON.parse(rot3.out).key.kcv], [3, '8BAF47']);
  const v1 = await k('derive', '--label', 'kmc', '--key-version', '1', '--method', 'emv', '--data', KDD, '--key-type', 'enc');
  t.equal(v1.code, 0, 'the old version is usable until retired');
  const ret = await k('retire', '--label', 'kmc', '--key-version', '1');
  t.equal(ret.code, 0, ret.err);
  const after = await k('derive', '--label', 'kmc', '--key-version', '1', '--method', 'emv', '--data', KDD, '--key-type', 'enc');
  t.equal(after.code, 2);
  t.match(after.err, /kmc v1 \(KCV 8BAF47\) was retired/);
  t.equal((await k('retire', '--label', 'kmc')).code, 2, 'retire names the version');

  const out = join(dir, 'components');
  (await import('node:fs')).mkdirSync(out);
  if (b.name === 'pkcs11') {
    const refused = await k('export-components', '--label', 'kmc', '--out-dir', out);
    t.equal(refused.code, 2, 'a token key is non-exportable unless made --exportable');
    t.match(refused.err, /non-exportable; back it up with the token's own backup procedure/);
  }
  const exp = await k('export-components', '--label', 'aes-kmc', '--parts', '3', '--out-dir', out, '--json');
  t.equal(exp.code, 0, exp.err);
  const ex = JSON.parse(exp.out);
  t.equal(ex.components.length, 3);
  let xor = new Uint8Array(16);
  for (const c of ex.components as { file: string; kcv: string }[]) {
    t.equal(statSync(c.file).mode & 0o777, 0o600, 'component files are mode 600');
    const v = bytes(readFileSync(c.file, 'utf8').trim());
    t.equal(kcvHex('aes', v), c.kcv, 'printed KCV = KCV of the file');
    xor = xor.map((x, i) => x ^ v[i]!);
  }
  t.equal(kcvHex('aes', xor), ex.kcv, 'the components XOR back to the key');
  t.equal(readdirSync(out).length, 3);
  t.equal((await k('export-components', '--label', 'aes-kmc', '--parts', '3', '--out-dir', out)).code, 2, 'never overwrites component files');

  const audit = await k('audit', '--verify');
  t.equal(audit.code, 0, audit.err);
  t.match(audit.out, /OK, \d+ entries/);
  const shown = await k('audit');
  for (const op of ['init', 'import', 'generate', 'rotate', 'retire', 'export-components']) t.match(shown.out, new RegExp(` ${op} `), `audit shows ${op}`);

  const card = sm2GenerateKeyPair();
  const caInit = await k('ca-init', '--label', 'card-ca', '--subject', 'C=CN, O=Test Bureau, CN=Test CA', '--out', join(dir, 'ca.pem'));
  const sm4 = await k('generate', '--label', 'sm4-mk', '--alg', 'sm4');
  if (b.name === 'file') {
    t.equal(caInit.code, 0, caInit.err);
    const issued = await k('issue-cert', '--ca', 'card-ca', '--public-key', hex(card.publicKey), '--subject', 'C=CN, CN=Card 1', '--out', join(dir, 'card.pem'), '--json');
    t.equal(issued.code, 0, issued.err);
    t.match(JSON.parse(issued.out).serial, /^[0-9A-F]+$/);
    t.match(readFileSync(join(dir, 'card.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    const imp = await k('ca-import', '--label', 'card-ca', '--cert', join(dir, 'ca.pem'));
    t.equal(imp.code, 0, imp.err);
    const badKey = await k('issue-cert', '--ca', 'card-ca', '--public-key', '04' + '00'.repeat(64), '--subject', 'CN=x');
    t.equal(badKey.code, 2);
    t.equal(sm4.code, 0, sm4.err);
    t.match((await k('audit')).out, / issue-cert /);
  } else {
    t.equal(caInit.code, 1, 'the token has no SM2');
    t.match(caInit.err, /has no SM2 mechanism, so it cannot generate an SM2 key; .*never falls back to software/);
    t.equal(sm4.code, 1, 'the token has no SM4');
    t.match(sm4.err, /has no SM4 mechanism/);
  }
  t.equal((await k('audit', '--verify')).code, 0, 'the log still verifies after the refusals');
  return dir;
}

t.test('file store', async (t) => {
  const dir = tempDir();
  const store = join(dir, 'issuer.keys');
  await suite(t, { name: 'file', store: ['--keystore', store], env: { CARDSMITH_KEYSTORE_PASS: PASS } });
  const run = keysCli({});
  const wrongPass = await run(['list', '--keystore', store], { CARDSMITH_KEYSTORE_PASS: 'a wrong passphrase' });
  t.equal(wrongPass.code, 1);
  t.match(wrongPass.err, /wrong passphrase for .*nothing was changed/);
  writeFileSync(join(dir, 'pass.txt'), PASS + '\n');
  t.equal((await run(['list', '--keystore', store, '--pass-file', join(dir, 'pass.txt')])).code, 0, '--pass-file');
  const none = await run(['list', '--keystore', store]);
  t.equal(none.code, 2);
  t.match(none.err, /CARDSMITH_KEYSTORE_PASS or --pass-file FILE, or run on a terminal/);
});

const missing = softhsmMissing();
t.test('PKCS#11 store (SoftHSM2)', { skip: missing }, async (t) => {
  const token = softhsmToken('cli-test');
  const dir = tempDir();
  const store = ['--keystore', `pkcs11:token=${token.label}`, '--audit-log', join(dir, 'hsm.audit')];
  await suite(t, { name: 'pkcs11', store, env: { CARDSMITH_PKCS11_PIN: PIN } });
  const run = keysCli({});
  const wrongPin = await run(['list', ...store], { CARDSMITH_PKCS11_PIN: '999999' });
  t.equal(wrongPin.code, 1);
  t.match(wrongPin.err, /wrong PIN for token 'cli-test' \(nothing was changed/);
  writeFileSync(join(dir, 'pin.txt'), PIN + '\n');
  t.equal((await run(['list', ...store, '--pin-file', join(dir, 'pin.txt')])).code, 0, '--pin-file');
  const noToken = await run(['list', '--keystore', 'pkcs11:token=nope', '--audit-log', join(dir, 'x.audit')], { CARDSMITH_PKCS11_PIN: PIN });
  t.equal(noToken.code, 1);
  t.match(noToken.err, /no token labelled 'nope'.*tokens: cli-test/);
  const noAudit = await run(['list', '--keystore', `pkcs11:token=${token.label}`], { CARDSMITH_PKCS11_PIN: PIN });
  t.equal(noAudit.code, 2);
  t.match(noAudit.err, /needs --audit-log FILE/);
});
