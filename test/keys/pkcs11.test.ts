// The PKCS#11 backend against SoftHSM2: derivation inside the token equals the file store's for
// the same master and data, for every method the token can do; seals open across backends; what
// the token lacks fails with a message that says so; the token enforces retirement itself.
import t from 'tap';
import { join } from 'node:path';
import { FileKeyStore } from '../../keys/file-store.js';
import { Pkcs11KeyStore, SOFTHSM2_MODULE } from '../../keys/pkcs11-store.js';
import { UnsupportedAlgorithmError, KeyStoreAccessError } from '../../keys/errors.js';
import type { DeriveRequest, KeyStore } from '../../keys/types.js';
import { bytes, hex, PASS, PIN, softhsmMissing, softhsmToken, tempDir } from './fixtures/helpers.js';

const missing = softhsmMissing();
const M16 = bytes('0123456789ABCDEFFEDCBA9876543210');
const C2 = bytes('1111111111111111222222222222222233333333333333334444444444444444');
const M32 = bytes('00112233445566778899AABBCCDDEEFF0F1E2D3C4B5A69788796A5B4C3D2E1F0');

let n = 0;
async function pair() {
  const token = softhsmToken(`equality-${++n}`);
  const dir = tempDir();
  const hsm = await Pkcs11KeyStore.init({ module: SOFTHSM2_MODULE, token: token.label, pin: PIN, auditPath: join(dir, 'hsm.audit') });
  const file = await FileKeyStore.create(join(dir, 'file.keys'), new TextEncoder().encode(PASS));
  for (const s of [hsm, file] as KeyStore[]) {
    await s.importComponents({ label: 'des3-2key', alg: 'des3' }, [M16, C2.subarray(0, 16)]);
    await s.importComponents({ label: 'des3-3key', alg: 'des3', length: 24 }, [C2.subarray(0, 24), M32.subarray(0, 24)]);
    for (const n of [16, 24, 32]) await s.importComponents({ label: `aes-${n}`, alg: 'aes' }, [M32.subarray(0, n), C2.subarray(0, n)]);
    await s.importComponents({ label: 'transport', alg: 'aes', usage: ['seal'] }, [M32, C2]);
    await s.importComponents({ label: 'kek', alg: 'des3', usage: ['encrypt', 'wrap', 'mac'] }, [M16, C2.subarray(16, 32)]);
    await s.importComponents({ label: 'aes-ops', alg: 'aes', usage: ['encrypt', 'mac'] }, [M32, C2]);
  }
  return { hsm, file, dir, token: token.label };
}

t.test('derivation in SoftHSM2 equals derivation in the file store', { skip: missing }, async (t) => {
  const { hsm, file } = await pair();
  const kdds = ['00010203040506070809', 'FFEEDDCCBBAA99887766', '0000AABBCCDDEEFF0011'].map(bytes);
  const cases: [string, DeriveRequest][] = [];
  for (const data of kdds) {
    for (const method of ['emv', 'visa2', 'cps11'] as const) for (const keyType of ['enc', 'mac', 'dek'] as const) cases.push(['des3-2key', { method, data, keyType }]);
    for (const n of [16, 24, 32]) for (const keyType of ['enc', 'mac', 'dek'] as const) cases.push([`aes-${n}`, { method: 'kdf3', data, keyType }]);
  }
  for (const levels of [8, 16, 24]) cases.push(['des3-2key', { method: 'pboc', data: bytes('3201000073780000A1B2C3D4E5F60718FEDCBA9876543210').subarray(0, levels) }]);
  cases.push(['des3-2key', { method: 'emv-option-a', data: bytes('2345678901234501') }]);
  for (const [label, r] of cases) {
    const [a, b] = await Promise.all([hsm.deriveCardKey({ label }, r), file.deriveCardKey({ label }, r)]);
    t.equal(hex(a.value), hex(b.value), `${label} ${r.method} ${r.keyType ?? ''} ${hex(r.data)}: ${a.kcv}`);
  }
  const set = await hsm.deriveCardKeys({ label: 'des3-2key' }, (['enc', 'mac', 'dek'] as const).map((keyType) => ({ method: 'emv' as const, data: kdds[0]!, keyType })));
  t.equal(set.length, 3);
  t.equal((await hsm.info({ label: 'des3-2key' })).kcv, (await file.info({ label: 'des3-2key' })).kcv, 'same KCV for the same master');
  await t.rejects(hsm.deriveCardKey({ label: 'des3-3key' }, { method: 'emv', data: kdds[0]!, keyType: 'enc' }), /16-byte 3DES master/);
  await hsm.close();
  await file.close();
});

t.test('encrypt, MAC, wrap and seal agree across backends', { skip: missing }, async (t) => {
  const { hsm, file } = await pair();
  const data = bytes('00112233445566778899AABBCCDDEEFF');
  for (const mode of ['ecb', 'cbc'] as const) {
    const iv = mode === 'cbc' ? bytes('0102030405060708') : undefined;
    const a = await hsm.encrypt({ label: 'kek' }, data, { mode, ...(iv ? { iv } : {}) });
    t.equal(hex(a), hex(await file.encrypt({ label: 'kek' }, data, { mode, ...(iv ? { iv } : {}) })), `3DES ${mode}`);
    t.equal(hex(await hsm.decrypt({ label: 'kek' }, a, { mode, ...(iv ? { iv } : {}) })), hex(data));
    const b = await hsm.encrypt({ label: 'aes-ops' }, data, { mode, ...(mode === 'cbc' ? { iv: new Uint8Array(16).fill(7) } : {}) });
    t.equal(hex(b), hex(await file.encrypt({ label: 'aes-ops' }, data, { mode, ...(mode === 'cbc' ? { iv: new Uint8Array(16).fill(7) } : {}) })), `AES ${mode}`);
  }
  for (const label of ['kek', 'aes-ops']) {
    for (const len of [0, 5, 16, 33]) t.equal(hex(await hsm.mac({ label }, data.subarray(0, Math.min(len, 16)))), hex(await file.mac({ label }, data.subarray(0, Math.min(len, 16)))), `CMAC ${label} ${len}`);
  }
  t.equal(hex(await hsm.wrap({ label: 'kek' }, M16)), hex(await file.wrap({ label: 'kek' }, M16)), 'wrap');
  const ctx = new TextEncoder().encode('card 42');
  t.same(await file.unseal({ label: 'transport' }, await hsm.seal({ label: 'transport' }, data, ctx), ctx), data, 'sealed in the token, opened by the file store');
  t.same(await hsm.unseal({ label: 'transport' }, await file.seal({ label: 'transport' }, data, ctx), ctx), data, 'and the other way');
  await t.rejects(hsm.unseal({ label: 'transport' }, await file.seal({ label: 'transport' }, data, ctx), new Uint8Array(1)), /does not open/);
  const nonce = bytes('A0A1A2A3A4A5A6A7A8A9AAAB');
  t.equal(hex(await hsm.seal({ label: 'transport' }, data, ctx, { nonce })), hex(await file.seal({ label: 'transport' }, data, ctx, { nonce })), 'a given nonce (the GCM IV mechanism parameter): the same blob in both backends');
  await hsm.close();
  await file.close();
});

t.test('what the token lacks fails and says so; generation and KCVs in the token; retire is enforced by the token', { skip: missing }, async (t) => {
  const { hsm, file, dir, token } = await pair();
  await t.rejects(hsm.generate({ label: 'sm4', alg: 'sm4' }), UnsupportedAlgorithmError);
  await t.rejects(hsm.generate({ label: 'sm2', alg: 'sm2' }), /has no SM2 mechanism/);
  await t.rejects(hsm.importComponents({ label: 'sm4', alg: 'sm4' }, [M16, C2.subarray(0, 16)]), /has no SM4 mechanism, so it cannot import an SM4 key/);
  t.equal((await hsm.list()).filter((k) => k.label.startsWith('sm')).length, 0, 'nothing half-made');
  for (const [alg, length, usage] of [['des3', 16, ['derive']], ['des3', 24, ['encrypt']], ['aes', 32, ['mac']], ['aes', 16, ['seal']]] as const) {
    if (usage[0] === 'seal' && length !== 32) continue;
    const k = await hsm.generate({ label: `gen-${alg}-${length}-${usage[0]}`, alg, length, usage: [...usage] });
    t.match(k.kcv, /^[0-9A-F]{6}$/, `generated ${alg}-${length} (${usage[0]}) with a KCV from the token`);
  }
  const enc = await hsm.generate({ label: 'enc-check', alg: 'aes', length: 16, usage: ['encrypt'] });
  t.equal(hex(await hsm.encrypt({ label: 'enc-check' }, new Uint8Array(16).fill(1))).slice(0, 6), enc.kcv, 'the token KCV is AES-ECB(16 × 01)');
  await hsm.rotate('des3-2key');
  await hsm.retire({ label: 'des3-2key', version: 1 });
  await t.rejects(hsm.deriveCardKey({ label: 'des3-2key', version: 1 }, { method: 'emv', data: bytes('00010203040506070809'), keyType: 'enc' }), /retired/);
  await hsm.close();
  const again = await Pkcs11KeyStore.open({ module: SOFTHSM2_MODULE, token, pin: PIN, auditPath: join(dir, 'hsm.audit') });
  t.equal((await again.info({ label: 'des3-2key', version: 1 })).state, 'retired', 'state kept in the token index');
  t.equal((await again.info({ label: 'des3-2key' })).version, 2);
  await again.close();
  await t.rejects(Pkcs11KeyStore.open({ module: SOFTHSM2_MODULE, token, pin: '000000', auditPath: join(dir, 'hsm.audit') }), KeyStoreAccessError);
  await t.rejects(Pkcs11KeyStore.open({ module: '/nonexistent/libpkcs11.so', token, pin: PIN, auditPath: join(dir, 'hsm.audit') }), /cannot load the module/);
  await file.close();
});
