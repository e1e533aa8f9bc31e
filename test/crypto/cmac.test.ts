// CMAC (NIST SP 800-38B) over AES, 3DES and SM4: NIST examples, cross-checks, errors.
import t from 'tap';
import { cmac as nobleCmac } from '@noble/ciphers/aes.js';
import { fromHex as h, toHex } from '../../bytes/index.js';
import { aesCmac, cmac, cmacOverBlockCalls } from '../../crypto/cmac.js';

const M = h(
  '6BC1BEE22E409F96E93D7E117393172A AE2D8A571E03AC9C9EB76FAC45AF8E51 30C81C46A35CE411E5FBC1191A0A52EF F69F2445DF4F9B17AD2B417BE66C3710',
);

t.test('AES-128: SP 800-38B Appendix D.1 / RFC 4493 §4 and the NIST AES_CMAC.pdf examples', async (t) => {
  const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
  t.equal(toHex(aesCmac(key, M.subarray(0, 0))), 'BB1D6929E95937287FA37D129B756746');
  t.equal(toHex(aesCmac(key, M.subarray(0, 16))), '070A16B46B4D4144F79BDD9DD04A287C');
  t.equal(toHex(aesCmac(key, M.subarray(0, 20))), '7D85449EA6EA19C823A7BF78837DFADE', 'AES_CMAC.pdf example 3 (Mlen 160)');
  t.equal(toHex(aesCmac(key, M.subarray(0, 40))), 'DFA66747DE9AE63030CA32611497C827', 'RFC 4493 example 3 (Mlen 320)');
  t.equal(toHex(aesCmac(key, M)), '51F0BEBF7E3B9D92FC49741779363CFE');
});

t.test('AES-192 and AES-256: SP 800-38B Appendix D.2/D.3', async (t) => {
  const k192 = h('8E73B0F7DA0E6452C810F32B809079E562F8EAD2522C6B7B');
  t.equal(toHex(aesCmac(k192, M.subarray(0, 0))), 'D17DDF46ADAACDE531CAC483DE7A9367');
  t.equal(toHex(aesCmac(k192, M)), 'A1D5DF0EED790F794D77589659F39A11');
  const k256 = h('603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4');
  t.equal(toHex(aesCmac(k256, M.subarray(0, 0))), '028962F61B7BF89EFC6B551F4667D983');
  t.equal(toHex(aesCmac(k256, M)), 'E1992190549F6ED5696A2C056C315410');
});

t.test('TDEA: NIST TDES_CMAC.pdf examples (three-key and K1 = K3)', async (t) => {
  const k3 = h('0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123');
  t.equal(toHex(cmac('des3', k3, M.subarray(0, 0))), '7DB0D37DF936C550');
  t.equal(toHex(cmac('des3', k3, M.subarray(0, 16))), '30239CF1F52E6609');
  t.equal(toHex(cmac('des3', k3, M.subarray(0, 20))), '6C9F3EE4923F6BE2');
  t.equal(toHex(cmac('des3', k3, M.subarray(0, 32))), '99429BD0BF7904E5');
  const k13 = h('0123456789ABCDEF23456789ABCDEF010123456789ABCDEF');
  t.equal(toHex(cmac('des3', k13, M.subarray(0, 0))), '79CE52A7F786A960');
  t.equal(toHex(cmac('des3', k13, M.subarray(0, 16))), 'CC18A0B79AF2413B');
  t.equal(toHex(cmac('des3', k13, M.subarray(0, 20))), 'C06D377ECD101969');
  t.equal(toHex(cmac('des3', k13, M.subarray(0, 32))), '9CD33580F9B64DFB');
  // A 24-byte key with K3 = K1 is the same cipher as the 16-byte two-key form.
  t.same(cmac('des3', k13.subarray(0, 16), M.subarray(0, 20)), cmac('des3', k13, M.subarray(0, 20)));
});

t.test('TDEA: SP 800-38B (2005) Appendix D.4/D.5 examples', async (t) => {
  const k3 = h('8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5');
  t.equal(toHex(cmac('des3', k3, M.subarray(0, 0))), 'B7A688E122FFAF95');
  const k2 = h('4CF15134A2850DD58A3D10BA80570D38');
  t.equal(toHex(cmac('des3', k2, M.subarray(0, 0))), 'BD2EBF9A3BA00361');
});

t.test('SM4 and two-key 3DES: cross-checked with OpenSSL 3.0 (`openssl mac -cipher SM4-CBC|DES-EDE-CBC CMAC`)', async (t) => {
  // No published SM4-CMAC example was found; these values come from OpenSSL's independent CMAC.
  const key = h('0123456789ABCDEFFEDCBA9876543210');
  t.equal(toHex(cmac('sm4', key, M.subarray(0, 0))), '29E154322E5C7BD8EE6A25BA549B24BC');
  t.equal(toHex(cmac('sm4', key, M.subarray(0, 16))), '07A0861EDEDD5CFCEAD8489011600B9C');
  t.equal(toHex(cmac('sm4', key, M.subarray(0, 20))), '0E7B321E15EBDF207E9A62F5A6093E92');
  t.equal(toHex(cmac('des3', key, M.subarray(0, 0))), '5B560372570D37CB');
  t.equal(toHex(cmac('des3', key, M.subarray(0, 16))), 'B45081A29A5DF4D0');
  t.equal(toHex(cmac('des3', key, M.subarray(0, 20))), '18D864160C494386');
});

t.test('the generic path agrees with @noble/ciphers cmac for every length 0..70 and all AES key sizes', async (t) => {
  for (const klen of [16, 24, 32]) {
    const key = Uint8Array.from({ length: klen }, (_, i) => (i * 7 + klen) & 0xff);
    for (let n = 0; n <= 70; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff);
      // noble's argument order is (message, key).
      const want = nobleCmac(data, key);
      t.same(cmacOverBlockCalls('aes', key, data), want, `generic AES-${klen * 8} length ${n}`);
      t.same(aesCmac(key, data), want, `aesCmac AES-${klen * 8} length ${n}`);
    }
  }
});

t.test('NIST AES vectors through the generic path too', async (t) => {
  const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
  t.equal(toHex(cmacOverBlockCalls('aes', key, M.subarray(0, 0))), 'BB1D6929E95937287FA37D129B756746');
  t.equal(toHex(cmacOverBlockCalls('aes', key, M.subarray(0, 20))), '7D85449EA6EA19C823A7BF78837DFADE');
  t.equal(toHex(cmacOverBlockCalls('aes', key, M)), '51F0BEBF7E3B9D92FC49741779363CFE');
  t.same(cmacOverBlockCalls('des3', h('0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123'), M), cmac('des3', h('0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123'), M));
});

t.test('single DES and output sizes; inputs are not modified', async (t) => {
  t.equal(cmac('des', h('0123456789ABCDEF'), M).length, 8);
  t.equal(cmac('sm4', h('0123456789ABCDEFFEDCBA9876543210'), M).length, 16);
  const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
  const data = M.slice(0, 20);
  aesCmac(key, data);
  t.same(key, h('2B7E151628AED2A6ABF7158809CF4F3C'));
  t.same(data, M.subarray(0, 20));
});

t.test('errors', async (t) => {
  const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
  t.throws(() => cmac('blowfish' as 'aes', key, M), { name: 'RangeError', message: /^cmac: unknown cipher 'blowfish'/ });
  t.throws(() => cmac(undefined as unknown as 'aes', key, M), RangeError);
  t.throws(() => cmac('aes', key.subarray(0, 15), M), { name: 'RangeError', message: 'cmac: key: expected 16 or 24 or 32 bytes, got 15' });
  t.throws(() => cmac('des3', key.subarray(0, 15), M), { name: 'RangeError', message: /^cmac: key: expected 16 or 24 bytes, got 15/ });
  t.throws(() => cmac('sm4', key.subarray(0, 15), M), RangeError);
  t.throws(() => cmac('des', key.subarray(0, 7), M), RangeError);
  t.throws(() => cmac('aes', 'key' as never, M), { name: 'TypeError', message: /^cmac: key: expected Uint8Array/ });
  t.throws(() => cmac('aes', key, [1, 2, 3] as never), { name: 'TypeError', message: /^cmac: data: expected Uint8Array, got array/ });
  t.throws(() => aesCmac(new Uint8Array(0), M), RangeError);
  t.throws(() => cmacOverBlockCalls('aes', key.subarray(1), M), { name: 'RangeError', message: /^cmac: key/ });
  t.throws(() => cmacOverBlockCalls('x' as 'aes', key, M), { name: 'RangeError', message: /^cmac: unknown cipher/ });
});
