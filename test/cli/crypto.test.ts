// The `cardsmith crypto` calculators: published answers, the secret forms, and exit codes.
import t from 'tap';
import { cli } from '../helpers/cli.js';

const GP_KEY = '404142434445464748494A4B4C4D4E4F'; // GlobalPlatform's published test key
const env = { GP_KEY, IMK: '0123456789ABCDEFFEDCBA9876543210' };

t.test('kcv: the published KCVs of the GP test key (GlobalPlatformPro)', async (t) => {
  t.same(await cli(['crypto', 'kcv', '--alg', 'des3', '--key', 'env:GP_KEY'], { env }), { code: 0, out: '8BAF47\n', err: '' });
  const aes = await cli(['crypto', 'kcv', '--alg', 'aes', '--key', 'env:GP_KEY', '--json'], { env });
  t.same(JSON.parse(aes.out), { alg: 'aes', kcv: '504A77' });
});

t.test('derive: GP templates reproduce the published KCVs (GlobalPlatformPro TestPlaintextKeys)', async (t) => {
  const kdd = '00010203040506070809';
  const r = await cli(['crypto', 'derive', '--method', 'visa2', '--master', 'env:GP_KEY', '--data', kdd, '--json'], { env });
  t.equal(r.code, 0);
  const keys = JSON.parse(r.out).keys;
  t.same([keys.enc.kcv, keys.mac.kcv, keys.dek.kcv], ['2BE598', '58DA38', '3C328E'], 'visa2 ENC/MAC/DEK KCVs');
  const one = await cli(['crypto', 'derive', '--method', 'emv', '--master', 'env:GP_KEY', '--data', kdd, '--key-type', 'mac', '--json'], { env });
  const parsed = JSON.parse(one.out);
  t.equal(parsed.keyType, 'mac');
  t.match(parsed.key, /^[0-9A-F]{32}$/);
  t.match(parsed.kcv, /^[0-9A-F]{6}$/);
});

t.test('derive: EMV Option A vector', async (t) => {
  const r = await cli(['crypto', 'derive', '--method', 'emv-option-a', '--master', 'env:IMK', '--pan', '12345678901234567', '--psn', '01', '--json'], { env });
  t.equal(r.code, 0, r.err);
  t.equal(JSON.parse(r.out).key, '73AD54688CEF2934B0979857E3C719F1');
});

t.test('derive: kdf3 for AES-128/192/256 masters gives keys of the master length', async (t) => {
  for (const len of [16, 24, 32]) {
    const master = GP_KEY.repeat(2).slice(0, len * 2);
    const r = await cli(['crypto', 'derive', '--method', 'kdf3', '--master', master, '--data', '00010203040506070809', '--key-type', 'enc', '--json']);
    t.equal(r.code, 0, r.err);
    t.equal(JSON.parse(r.out).key.length, len * 2, `AES-${len * 8}`);
  }
});

t.test('encrypt/decrypt: the SM4 example of GB/T 32907 and padding', async (t) => {
  const key = '0123456789ABCDEFFEDCBA9876543210';
  const enc = await cli(['crypto', 'encrypt', '--alg', 'sm4', '--key', key, '--data', key]);
  t.same(enc, { code: 0, out: '681EDF34D206965E86B3E94F536E4246\n', err: '' });
  const dec = await cli(['crypto', 'decrypt', '--alg', 'sm4', '--key', key, '--data', '681EDF34D206965E86B3E94F536E4246']);
  t.equal(dec.out, key + '\n');
  const padded = await cli(['crypto', 'encrypt', '--alg', 'des3', '--mode', 'cbc', '--key', key, '--data', '010203', '--pad', '2']);
  t.equal(padded.code, 0);
  const back = await cli(['crypto', 'decrypt', '--alg', 'des3', '--mode', 'cbc', '--key', key, '--data', padded.out.trim(), '--pad', '2']);
  t.equal(back.out, '010203\n');
  const unaligned = await cli(['crypto', 'encrypt', '--alg', 'aes', '--key', key, '--data', '0102']);
  t.equal(unaligned.code, 2);
  t.match(unaligned.err, /not a multiple of the 16-byte block/);
});

t.test('mac: CMAC (SP 800-38B example 2), retail MAC, PBOC', async (t) => {
  const cmac = await cli(['crypto', 'mac', '--method', 'cmac', '--alg', 'aes', '--key', '2B7E151628AED2A6ABF7158809CF4F3C', '--data', '6BC1BEE22E409F96E93D7E117393172A']);
  t.equal(cmac.out, '070A16B46B4D4144F79BDD9DD04A287C\n');
  const pboc = await cli(['crypto', 'mac', '--method', 'pboc', '--alg', 'des3', '--key', 'env:GP_KEY', '--iv', '1122334400000000', '--data', '04D6820004AABBCCDD'], { env });
  t.equal(pboc.code, 0, pboc.err);
  t.match(pboc.out, /^[0-9A-F]{8}\n$/, 'four bytes');
  const noIv = await cli(['crypto', 'mac', '--method', 'pboc', '--alg', 'sm4', '--key', 'env:GP_KEY', '--data', '00'], { env });
  t.equal(noIv.code, 2);
  t.match(noIv.err, /needs --iv/);
});

t.test('hash, sign and verify', async (t) => {
  const sm3 = await cli(['crypto', 'hash', '--text', 'abc']);
  t.equal(sm3.out, '66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0\n');
  const d = '3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8';
  const signed = JSON.parse((await cli(['crypto', 'sign', '--key', 'env:D', '--text', 'message digest', '--json'], { env: { D: d } })).out);
  const ok = await cli(['crypto', 'verify', '--public-key', signed.publicKey, '--signature', signed.signature, '--text', 'message digest']);
  t.same(ok, { code: 0, out: 'signature valid\n', err: '' });
  const bad = await cli(['crypto', 'verify', '--public-key', signed.publicKey, '--signature', signed.signature, '--text', 'message digesT', '--json']);
  t.equal(bad.code, 1, 'a signature that does not verify exits 1');
  t.same(JSON.parse(bad.out), { alg: 'sm2', valid: false });
});

t.test('secrets: env, file and stdin forms; errors never echo the value', async (t) => {
  const dir = t.testdir({ 'k.hex': GP_KEY + '\n', 'bad.hex': 'SECRETZZ' + GP_KEY });
  t.equal((await cli(['crypto', 'kcv', '--alg', 'des3', '--key', `file:${dir}/k.hex`])).out, '8BAF47\n');
  t.equal((await cli(['crypto', 'kcv', '--alg', 'des3', '--key', '-'], { stdin: GP_KEY + '\n' })).out, '8BAF47\n');
  const missing = await cli(['crypto', 'kcv', '--alg', 'des3', '--key', 'env:NOPE']);
  t.equal(missing.code, 2);
  t.match(missing.err, /environment variable NOPE is not set/);
  const bad = await cli(['crypto', 'kcv', '--alg', 'des3', '--key', `file:${dir}/bad.hex`]);
  t.equal(bad.code, 2);
  t.match(bad.err, /not valid hex at offset 0/);
  t.notMatch(bad.err, /SECRET|4041424344/, 'the bad value is not echoed');
  const literal = await cli(['crypto', 'kcv', '--alg', 'des3', '--key', 'ZZ' + GP_KEY]);
  t.notMatch(literal.err, /4041424344/);
});

t.test('bad usage exits 2 with one line', async (t) => {
  const cases: [string[], RegExp][] = [
    [['crypto', 'kcv', '--alg', 'rot13', '--key', GP_KEY], /Invalid values|Choices/],
    [['crypto', 'kcv', '--alg', 'des3', '--key', '0102'], /des3: key|expected 8 or 16 or 24 bytes|key must be/],
    [['crypto', 'derive', '--method', 'emv', '--master', GP_KEY, '--data', '0102'], /10 bytes/],
    [['crypto', 'encrypt', '--alg', 'aes', '--key', GP_KEY, '--data', 'XYZ'], /--data: 'X' at offset 0 is not a hex digit/],
    [['crypto', 'nonsense'], /Unknown argument|Did you mean|name a crypto command/],
    [[], /name a command/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, message, args.join(' '));
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});

t.test('derive reproduces every published diversification vector through the CLI', async (t) => {
  const { loadVectorFiles } = await import('../../crypto/known-answers.js');
  const { fileURLToPath } = await import('node:url');
  const files = loadVectorFiles(fileURLToPath(new URL('../../test-vectors', import.meta.url)));
  const vectors = files.flatMap((f) => f.vectors).filter((v) => (v.op === 'diversify' || v.op === 'emv-option-a') && v.valid !== false);
  const methods = new Set<string>();
  for (const v of vectors) {
    const method = v.op === 'emv-option-a' ? 'emv-option-a' : String(v.method);
    const args = ['crypto', 'derive', '--method', method, '--master', 'env:MASTER', '--json'];
    if (v.op === 'emv-option-a') args.push('--pan', String(v.pan), '--psn', String(v.psn));
    else args.push('--data', String(v.data));
    if (v.keyType) args.push('--key-type', String(v.keyType));
    if (v.alg && method === 'pboc') args.push('--alg', String(v.alg));
    const r = await cli(args, { env: { MASTER: String(v.master) } });
    t.equal(r.code, 0, `${v.name}: exit 0 ${r.err}`);
    t.equal(JSON.parse(r.out).key, v.key, v.name);
    methods.add(method === 'kdf3' ? `kdf3-${String(v.master).length * 4}` : method);
  }
  for (const m of ['emv', 'visa2', 'cps11', 'pboc', 'emv-option-a', 'kdf3-128', 'kdf3-192', 'kdf3-256']) t.ok(methods.has(m), `covers ${m}`);
});
