// PBOC line-protection MAC (the PBOC-style COS, JR/T 0025): a worked example, cross-checks and errors.
import t from 'tap';
import { concat, fromHex as h, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import { mac9797, retailMac } from '../../crypto/mac.js';
import { pad } from '../../crypto/padding.js';
import { pbocIv, pbocMac } from '../../crypto/pboc-mac.js';

t.test('published worked example: "PBOC-MAC DES" with a 16-byte key (medium: a blog post)', async (t) => {
  // http://mynw.cn/netsecurity/12427.html: key 5775204D69616F6A756E404726444311, IV zeros, 74 bytes
  // of ASCII, padding 80 00…, single-DES CBC with a final 3DES step → 4089819D3D991CC7.
  const key = h('5775204D69616F6A756E404726444311');
  const data = h(
    '4348454E48414F2D50437C424645424642464630303033303643337E39425030504432434E3730313633363649303034337C32303234303131317C32303235303130317C383139317C30',
  );
  t.equal(toHex(retailMac(key, data)), '4089819D3D991CC7');
  t.equal(toHex(pbocMac({ alg: 'des3', key, iv: new Uint8Array(8), data })), '4089819D');
});

t.test('SM4 and single DES, cross-checked with `openssl enc -nopad` CBC over the padded data', async (t) => {
  const data = h('04D6850009112233445566'); // UPDATE BINARY header ‖ Lc-adjusted ‖ data, as a COS MACs it
  const challenge = h('11223344');
  t.equal(toHex(pbocMac({ alg: 'sm4', key: h('0123456789ABCDEFFEDCBA9876543210'), iv: pbocIv(challenge, 16), data })), '17CC3C38');
  t.equal(toHex(pbocMac({ alg: 'des', key: h('0123456789ABCDEF'), iv: pbocIv(challenge, 8), data })), '89DCA46C');
});

t.test('definitions', async (t) => {
  const data = h('84DC010C0C112233445566778899');
  const iv8 = pbocIv(h('A1B2C3D4'), 8);
  const iv16 = pbocIv(h('A1B2C3D4E5F60718'), 16);
  const k16 = h('404142434445464748494A4B4C4D4E4F');
  t.same(pbocMac({ alg: 'des3', key: k16, iv: iv8, data }), retailMac(k16, data, iv8).subarray(0, 4), 'des3 = retail MAC, first 4 bytes');
  t.same(pbocMac({ alg: 'des', key: k16.subarray(0, 8), iv: iv8, data }), mac9797({ alg: 'des', algorithm: 1, padding: 2, key: k16.subarray(0, 8), data, iv: iv8 }).subarray(0, 4));
  const cbc = blockCipher('sm4').encryptCbc(k16, iv16, pad(data, 2, 16));
  t.same(pbocMac({ alg: 'sm4', key: k16, iv: iv16, data }), cbc.subarray(cbc.length - 16, cbc.length - 12), 'sm4 = CBC-MAC, first 4 bytes');
  t.equal(pbocMac({ alg: 'sm4', key: k16, iv: iv16, data: new Uint8Array(0) }).length, 4, 'empty data is MACed (one padding block)');
});

t.test('pbocIv pads the challenge with zeros', async (t) => {
  t.same(pbocIv(h('11223344'), 8), h('1122334400000000'));
  t.same(pbocIv(h('1122334455667788'), 8), h('1122334455667788'));
  t.same(pbocIv(h('1122334455667788'), 16), concat(h('1122334455667788'), new Uint8Array(8)));
  t.same(pbocIv(new Uint8Array(0), 8), new Uint8Array(8));
  t.throws(() => pbocIv(new Uint8Array(9), 8), { name: 'RangeError', message: 'pbocIv: a 9-byte challenge does not fit a 8-byte block' });
  t.throws(() => pbocIv(new Uint8Array(4), 12 as 8), { name: 'RangeError', message: /^pbocIv: block size must be 8 or 16/ });
  t.throws(() => pbocIv('11223344' as never, 8), { name: 'TypeError', message: /^pbocIv: challenge/ });
});

t.test('errors', async (t) => {
  const k16 = h('404142434445464748494A4B4C4D4E4F');
  const iv8 = new Uint8Array(8);
  const iv16 = new Uint8Array(16);
  const data = h('01');
  t.throws(() => pbocMac(undefined as never), { name: 'TypeError', message: /^pbocMac: expected an options object/ });
  t.throws(() => pbocMac({ alg: 'aes' as 'sm4', key: k16, iv: iv16, data }), { name: 'RangeError', message: "pbocMac: unknown cipher 'aes' (expected des, des3 or sm4)" });
  t.throws(() => pbocMac({ alg: 'des3', key: k16.subarray(0, 15), iv: iv8, data }), { name: 'RangeError', message: /^pbocMac: des3 key \(K ‖ K′\): expected 16 bytes, got 15/ });
  t.throws(() => pbocMac({ alg: 'des3', key: concat(k16, k16.subarray(0, 8)), iv: iv8, data }), RangeError, '24-byte 3DES key');
  t.throws(() => pbocMac({ alg: 'des3', key: k16, iv: iv16, data }), { name: 'RangeError', message: /^pbocMac: des3 iv: expected 8 bytes, got 16/ });
  t.throws(() => pbocMac({ alg: 'des', key: k16, iv: iv8, data }), { name: 'RangeError', message: /^pbocMac: des key: expected 8 bytes, got 16/ });
  t.throws(() => pbocMac({ alg: 'des', key: k16.subarray(0, 8), iv: iv8.subarray(0, 7), data }), { name: 'RangeError', message: /^pbocMac: des iv: expected 8 bytes, got 7/ });
  t.throws(() => pbocMac({ alg: 'sm4', key: k16.subarray(0, 15), iv: iv16, data }), { name: 'RangeError', message: /^pbocMac: sm4 key: expected 16 bytes, got 15/ });
  t.throws(() => pbocMac({ alg: 'sm4', key: k16, iv: iv8, data }), { name: 'RangeError', message: /^pbocMac: sm4 iv: expected 16 bytes, got 8/ });
  t.throws(() => pbocMac({ alg: 'sm4', key: k16, iv: undefined as never, data }), { name: 'TypeError', message: /^pbocMac: sm4 iv/ });
  t.throws(() => pbocMac({ alg: 'sm4', key: k16, iv: iv16, data: 'x' as never }), { name: 'TypeError', message: /^pbocMac: data/ });
});
