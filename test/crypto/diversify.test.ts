// Key diversification: GlobalPlatformPro's published KCVs for emv/visa2/kdf3, EMV Option A,
// CPS 1.1 = emv, PBOC levels, and every rejection diversify() promises.
import t from 'tap';
import { concat, fromHex as h, not, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import {
  diversify,
  diversifyCps11,
  diversifyEmv,
  diversifyEmvOptionA,
  diversifyKdf3,
  diversifyPboc,
  diversifyVisa2,
  emvOptionA,
  emvOptionAData,
  pbocLevel,
  type DiversifyOptions,
  type KeyType,
} from '../../crypto/diversify.js';
import { kcvHex } from '../../crypto/kcv.js';

const TYPES: KeyType[] = ['enc', 'mac', 'dek'];
const GP_KEY = h('404142434445464748494A4B4C4D4E4F');
const KDD = h('00010203040506070809');
const DES3 = blockCipher('des3');

t.test('GlobalPlatformPro TestPlaintextKeys: emv and visa2 (SCP02) KCVs', async (t) => {
  // library/src/test/java/pro/javacard/gp/test/TestPlaintextKeys.java, master 404142…4F, KDD 00…09.
  t.same(TYPES.map((k) => kcvHex('des3', diversifyEmv(GP_KEY, KDD, k))), ['C33013', '6F4CA6', 'BB8179'], 'emv');
  t.same(TYPES.map((k) => kcvHex('des3', diversifyVisa2(GP_KEY, KDD, k))), ['2BE598', '58DA38', '3C328E'], 'visa2');
});

t.test('emv and visa2 byte layouts (the ranges public tools have swapped)', async (t) => {
  t.same(diversifyEmv(GP_KEY, KDD, 'mac'), DES3.encryptEcb(GP_KEY, h('040506070809F002 0405060708090F02')), 'emv: KDD[4..9]');
  t.same(diversifyVisa2(GP_KEY, KDD, 'dek'), DES3.encryptEcb(GP_KEY, h('000104050607F003 0001040506070F03')), 'visa2: KDD[0..1] ‖ KDD[4..7]');
  t.not(toHex(diversifyEmv(GP_KEY, KDD, 'enc')), toHex(diversifyVisa2(GP_KEY, KDD, 'enc')));
  // Results are not parity-adjusted (GPPro does not adjust either).
  t.same(diversifyEmv(GP_KEY, KDD, 'enc'), DES3.encryptEcb(GP_KEY, h('040506070809F001 0405060708090F01')));
});

t.test('cps11 is the emv template on KMCID ‖ CSN', async (t) => {
  const keyData = h('4D43494430313233A1B2'); // KMCID(6) ‖ CSN(4)
  for (const k of TYPES) {
    t.same(diversifyCps11(GP_KEY, keyData, k), diversifyEmv(GP_KEY, keyData, k), k);
    // CPS 1.1 as written: two independent 3DES encryptions.
    const half = (c: number) => DES3.encryptEcb(GP_KEY, concat(keyData.subarray(4, 10), h(c === 0 ? 'F0' : '0F'), Uint8Array.of(k === 'enc' ? 1 : k === 'mac' ? 2 : 3)));
    t.same(diversifyCps11(GP_KEY, keyData, k), concat(half(0), half(1)), `${k} by the CPS formula`);
  }
});

t.test('GlobalPlatformPro TestPlaintextKeys: kdf3 (SCP03) KCVs and the external vector', async (t) => {
  const k24 = h('404142434445464748494A4B4C4D4E4F5051525354555657');
  const k32 = h('404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F');
  t.same(TYPES.map((k) => kcvHex('aes', diversifyKdf3(GP_KEY, KDD, k))), ['E79C05', 'D1BD77', '3FDE8C'], 'AES-128');
  t.same(TYPES.map((k) => kcvHex('aes', diversifyKdf3(k24, KDD, k))), ['1DE8EA', '47C00C', 'C04D76'], 'AES-192');
  t.same(TYPES.map((k) => kcvHex('aes', diversifyKdf3(k32, KDD, k))), ['2972D2', '036F94', '5D57B8'], 'AES-256');
  t.equal(diversifyKdf3(k24, KDD, 'enc').length, 24, 'output as long as the master');
  // testDiversification_KDF3_ExternalVector (compared there by KCV; here byte for byte).
  t.equal(
    toHex(diversifyKdf3(h('8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD'), h('D9B1DE5D0362DEDCE4FB'), 'enc')),
    '9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781',
  );
});

t.test('EMV Option A', async (t) => {
  // EMV vector.
  const imk = h('0123456789ABCDEFFEDCBA9876543210');
  t.equal(toHex(emvOptionA(imk, '12345678901234567', '01')), '73AD54688CEF2934B0979857E3C719F1');
  t.equal(toHex(emvOptionAData('12345678901234567', '01')), '4567890123456701', 'rightmost 16 digits of PAN ‖ PSN');
  t.equal(toHex(emvOptionAData('1234', '01')), '0000000000123401', 'short PAN ‖ PSN is left-padded with zeros');
  t.equal(toHex(emvOptionAData('1234567890123456789', '00')), '6789012345678900', '19-digit PAN keeps its last 14 digits');
  t.equal(toHex(emvOptionAData('5413330089010434', '00')), '1333008901043400', '16-digit PAN drops its first 2 digits');
  t.same(diversify({ method: 'emv-option-a', master: imk, data: emvOptionAData('12345678901234567', '01') }), emvOptionA(imk, '12345678901234567', '01'));
  // Definition: 3DES(A) ‖ 3DES(A xor FF…FF), odd parity in every byte.
  const a = emvOptionAData('4761739001010010', '01');
  const mk = diversifyEmvOptionA(imk, a);
  const raw = DES3.encryptEcb(imk, concat(a, not(a)));
  for (let i = 0; i < 16; i++) {
    let ones = 0;
    for (let v = mk[i]!; v; v >>= 1) ones += v & 1;
    t.equal(ones % 2, 1, `byte ${i} has odd parity`);
    t.equal(mk[i]! & 0xfe, raw[i]! & 0xfe, `byte ${i} differs from the raw output only in its parity bit`);
  }
});

t.test('PBOC levels', async (t) => {
  const master = h('0123456789ABCDEFFEDCBA9876543210');
  const d1 = h('3201007378FFFFFF');
  const d2 = h('3B6E000081318065');
  const d3 = h('A1B2C3D4E5F60718');
  // One level, cross-checked with `openssl enc -des-ede-ecb|-sm4-ecb -nopad` on D ‖ ~D.
  t.equal(toHex(pbocLevel(master, d1)), '75D6C0F8DDD172604F4E3FD5FCD97A68', '3DES: 3DES_K(D) ‖ 3DES_K(~D)');
  t.equal(toHex(pbocLevel(master, d1, 'sm4')), '4759AD3727CCCAFCD53221F22EEC07C2', 'SM4: SM4_K(D ‖ ~D)');
  t.same(pbocLevel(master, d1), concat(DES3.encryptEcb(master, d1), DES3.encryptEcb(master, not(d1))));
  for (const alg of ['des3', 'sm4'] as const) {
    const chained = pbocLevel(pbocLevel(pbocLevel(master, d1, alg), d2, alg), d3, alg);
    t.same(diversifyPboc(master, concat(d1, d2, d3), alg), chained, `${alg}: 3 levels = chaining 3 single levels`);
    t.same(diversifyPboc(master, concat(d1, d2), alg), pbocLevel(pbocLevel(master, d1, alg), d2, alg), `${alg}: 2 levels`);
    t.same(diversifyPboc(master, d1, alg), pbocLevel(master, d1, alg), `${alg}: 1 level`);
    t.same(diversify({ method: 'pboc', master, data: concat(d1, d2, d3), alg }), chained, `${alg} through diversify()`);
  }
  t.same(diversify({ method: 'pboc', master, data: d1 }), pbocLevel(master, d1, 'des3'), 'pboc defaults to des3');
  t.same(master, h('0123456789ABCDEFFEDCBA9876543210'), 'the master is not wiped or modified');
});

t.test('diversify() dispatches to the named functions', async (t) => {
  const aes = h('000102030405060708090A0B0C0D0E0F');
  for (const keyType of TYPES) {
    t.same(diversify({ method: 'emv', master: GP_KEY, data: KDD, keyType }), diversifyEmv(GP_KEY, KDD, keyType));
    t.same(diversify({ method: 'emv', master: GP_KEY, data: KDD, keyType, alg: 'des3' }), diversifyEmv(GP_KEY, KDD, keyType));
    t.same(diversify({ method: 'visa2', master: GP_KEY, data: KDD, keyType }), diversifyVisa2(GP_KEY, KDD, keyType));
    t.same(diversify({ method: 'cps11', master: GP_KEY, data: KDD, keyType }), diversifyCps11(GP_KEY, KDD, keyType));
    t.same(diversify({ method: 'kdf3', master: aes, data: KDD, keyType, alg: 'aes' }), diversifyKdf3(aes, KDD, keyType));
  }
});

t.test('errors name the module and what was expected, never key bytes', async (t) => {
  const cases: [string, DiversifyOptions, string, RegExp | string][] = [
    ['unknown method', { method: 'visa' as 'emv', master: GP_KEY, data: KDD, keyType: 'enc' }, 'RangeError', "diversify: unknown method 'visa' (expected emv, visa2, kdf3, cps11, pboc, emv-option-a)"],
    ['emv short KDD', { method: 'emv', master: GP_KEY, data: KDD.subarray(0, 8), keyType: 'enc' }, 'RangeError', 'diversify: emv needs 10 bytes of key diversification data, got 8'],
    ['emv KDD one short', { method: 'emv', master: GP_KEY, data: KDD.subarray(0, 9), keyType: 'enc' }, 'RangeError', 'diversify: emv needs 10 bytes of key diversification data, got 9'],
    ['visa2 long KDD', { method: 'visa2', master: GP_KEY, data: concat(KDD, h('0A')), keyType: 'mac' }, 'RangeError', 'diversify: visa2 needs 10 bytes of key diversification data, got 11'],
    ['cps11 short KEYDATA', { method: 'cps11', master: GP_KEY, data: KDD.subarray(1), keyType: 'dek' }, 'RangeError', 'diversify: cps11 needs 10 bytes of KEYDATA (KMCID ‖ CSN), got 9'],
    ['kdf3 short KDD', { method: 'kdf3', master: GP_KEY, data: KDD.subarray(1), keyType: 'enc' }, 'RangeError', 'diversify: kdf3 needs 10 bytes of key diversification data, got 9'],
    ['emv master one short', { method: 'emv', master: GP_KEY.subarray(1), data: KDD, keyType: 'enc' }, 'RangeError', 'diversify: emv needs a 16-byte 3DES master key, got 15 bytes'],
    ['emv 24-byte master', { method: 'emv', master: concat(GP_KEY, GP_KEY.subarray(0, 8)), data: KDD, keyType: 'enc' }, 'RangeError', 'diversify: emv needs a 16-byte 3DES master key, got 24 bytes'],
    ['visa2 master', { method: 'visa2', master: GP_KEY.subarray(8), data: KDD, keyType: 'enc' }, 'RangeError', /^diversify: visa2 needs a 16-byte 3DES master key, got 8 bytes/],
    ['cps11 master', { method: 'cps11', master: new Uint8Array(0), data: KDD, keyType: 'enc' }, 'RangeError', /^diversify: cps11 needs a 16-byte 3DES master key, got 0 bytes/],
    ['kdf3 master', { method: 'kdf3', master: GP_KEY.subarray(1), data: KDD, keyType: 'enc' }, 'RangeError', 'diversify: kdf3 needs a 16-, 24- or 32-byte AES master key, got 15 bytes'],
    ['emv no key type', { method: 'emv', master: GP_KEY, data: KDD }, 'TypeError', 'diversify: emv needs a key type (enc, mac or dek)'],
    ['kdf3 no key type', { method: 'kdf3', master: GP_KEY, data: KDD }, 'TypeError', 'diversify: kdf3 needs a key type (enc, mac or dek)'],
    ['bad key type', { method: 'visa2', master: GP_KEY, data: KDD, keyType: 'kek' as KeyType }, 'RangeError', "diversify: key type must be enc, mac or dek, got 'kek'"],
    ['prototype key type', { method: 'emv', master: GP_KEY, data: KDD, keyType: 'toString' as KeyType }, 'RangeError', /^diversify: key type must be enc, mac or dek/],
    ['emv with sm4', { method: 'emv', master: GP_KEY, data: KDD, keyType: 'enc', alg: 'sm4' }, 'RangeError', "diversify: emv uses des3, not 'sm4'"],
    ['kdf3 with des3', { method: 'kdf3', master: GP_KEY, data: KDD, keyType: 'enc', alg: 'des3' }, 'RangeError', "diversify: kdf3 uses aes, not 'des3'"],
    ['pboc with aes', { method: 'pboc', master: GP_KEY, data: KDD.subarray(0, 8), alg: 'aes' }, 'RangeError', "diversify: pboc uses des3 or sm4, got 'aes'"],
    ['pboc with key type', { method: 'pboc', master: GP_KEY, data: KDD.subarray(0, 8), keyType: 'enc' }, 'TypeError', "diversify: pboc does not use a key type (got 'enc')"],
    ['pboc 7 bytes', { method: 'pboc', master: GP_KEY, data: KDD.subarray(0, 7) }, 'RangeError', 'diversify: pboc needs 8, 16 or 24 bytes of data (one 8-byte block per level), got 7'],
    ['pboc 10 bytes', { method: 'pboc', master: GP_KEY, data: KDD }, 'RangeError', /^diversify: pboc needs 8, 16 or 24 bytes/],
    ['pboc 32 bytes', { method: 'pboc', master: GP_KEY, data: new Uint8Array(32) }, 'RangeError', /got 32$/],
    ['pboc empty', { method: 'pboc', master: GP_KEY, data: new Uint8Array(0) }, 'RangeError', /got 0$/],
    ['pboc master', { method: 'pboc', master: GP_KEY.subarray(1), data: KDD.subarray(0, 8) }, 'RangeError', 'diversify: pboc needs a 16-byte 3DES master key, got 15 bytes'],
    ['pboc sm4 master', { method: 'pboc', master: new Uint8Array(24), data: KDD.subarray(0, 8), alg: 'sm4' }, 'RangeError', 'diversify: pboc needs a 16-byte SM4 master key, got 24 bytes'],
    ['option A data', { method: 'emv-option-a', master: GP_KEY, data: KDD }, 'RangeError', 'diversify: emv-option-a needs the 8-byte A block (PAN ‖ PSN in BCD), got 10'],
    ['option A master', { method: 'emv-option-a', master: GP_KEY.subarray(1), data: KDD.subarray(0, 8) }, 'RangeError', 'diversify: emv-option-a needs a 16-byte 3DES issuer master key, got 15 bytes'],
    ['option A key type', { method: 'emv-option-a', master: GP_KEY, data: KDD.subarray(0, 8), keyType: 'enc' }, 'TypeError', /^diversify: emv-option-a does not use a key type/],
    ['option A alg', { method: 'emv-option-a', master: GP_KEY, data: KDD.subarray(0, 8), alg: 'aes' }, 'RangeError', "diversify: emv-option-a uses des3, not 'aes'"],
    ['master as hex string', { method: 'emv', master: '404142' as never, data: KDD, keyType: 'enc' }, 'TypeError', 'diversify: emv master key must be a Uint8Array, got string'],
    ['data as array', { method: 'visa2', master: GP_KEY, data: [0, 1] as never, keyType: 'enc' }, 'TypeError', 'diversify: visa2 key diversification data must be a Uint8Array, got object'],
    ['pboc data null', { method: 'pboc', master: GP_KEY, data: null as never }, 'TypeError', 'diversify: pboc data must be a Uint8Array, got null'],
    ['kdf3 master undefined', { method: 'kdf3', master: undefined as never, data: KDD, keyType: 'enc' }, 'TypeError', /^diversify: kdf3 master key must be a Uint8Array/],
    ['option A data string', { method: 'emv-option-a', master: GP_KEY, data: '4567890123456701' as never }, 'TypeError', /^diversify: emv-option-a data must be a Uint8Array/],
  ];
  for (const [name, opts, type, message] of cases) {
    t.throws(() => diversify(opts), { name: type, message }, name);
    try {
      diversify(opts);
    } catch (e) {
      t.notMatch((e as Error).message, /404142|4041 42/i, `${name}: no key bytes in the message`);
    }
  }
  t.throws(() => diversify(null as never), { name: 'TypeError', message: 'diversify: expected an options object' });
  t.throws(() => diversify('emv' as never), TypeError);
});

t.test('named-function and Option A input errors', async (t) => {
  t.throws(() => pbocLevel(GP_KEY, KDD.subarray(0, 7)), { name: 'RangeError', message: 'diversify: pboc needs 8 bytes of data per level, got 7' });
  t.throws(() => pbocLevel(GP_KEY, KDD.subarray(0, 8), 'aes' as 'sm4'), { name: 'RangeError', message: "diversify: pboc uses des3 or sm4, got 'aes'" });
  t.throws(() => pbocLevel(GP_KEY.subarray(0, 8), KDD.subarray(0, 8)), { name: 'RangeError', message: /^diversify: pboc needs a 16-byte 3DES master key, got 8/ });
  t.throws(() => diversifyPboc(GP_KEY, KDD.subarray(0, 8), 'des' as 'des3'), RangeError);
  t.throws(() => diversifyEmv(GP_KEY, 'KDD' as never, 'enc'), { name: 'TypeError', message: /^diversify: emv key diversification data must be a Uint8Array, got string/ });
  t.throws(() => diversifyKdf3(GP_KEY, KDD, undefined as never), TypeError);
  t.throws(() => emvOptionAData(12345678901234567 as never, '01'), { name: 'TypeError', message: 'diversify: PAN must be a string of digits, got number' });
  t.throws(() => emvOptionAData('12345678901234567', 1 as never), { name: 'TypeError', message: /^diversify: PSN must be a string of 2 digits, got number/ });
  for (const pan of ['', '1234 5678', '12345678901234567890', '4761-7390', '12a4']) {
    t.throws(() => emvOptionAData(pan, '01'), { name: 'RangeError', message: /^diversify: PAN must be 1 to 19 decimal digits/ }, `PAN '${pan}'`);
  }
  for (const psn of ['', '1', '001', 'A1']) {
    t.throws(() => emvOptionAData('4761739001010010', psn), { name: 'RangeError', message: /^diversify: PSN must be exactly 2 decimal digits/ }, `PSN '${psn}'`);
  }
  try {
    emvOptionAData('47617390010100109999', '01');
  } catch (e) {
    t.notMatch((e as Error).message, /4761739/, 'the PAN is not echoed');
  }
  t.throws(() => emvOptionA(GP_KEY.subarray(1), '4761739001010010', '01'), RangeError);
});
