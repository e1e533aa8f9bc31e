// The file key store as a library: round trip, every way it refuses to open (wrong passphrase,
// truncated, tampered header or body) leaving the file byte-for-byte unchanged, derivation equal to
// crypto/diversify, rotation and retirement, usage checks, sealing, and the writer's lock.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { diversify } from '../../crypto/diversify.js';
import { kcvHex } from '../../crypto/kcv.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { KeyStoreAccessError, KeyUsageError, SealError, KeyNotFoundError } from '../../keys/errors.js';
import { combineComponents, splitComponents } from '../../keys/material.js';
import { bytes, hex, PASS, tempDir } from './fixtures/helpers.js';

const pass = () => new TextEncoder().encode(PASS);
const GP_KEY = bytes('404142434445464748494A4B4C4D4E4F');
const KDD = bytes('00010203040506070809');

async function storeWithKeys(dir: string) {
  const s = await FileKeyStore.create(join(dir, 'store.keys'), pass());
  await s.importComponents({ label: 'kmc', alg: 'des3' }, [GP_KEY, new Uint8Array(16)]);
  await s.importComponents({ label: 'aes-kmc', alg: 'aes', length: 16 }, [GP_KEY, new Uint8Array(16)]);
  await s.importComponents({ label: 'sm4-mk', alg: 'sm4' }, [GP_KEY, new Uint8Array(16)]);
  await s.generate({ label: 'transport', alg: 'aes', length: 32, usage: ['seal'] });
  await s.generate({ label: 'kek', alg: 'des3', usage: ['wrap', 'encrypt', 'mac'] });
  return s;
}

t.test('round trip: keys, KCVs and metadata survive close and open', async (t) => {
  const dir = tempDir();
  const s = await storeWithKeys(dir);
  const before = await s.list();
  await s.close();
  t.notOk(existsSync(join(dir, 'store.keys.lock')), 'the lock is released on close');
  const r = await FileKeyStore.open(join(dir, 'store.keys'), pass());
  t.same(await r.list(), before);
  const kmc = await r.info({ label: 'kmc' });
  t.equal(kmc.kcv, '8BAF47', 'the GP test key KCV (XOR with zeros is the key itself)');
  t.same([kmc.version, kmc.state, kmc.origin, kmc.alg, kmc.length], [1, 'active', 'components', 'des3', 16]);
  t.match(kmc.createdAt, /^\d{4}-\d\d-\d\dT/);
  t.equal((readFileSync(join(dir, 'store.keys')).readUInt8(0)), '{'.charCodeAt(0), 'a JSON file');
  const mode = (await import('node:fs')).statSync(join(dir, 'store.keys')).mode & 0o777;
  t.equal(mode, 0o600, 'store file mode 600');
  await r.close();
});

t.test('derivation equals crypto/diversify for every method', async (t) => {
  const dir = tempDir();
  const s = await storeWithKeys(dir);
  for (const method of ['emv', 'visa2', 'cps11'] as const) {
    for (const keyType of ['enc', 'mac', 'dek'] as const) {
      const k = await s.deriveCardKey({ label: 'kmc' }, { method, data: KDD, keyType });
      t.equal(hex(k.value), hex(diversify({ method, master: GP_KEY, data: KDD, keyType })), `${method} ${keyType}`);
    }
  }
  const visa = await s.deriveCardKeys({ label: 'kmc' }, (['enc', 'mac', 'dek'] as const).map((keyType) => ({ method: 'visa2' as const, data: KDD, keyType })));
  t.same(visa.map((k) => k.kcv), ['2BE598', '58DA38', '3C328E'], 'GlobalPlatformPro published visa2 KCVs');
  const kdf3 = await s.deriveCardKey({ label: 'aes-kmc' }, { method: 'kdf3', data: KDD, keyType: 'enc' });
  t.equal(hex(kdf3.value), hex(diversify({ method: 'kdf3', master: GP_KEY, data: KDD, keyType: 'enc' })));
  t.equal(kdf3.kcv, kcvHex('aes', kdf3.value));
  const pboc = await s.deriveCardKey({ label: 'kmc' }, { method: 'pboc', data: bytes('32010000737800001122334455667788') });
  t.equal(hex(pboc.value), hex(diversify({ method: 'pboc', master: GP_KEY, data: bytes('32010000737800001122334455667788') })));
  const sm4 = await s.deriveCardKey({ label: 'sm4-mk' }, { method: 'pboc', data: bytes('3201000073780000') });
  t.equal(sm4.alg, 'sm4');
  t.equal(hex(sm4.value), hex(diversify({ method: 'pboc', master: GP_KEY, data: bytes('3201000073780000'), alg: 'sm4' })));
  const optA = await s.deriveCardKey({ label: 'kmc' }, { method: 'emv-option-a', data: bytes('2345678901234501') });
  t.equal(hex(optA.value), hex(diversify({ method: 'emv-option-a', master: GP_KEY, data: bytes('2345678901234501') })));
  await t.rejects(s.deriveCardKey({ label: 'kmc' }, { method: 'kdf3', data: KDD, keyType: 'enc' }), KeyUsageError, 'kdf3 needs an AES master');
  await t.rejects(s.deriveCardKey({ label: 'transport' }, { method: 'kdf3', data: KDD, keyType: 'enc' }), /usage seal, not 'derive'/);
  await s.close();
});

t.test('rotate keeps old versions usable until retired', async (t) => {
  const dir = tempDir();
  const s = await storeWithKeys(dir);
  const v2 = await s.rotate('kmc');
  t.equal(v2.version, 2);
  t.not(v2.kcv, '8BAF47');
  t.equal((await s.info({ label: 'kmc' })).version, 2, 'no version: the newest active');
  const old = await s.deriveCardKey({ label: 'kmc', version: 1 }, { method: 'emv', data: KDD, keyType: 'enc' });
  t.equal(hex(old.value), hex(diversify({ method: 'emv', master: GP_KEY, data: KDD, keyType: 'enc' })), 'v1 still derives');
  await s.retire({ label: 'kmc', version: 1 });
  await t.rejects(s.deriveCardKey({ label: 'kmc', version: 1 }, { method: 'emv', data: KDD, keyType: 'enc' }), /retired/);
  await t.rejects(s.retire({ label: 'kmc', version: 1 }), /already retired/);
  await s.retire({ label: 'kmc', version: 2 });
  await t.rejects(s.info({ label: 'kmc' }), /every version of kmc is retired/);
  await t.rejects(s.generate({ label: 'kmc', alg: 'des3' }), KeyNotFoundError, 'a taken label is refused: rotate instead');
  await t.rejects(s.rotate('nope'), /no key labelled 'nope'/);
  const v3 = await s.rotate('kmc', [GP_KEY, bytes('0101010101010101 0101010101010101'.replace(' ', ''))]);
  t.equal(v3.origin, 'components');
  await s.close();
});

t.test('encrypt, wrap, mac, seal: usage is enforced', async (t) => {
  const dir = tempDir();
  const s = await storeWithKeys(dir);
  const ct = await s.encrypt({ label: 'kek' }, new Uint8Array(8));
  t.equal(hex(ct).slice(0, 6), (await s.info({ label: 'kek' })).kcv, 'ECB of zeros starts with the KCV');
  t.same(await s.decrypt({ label: 'kek' }, ct), new Uint8Array(8));
  t.equal((await s.wrap({ label: 'kek' }, GP_KEY)).length, 16);
  t.equal((await s.mac({ label: 'kek' }, new Uint8Array(3))).length, 8);
  await t.rejects(s.encrypt({ label: 'kmc' }, new Uint8Array(8)), /usage derive, not 'encrypt'/);
  await t.rejects(s.wrap({ label: 'kek' }, new Uint8Array(5)), /multiple of 8/);
  const sealed = await s.seal({ label: 'transport' }, bytes('00112233'), new TextEncoder().encode('record 7'));
  t.same(await s.unseal({ label: 'transport' }, sealed, new TextEncoder().encode('record 7')), bytes('00112233'));
  await t.rejects(s.unseal({ label: 'transport' }, sealed, new TextEncoder().encode('record 8')), SealError, 'another card record');
  const bad = sealed.slice();
  bad[bad.length - 1]! ^= 1;
  await t.rejects(s.unseal({ label: 'transport' }, bad, new TextEncoder().encode('record 7')), SealError, 'modified');
  await t.rejects(s.seal({ label: 'kek' }, bytes('00')), /not 'seal'/);
  // A caller-given nonce (deterministic sealing): the IV is the nonce, the result reproducible.
  const nonce = bytes('000102030405060708090A0B');
  const d1 = await s.seal({ label: 'transport' }, bytes('00112233'), new TextEncoder().encode('record 7'), { nonce });
  const d2 = await s.seal({ label: 'transport' }, bytes('00112233'), new TextEncoder().encode('record 7'), { nonce });
  t.same(d1, d2, 'same nonce, same input: the same blob');
  t.same(d1.subarray(1, 13), nonce, 'the nonce is the IV');
  t.same(await s.unseal({ label: 'transport' }, d1, new TextEncoder().encode('record 7')), bytes('00112233'));
  await t.rejects(s.seal({ label: 'transport' }, bytes('00'), undefined, { nonce: new Uint8Array(8) }), /nonce is 12 bytes/);
  await t.rejects(s.generate({ label: 'x', alg: 'aes', length: 16, usage: ['seal'] }), /must be AES-256/);
  await t.rejects(s.generate({ label: 'bad label!', alg: 'aes' }), /label must be/);
  await s.close();
});

t.test('components: XOR, split, and the checks on them', async (t) => {
  const parts = splitComponents(GP_KEY, 3);
  t.equal(parts.length, 3);
  t.equal(hex(combineComponents('des3', parts)), hex(GP_KEY));
  t.throws(() => combineComponents('des3', [GP_KEY]), /2 or 3 components/);
  t.throws(() => combineComponents('des3', [GP_KEY, GP_KEY]), /identical/);
  t.throws(() => combineComponents('des3', [GP_KEY, new Uint8Array(24)]), /component 2 has 24 bytes/);
  t.throws(() => combineComponents('sm2', [GP_KEY, GP_KEY]), /SM2 keys are not entered as components/);
});

async function expectUnchanged(t: Test, path: string, mutate: (raw: Buffer) => Buffer, pattern: RegExp, reason: string, password = pass()) {
  const original = readFileSync(path);
  const changed = mutate(Buffer.from(original));
  writeFileSync(path, changed);
  const err = await FileKeyStore.open(path, password, { write: true }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, KeyStoreAccessError);
  t.match((err as KeyStoreAccessError).message, pattern);
  t.equal((err as KeyStoreAccessError).reason, reason);
  t.same(readFileSync(path), changed, 'nothing was written');
  writeFileSync(path, original);
}

t.test('wrong passphrase, truncated, tampered: one clear error, nothing changed', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'store.keys');
  await (await storeWithKeys(dir)).close();
  await expectUnchanged(t, path, (b) => b, /wrong passphrase for .*nothing was changed/, 'wrong-passphrase', new TextEncoder().encode('not the passphrase'));
  await expectUnchanged(t, path, (b) => b.subarray(0, b.length >> 1), /truncated or not a cardsmith key store/, 'truncated');
  await expectUnchanged(t, path, () => Buffer.alloc(0), /truncated/, 'truncated');
  await expectUnchanged(
    t,
    path,
    (b) => {
      const j = JSON.parse(b.toString());
      const ct = Buffer.from(j.ciphertext, 'base64');
      ct[10]! ^= 0x01;
      j.ciphertext = ct.toString('base64');
      return Buffer.from(JSON.stringify(j));
    },
    /tampered with or damaged \(authentication failed; the passphrase is right\)/,
    'tampered',
  );
  await expectUnchanged(
    t,
    path,
    (b) => {
      const j = JSON.parse(b.toString());
      j.kdf.N = 2 ** 15;
      return Buffer.from(JSON.stringify(j));
    },
    /wrong passphrase|tampered/,
    'wrong-passphrase',
  );
  await expectUnchanged(
    t,
    path,
    (b) => {
      const j = JSON.parse(b.toString());
      j.kdf.N = 2;
      return Buffer.from(JSON.stringify(j));
    },
    /tampered with or damaged \(header fields out of range\)/,
    'tampered',
  );
  await expectUnchanged(t, path, () => Buffer.from('{"format":"something else"}'), /not a cardsmith key store/, 'not-a-keystore');
  const ok = await FileKeyStore.open(path, pass());
  t.equal((await ok.list()).length, 5, 'the restored file opens');
  await ok.close();
});

t.test('create refuses to overwrite; a short passphrase is refused; one writer at a time', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'store.keys');
  const s = await FileKeyStore.create(path, pass());
  await t.rejects(FileKeyStore.create(path, pass()), /exists already/);
  await t.rejects(FileKeyStore.create(join(dir, 'b.keys'), new TextEncoder().encode('short')), /at least 12 characters/);
  await t.rejects(FileKeyStore.open(path, pass(), { write: true }), /being changed by process/);
  const reader = await FileKeyStore.open(path, pass());
  t.pass('readers do not need the lock');
  await reader.close();
  await s.close();
  writeFileSync(`${path}.lock`, '999999999');
  const w = await FileKeyStore.open(path, pass(), { write: true });
  t.pass('a lock left by a dead process is taken over');
  await w.close();
  await t.rejects(FileKeyStore.open(join(dir, 'none.keys'), pass()), /does not exist .*keys init/);
});
