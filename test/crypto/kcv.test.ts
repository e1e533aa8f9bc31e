// Key check values: GP conventions for 3DES and AES, cardsmith's convention for SM4.
import t from 'tap';
import { concat, fromHex as h, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import { kcv, kcvHex } from '../../crypto/kcv.js';

const GP_DEFAULT = h('404142434445464748494A4B4C4D4E4F');

t.test('GlobalPlatformPro TestPlaintextKeys: KCVs of the default key 404142…4F', async (t) => {
  t.equal(kcvHex('des3', GP_DEFAULT), '8BAF47', 'SCP01 static DEK, 3DES KCV');
  t.equal(kcvHex('aes', GP_DEFAULT), '504A77', 'SCP03 static DEK, AES KCV');
});

t.test('definitions', async (t) => {
  t.same(kcv('des3', GP_DEFAULT, 8), blockCipher('des3').encryptEcb(GP_DEFAULT, new Uint8Array(8)), '3DES-ECB(key, 8 × 00)');
  t.same(kcv('aes', GP_DEFAULT, 16), blockCipher('aes').encryptEcb(GP_DEFAULT, new Uint8Array(16).fill(1)), 'AES-ECB(key, 16 × 01)');
  t.same(kcv('sm4', GP_DEFAULT, 16), blockCipher('sm4').encryptEcb(GP_DEFAULT, new Uint8Array(16)), 'SM4-ECB(key, 16 × 00)');
  // SM4-ECB(0123…3210, 16 × 00), computed with `openssl enc -sm4-ecb -nopad` as an outside check.
  t.equal(kcvHex('sm4', h('0123456789ABCDEFFEDCBA9876543210'), 16), '2677F46B09C122CC975533105BD4A22A');
  t.equal(kcvHex('sm4', h('0123456789ABCDEFFEDCBA9876543210')), '2677F4');
  const k = h('0123456789ABCDEF');
  t.same(kcv('des3', k), kcv('des3', concat(k, k)), 'single DES = 3DES with K1 = K2');
  t.same(kcv('des3', k), kcv('des3', concat(k, k, k)), 'single DES = 3DES with K1 = K2 = K3');
  t.equal(kcv('des3', k).length, 3, 'default length 3');
  t.equal(kcv('aes', GP_DEFAULT, 1).length, 1);
  t.equal(toHex(kcv('aes', concat(GP_DEFAULT, GP_DEFAULT))).length, 6, 'AES-256 keys work');
  t.equal(kcvHex('aes', GP_DEFAULT, 5), toHex(kcv('aes', GP_DEFAULT, 5)));
});

t.test('errors', async (t) => {
  t.throws(() => kcv('des' as 'des3', GP_DEFAULT), { name: 'RangeError', message: "kcv: unknown algorithm 'des' (expected des3, aes or sm4)" });
  t.throws(() => kcv('des3', GP_DEFAULT.subarray(0, 15)), { name: 'RangeError', message: 'kcv: des3 key: expected 8 or 16 or 24 bytes, got 15' });
  t.throws(() => kcv('des3', new Uint8Array(32)), RangeError);
  t.throws(() => kcv('aes', new Uint8Array(8)), { name: 'RangeError', message: /^kcv: aes key: expected 16 or 24 or 32 bytes, got 8/ });
  t.throws(() => kcv('sm4', new Uint8Array(24)), { name: 'RangeError', message: /^kcv: sm4 key: expected 16 bytes, got 24/ });
  t.throws(() => kcv('aes', 'key' as never), { name: 'TypeError', message: /^kcv: aes key: expected Uint8Array/ });
  for (const n of [0, -1, 2.5, 9]) t.throws(() => kcv('des3', GP_DEFAULT, n), { name: 'RangeError', message: /^kcv: length must be 1 to 8 bytes for des3/ }, `length ${n}`);
  t.throws(() => kcv('aes', GP_DEFAULT, 17), { name: 'RangeError', message: /^kcv: length must be 1 to 16 bytes for aes/ });
  t.throws(() => kcvHex('sm4', new Uint8Array(15)), RangeError);
  try {
    kcv('des3', GP_DEFAULT.subarray(0, 15));
  } catch (e) {
    t.notMatch((e as Error).message, /404142/, 'no key bytes in the message');
  }
});
