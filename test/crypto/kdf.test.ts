// SCP03 KDF (GP Amendment D §6.2.2.2) and the CMAC counter-mode engine under it.
import t from 'tap';
import { concat, fromHex as h, toHex, uintBE } from '../../bytes/index.js';
import { aesCmac } from '../../crypto/cmac.js';
import { kcvHex } from '../../crypto/kcv.js';
import { cmacCounterKdf, scp03Kdf } from '../../crypto/kdf.js';

// The published SCP03 transcript of kaoh/globalplatform (i=70, AES-128).
const ENC = h('F995D0A069335C7DF42E590317FFEA6D');
const MAC = h('58563362EC5A4541ABCD32B34B1EAE7D');
const HOST = h('9BD6BF878FB8E991');
const CARD = h('3C80C2CC87EB3A35');
const CONTEXT = concat(HOST, CARD);

t.test('SCP03 transcript: session keys and cryptograms', async (t) => {
  const smac = scp03Kdf(MAC, 0x06, CONTEXT, 128);
  t.equal(toHex(smac), '6FF37716E0413065E8DFD08BF1E9EC5E', 'S-MAC');
  t.equal(toHex(scp03Kdf(ENC, 0x04, CONTEXT, 128)), 'D83EE38C9954C8078987A5E9EE6AB13C', 'S-ENC');
  t.equal(toHex(scp03Kdf(MAC, 0x07, CONTEXT, 128)), '0254C786E57ACA8982670C1C1A05FF12', 'S-RMAC');
  t.equal(toHex(scp03Kdf(smac, 0x00, CONTEXT, 64)), 'E4EDBA35E629C336', 'card cryptogram (INITIALIZE UPDATE response)');
  t.equal(toHex(scp03Kdf(smac, 0x01, CONTEXT, 64)), '23EBFEDC579D22CD', 'host cryptogram (EXTERNAL AUTHENTICATE data)');
});

t.test('GlobalPlatformPro TestPlaintextKeys: SCP03 session-key KCVs and scp3_kdf', async (t) => {
  // library/src/test/java/pro/javacard/gp/test/TestPlaintextKeys.java: static key 404142…4F,
  // context = KDD 00010203040506070809; session keys checked by their AES KCVs.
  const key = h('404142434445464748494A4B4C4D4E4F');
  const kdd = h('00010203040506070809');
  t.equal(kcvHex('aes', scp03Kdf(key, 0x04, kdd, 128)), 'C25559', 'S-ENC');
  t.equal(kcvHex('aes', scp03Kdf(key, 0x06, kdd, 128)), '0E12CC', 'S-MAC');
  t.equal(kcvHex('aes', scp03Kdf(key, 0x07, kdd, 128)), '9ACB9C', 'S-RMAC');
  // testScp3Kdf: a = 16 × 00, b = 16 × 00, 16 bytes.
  t.equal(kcvHex('aes', cmacCounterKdf('aes', key, new Uint8Array(16), new Uint8Array(16), 16)), 'BD8165');
});

t.test('derivation data layout', async (t) => {
  // One block by hand: 11 × 00 ‖ const ‖ 00 ‖ L ‖ i ‖ context.
  const dd = concat(new Uint8Array(11), h('06'), h('00'), uintBE(128, 2), h('01'), CONTEXT);
  t.same(scp03Kdf(MAC, 0x06, CONTEXT, 128), aesCmac(MAC, dd));
  // Two blocks: the counter runs 1, 2 and L says 256 in both.
  const out = scp03Kdf(MAC, 0x06, CONTEXT, 256);
  const pre = concat(new Uint8Array(11), h('06'), h('00'), uintBE(256, 2));
  t.same(out, concat(aesCmac(MAC, concat(pre, h('01'), CONTEXT)), aesCmac(MAC, concat(pre, h('02'), CONTEXT))));
  // L is part of the input, so a shorter output is not a prefix of a longer one.
  t.not(toHex(scp03Kdf(MAC, 0x06, CONTEXT, 128)), toHex(out.subarray(0, 16)));
  t.equal(scp03Kdf(MAC, 0x06, CONTEXT, 192).length, 24);
  t.equal(scp03Kdf(MAC, 0x06, new Uint8Array(0), 8).length, 1, 'empty context and one byte are allowed');
  t.equal(scp03Kdf(h('000102030405060708090A0B0C0D0E0F1011121314151617'), 0x04, CONTEXT, 192).length, 24, 'AES-192 key');
});

t.test('cmacCounterKdf: counter between prefix and suffix, truncation, other ciphers', async (t) => {
  const key = h('000102030405060708090A0B0C0D0E0F');
  const out = cmacCounterKdf('aes', key, h('AA'), h('BB'), 20);
  t.same(out, concat(aesCmac(key, h('AA01BB')), aesCmac(key, h('AA02BB'))).subarray(0, 20));
  t.equal(cmacCounterKdf('des3', key, h(''), h('00'), 16).length, 16, '3DES PRF gives 8-byte blocks');
  t.equal(cmacCounterKdf('aes', key, h(''), h(''), 255 * 16).length, 4080, 'the full 255-block range');
});

t.test('errors', async (t) => {
  t.throws(() => scp03Kdf(MAC.subarray(0, 15), 6, CONTEXT, 128), { name: 'RangeError', message: 'scp03Kdf: key: expected 16 or 24 or 32 bytes, got 15' });
  t.throws(() => scp03Kdf(h('0123456789ABCDEF'), 6, CONTEXT, 128), RangeError, '8-byte key');
  t.throws(() => scp03Kdf('key' as never, 6, CONTEXT, 128), { name: 'TypeError', message: /^scp03Kdf: key/ });
  t.throws(() => scp03Kdf(MAC, 6, 'ctx' as never, 128), { name: 'TypeError', message: /^scp03Kdf: context/ });
  for (const c of [-1, 256, 1.5, NaN]) t.throws(() => scp03Kdf(MAC, c, CONTEXT, 128), { name: 'RangeError', message: /^scp03Kdf: derivation constant must be one byte/ }, `constant ${c}`);
  t.throws(() => scp03Kdf(MAC, '6' as never, CONTEXT, 128), RangeError);
  for (const b of [0, 7, 12, -128, 255 * 128 + 8, 1.5]) t.throws(() => scp03Kdf(MAC, 6, CONTEXT, b), { name: 'RangeError', message: /^scp03Kdf: output length must be a multiple of 8 bits/ }, `bits ${b}`);
  t.throws(() => cmacCounterKdf('idea' as 'aes', MAC, h(''), h(''), 16), { name: 'RangeError', message: /^kdf: unknown cipher 'idea'/ });
  t.throws(() => cmacCounterKdf('aes', MAC.subarray(1), h(''), h(''), 16), { name: 'RangeError', message: /^kdf: key/ });
  t.throws(() => cmacCounterKdf('aes', MAC, 'x' as never, h(''), 16), { name: 'TypeError', message: /^kdf: fixed data before the counter/ });
  t.throws(() => cmacCounterKdf('aes', MAC, h(''), null as never, 16), { name: 'TypeError', message: /^kdf: fixed data after the counter/ });
  for (const n of [0, -1, 1.5, 255 * 16 + 1]) t.throws(() => cmacCounterKdf('aes', MAC, h(''), h(''), n), { name: 'RangeError', message: /^kdf: output length must be 1 to 4080 bytes/ }, `bytes ${n}`);
});
