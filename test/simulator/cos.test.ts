// The native social-security COS commands (LD/T 32 and the PBOC-style COS, formats in docs/simulator.md):
// CREATE FILE, WRITE KEY plain and encrypted, GET CHALLENGE, EXTERNAL / INTERNAL AUTHENTICATE,
// VERIFY, CHANGE / RELOAD PIN, PIN UNBLOCK, UPDATE with MAC, APPLICATION BLOCK / UNBLOCK, CARD
// BLOCK, END OF PERSONALIZATION, and the life cycle. Host-side values come from crypto/.
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import { pbocIv, pbocMac } from '../../crypto/pboc-mac.js';
import { buildTlv } from '../../iso7816/index.js';
import { createSsCard, type SsCard } from '../../simulator/index.js';
import { fcpDf, fcpEf } from '../../simulator/examples/fcp.js';
import {
  apdu,
  challenge,
  encryptedKeyBody,
  extAuth,
  extAuthCryptogram,
  h,
  keyBlock,
  macApdu,
  personalized,
  send,
  sw,
  TRANSPORT,
  type Key,
} from './fixtures/helpers.js';

const SSSE = '7378312E73682EC9E7BBE1B1A3D5CF';
const selectSsse = (card: SsCard) => sw(card, `00A4040C0F${SSSE}`);

function blank(opts: Parameters<typeof createSsCard>[0] = {}): SsCard {
  const card = createSsCard({ seed: 3, ...opts });
  card.powerOn('contact');
  return card;
}

t.test('CREATE FILE', async (t) => {
  const card = blank();
  const ef = fcpEf({ fid: 0xef01, sfi: 1, type: 'transparent', size: 8, read: 0x00, update: 0x00 });
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, ef)), '6982', 'a blank card needs the transport key first');
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  // The data field written out by hand: 62 13 | 82 01 01 | 83 02 EF01 | 80 02 0008 | 88 01 08 | 86 03 00 00 FF
  t.equal(toHex(ef), '6213820101' + '8302EF01' + '80020008' + '880108' + '86030000FF');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, ef)), '9000');
  t.equal(sw(card, '00D6000002ABCD'), '9000', 'the new EF is the current file');
  t.equal(send(card, '00B0000000').hex, 'ABCD' + '000000000000' + '9000');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, ef)), '6A89', 'same FID in the same DF');
  const sameSfi = fcpEf({ fid: 0xef02, sfi: 1, type: 'transparent', size: 8, read: 0x00, update: 0x00 });
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, sameSfi)), '6A89', 'same SFI in the same DF');
  const df = fcpDf({ fid: 0xdf10, name: h('A0000000AA'), create: 0x20, keyWrite: 0xff });
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, df)), '9000');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf11, name: h('A0000000AA'), create: 0x20, keyWrite: 0xff }))), '6A8A', 'DF names are unique on the card');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, ef)), '9000', 'EF01 again, but now inside DF10');

  // Objects built with buildTlv so that only the field under test is wrong.
  const o = (tag: number, hex: string) => toHex(buildTlv(tag, h(hex)));
  const fcp = (...objects: string[]) => toHex(buildTlv(0x62, objects.map((x) => h(x))));
  const bad: [string, string, string][] = [
    ['6205820138', '6A85', 'TLV runs past the end'],
    [toHex(buildTlv(0x6f, h('820138'))), '6A80', 'not an FCP template'],
    ['62088201388602000000', '6A85', '86 length past the end'],
    [fcp(o(0x82, '38'), o(0x86, '20FF00')) + '00', '6A85', 'trailing byte'],
    [fcp(o(0x82, '38'), o(0x86, '20FF00')) + fcp(o(0x82, '38')), '6A80', 'two templates'],
    [fcp(o(0x82, '38'), o(0x83, 'DF60'), o(0x86, '20FF00'), o(0x81, '0000')), '6A80', 'unknown tag 81 in the template'],
    [fcp(o(0x82, '38'), o(0x83, 'DF60'), o(0x83, 'DF61'), o(0x86, '20FF00')), '6A80', 'a tag twice'],
    [fcp(o(0x82, '38'), o(0x83, 'DF60')), '6A80', 'no access conditions'],
    [fcp(o(0x82, '01'), o(0x83, 'EF09'), o(0x86, '0000FF')), '6A80', 'transparent EF without 80 size'],
    [fcp(o(0x82, '01'), o(0x80, '0008'), o(0x86, '0000FF')), '6A80', 'EF without FID'],
    [fcp(o(0x82, '01'), o(0x83, '3F00'), o(0x80, '0008'), o(0x86, '0000FF')), '6A80', 'reserved FID 3F00'],
    [fcp(o(0x82, '01'), o(0x83, 'EF0A'), o(0x80, '0000'), o(0x86, '0000FF')), '6A80', 'size 0'],
    [fcp(o(0x82, '01'), o(0x83, 'EF0B'), o(0x80, '0008'), o(0x88, '09'), o(0x86, '0000FF')), '6A80', 'SFI byte with b3-b1 set'],
    [fcp(o(0x82, '01'), o(0x83, 'EF0C'), o(0x80, '0008'), o(0x88, 'F8'), o(0x86, '0000FF')), '6A80', 'SFI 31'],
    [fcp(o(0x82, '01'), o(0x83, 'EF0D'), o(0x80, '0008'), o(0x86, '4500FF')), '6A80', 'access condition byte 45'],
    [fcp(o(0x82, '01'), o(0x83, 'EF0D'), o(0x80, '0008'), o(0x86, '0000')), '6A80', 'two access condition bytes'],
    [fcp(o(0x82, '02'), o(0x83, 'EF0E'), o(0x86, '000000')), '6A80', 'record EF with a 1-byte descriptor'],
    [fcp(o(0x82, '0221000003'), o(0x83, 'EF0F'), o(0x86, '000000')), '6A80', 'record length 0'],
    [fcp(o(0x82, '0221000400'), o(0x83, 'EF0F'), o(0x86, '000000')), '6A80', 'zero records'],
    [fcp(o(0x82, '0221000403'), o(0x83, 'EF0F'), o(0x80, '000C'), o(0x86, '000000')), '6A80', 'a record EF with 80'],
    [fcp(o(0x82, '0521000103'), o(0x83, 'EF0F'), o(0x86, '000000')), '6A80', 'a TLV record of 1 byte cannot hold tag and length'],
    [fcp(o(0x82, '38'), o(0x86, '20FF00')), '6A80', 'DF with neither FID nor name'],
    [fcp(o(0x82, '38'), o(0x83, 'DF61'), o(0x84, ''), o(0x86, '20FF00')), '6A80', 'empty DF name'],
    [fcp(o(0x82, '38'), o(0x84, '00'.repeat(17)), o(0x86, '20FF00')), '6A80', '17-byte DF name'],
    [fcp(o(0x82, '38'), o(0x83, 'DF62'), o(0x88, '08'), o(0x86, '20FF00')), '6A80', 'a DF with an SFI'],
    [fcp(o(0x82, '01'), o(0x83, 'EF10'), o(0x84, 'A0'), o(0x80, '0008'), o(0x86, '0000FF')), '6A80', 'an EF with a name'],
    [fcp(o(0x82, '20'), o(0x83, 'EF10'), o(0x80, '0008'), o(0x86, '0000FF')), '6A80', 'FDB 20 is not a file type'],
  ];
  for (const [data, expected, what] of bad) t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, h(data))), expected, what);
  t.equal(sw(card, apdu(0x80, 0xe0, 1, 0, ef)), '6A86', 'P1-P2 must be 0000');
  t.equal(sw(card, '80E00000'), '6700', 'no data');

  const small = blank({ memory: 1024 });
  t.equal(extAuth(small, 0x00, TRANSPORT), '9000');
  t.equal(sw(small, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef01, type: 'transparent', size: 900, read: 0, update: 0 }))), '9000');
  t.equal(sw(small, '00A4000C023F00'), '9000');
  t.equal(extAuth(small, 0x00, TRANSPORT), '9000');
  t.equal(sw(small, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef02, type: 'transparent', size: 100, read: 0, update: 0 }))), '6A84', 'out of EEPROM');
  t.equal(card.internalErrors + small.internalErrors, 0);
});

t.test('WRITE KEY (plain) and the key-block checks', async (t) => {
  const card = blank();
  const k = h('0123456789ABCDEF0123456789ABCDEF');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x03, 0x01, 0x01, 1, 5, k))), '6982', 'needs the personalization authority');
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x03, 0x01, 0x01, 1, 5, k))), '9000');
  // INTERNAL AUTHENTICATE with this key: DES("Now is t") under 0123456789ABCDEF (K1 = K2 → single DES).
  t.equal(send(card, '0088000108' + '4E6F772069732074' + '00').hex, '3FA40E8A984D4815' + '9000', 'INTERNAL AUTHENTICATE, 3DES known answer');
  const sm4 = h('0123456789ABCDEFFEDCBA9876543210');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x03, 0x02, 0x01, 2, 5, sm4))), '9000');
  t.equal(send(card, '0088000210' + '0123456789ABCDEFFEDCBA9876543210' + '00').hex, '681EDF34D206965E86B3E94F536E4246' + '9000', 'INTERNAL AUTHENTICATE, SM4 known answer (GB/T 32907)');
  t.equal(sw(card, '008800020801020304050607' + '08'), '6700', 'SM4: whole 16-byte blocks');
  t.equal(sw(card, '0088000908' + '4E6F772069732074'), '6A88', 'no internal-auth key 09');
  t.equal(sw(card, '0088010108' + '4E6F772069732074'), '6A86');
  t.equal(sw(card, '0088000108' + '4E6F772069732074' + '04'), '6C08', 'Le too small');

  const blocks: [Uint8Array, string, string][] = [
    [h('0301010105'), '6700', 'shorter than a header and one value byte'],
    [keyBlock(0x09, 0x01, 0x01, 1, 5, k), '6A80', 'type 09 is not a key type'],
    [keyBlock(0x03, 0x01, 0x01, 3, 5, k), '6A80', 'algorithm 03'],
    [keyBlock(0x03, 0x01, 0x01, 1, 5, k.slice(0, 8)), '6A80', 'an 8-byte 3DES key'],
    [keyBlock(0x03, 0x01, 0x01, 1, 0, k), '6A80', 'error limit 0'],
    [keyBlock(0x03, 0x01, 0x01, 1, 16, k), '6A80', 'error limit 16'],
    [keyBlock(0x0a, 0x01, 0x01, 1, 3, h('1234')), '6A80', 'a PIN with algorithm 01'],
    [keyBlock(0x0a, 0x01, 0x01, 0, 3, h('12A4')), '6A80', 'a PIN with a non-digit'],
    [keyBlock(0x0a, 0x01, 0x01, 0, 3, h('1F')), '6A80', 'a one-digit PIN'],
    [keyBlock(0x0a, 0x01, 0x01, 0, 3, h('12F4')), '6A80', 'a digit after F padding'],
    [keyBlock(0x0a, 0x01, 0x01, 0, 3, h('12345F')), '9000', 'a 5-digit PIN padded with F'],
  ];
  for (const [block, expected, what] of blocks) t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, block)), expected, what);
  t.equal(sw(card, '0020000103' + '12345F'), '9000', 'that PIN verifies');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 1, keyBlock(0x03, 0x01, 0x01, 1, 5, k))), '6A86');
});

t.test('WRITE KEY encrypted under the master key (3DES and SM4)', async (t) => {
  const card = blank();
  const irk = h('0123456789ABCDEF0123456789ABCDEF');
  // Under the transport key (the MF master key, 3DES).
  const body = encryptedKeyBody(TRANSPORT, keyBlock(0x03, 0x01, 0x01, 1, 5, irk));
  t.equal(body.length, 24, '21-byte key block padded with 80 00 00 to 24');
  t.equal(sw(card, apdu(0x84, 0xd4, 0, 0, concat(body, h('00000000')))), '6984', 'no challenge');
  t.equal(sw(card, macApdu(card, TRANSPORT, 0x84, 0xd4, 0, 0, body)), '9000', 'no authentication needed: the MAC is the authority');
  t.equal(send(card, '0088000108' + '4E6F772069732074').hex, '3FA40E8A984D4815' + '9000', 'the key arrived intact');
  t.equal(sw(card, macApdu(card, TRANSPORT, 0x84, 0xd4, 0, 0, body.slice(0, 20))), '6700', 'not whole 3DES blocks');

  // A DF with an SM4 master key limited to 2 errors.
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf20, create: 0x20, keyWrite: 0xff }))), '9000');
  const mk: Key = { alg: 'sm4', value: h('000102030405060708090A0B0C0D0E0F') };
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x01, 0x00, 0x01, 2, 2, mk.value))), '9000');
  const sm4Irk = h('0123456789ABCDEFFEDCBA9876543210');
  const sm4Body = encryptedKeyBody(mk, keyBlock(0x03, 0x05, 0x02, 2, 5, sm4Irk));
  t.equal(sm4Body.length, 32);
  t.equal(sw(card, macApdu(card, mk, 0x84, 0xd4, 0, 0, sm4Body)), '9000', 'SM4: 16-byte challenge IV, SM4 CBC-MAC');
  t.equal(send(card, '0088000510' + '0123456789ABCDEFFEDCBA9876543210').hex, '681EDF34D206965E86B3E94F536E4246' + '9000');
  t.equal(sw(card, macApdu(card, mk, 0x84, 0xd4, 0, 0, sm4Body, undefined, 4)), '9000', 'a 4-byte challenge is padded to the SM4 block');

  // Correct MAC over a body whose padding is wrong: 6A80, and the counter comes back.
  const badPad = blockCipher('sm4').encryptEcb(mk.value, new Uint8Array(16).fill(0x11));
  t.equal(sw(card, macApdu(card, mk, 0x84, 0xd4, 0, 0, badPad)), '6A80');
  t.equal(sw(card, macApdu(card, mk, 0x84, 0xd4, 0, 0, badPad)), '6A80', 'still not blocked: authentic commands do not count as errors');
  const wrong = macApdu(card, mk, 0x84, 0xd4, 0, 0, sm4Body);
  wrong[wrong.length - 1]! ^= 0x01;
  t.equal(sw(card, wrong), '6988', 'wrong MAC');
  const wrong2 = macApdu(card, mk, 0x84, 0xd4, 0, 0, sm4Body);
  wrong2[5]! ^= 0x01;
  t.equal(sw(card, wrong2), '6988', 'tampered data');
  t.equal(sw(card, macApdu(card, mk, 0x84, 0xd4, 0, 0, sm4Body)), '6983', 'the master key is blocked after 2 errors');
  t.equal(card.internalErrors, 0);
});

t.test('GET CHALLENGE and EXTERNAL AUTHENTICATE', async (t) => {
  const card = blank();
  for (const n of [4, 8, 16]) t.equal(challenge(card, n).length, n, `${n}-byte challenge`);
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x02, 0x07, 0x01, 1, 3, h('00112233445566778899AABBCCDDEEFF')))), '9000');
  const kx: Key = { alg: 'des3', value: h('00112233445566778899AABBCCDDEEFF') };
  // Cryptogram by hand: 4-byte challenge ‖ 4 zero bytes, 3DES-ECB.
  const rnd = challenge(card, 4);
  const expected = blockCipher('des3').encryptEcb(kx.value, concat(rnd, h('00000000')));
  t.equal(sw(card, apdu(0x00, 0x82, 0x00, 0x07, expected)), '9000', '4-byte challenge padded to 8');
  t.equal(extAuth(card, 0x07, kx, 16), '9000', '16-byte challenge: two 3DES blocks');
  challenge(card, 8);
  t.equal(sw(card, apdu(0x00, 0x82, 0x00, 0x07, new Uint8Array(16))), '6700', 'an 8-byte challenge needs an 8-byte cryptogram');
  const wrong: Key = { alg: 'des3', value: new Uint8Array(16) };
  t.equal(extAuth(card, 0x07, wrong), '63C2');
  t.equal(extAuth(card, 0x07, wrong), '63C1');
  t.equal(extAuth(card, 0x07, kx), '9000', 'a success restores the counter');
  t.equal(extAuth(card, 0x07, wrong), '63C2');
  t.equal(extAuth(card, 0x07, wrong), '63C1');
  t.equal(extAuth(card, 0x07, wrong), '63C0');
  t.equal(extAuth(card, 0x07, kx), '6983', 'blocked, even with the right key');
  t.equal(sw(card, '0082000708' + '0000000000000000'), '6983');
  card.powerOff();
  card.powerOn('contact');
  t.equal(sw(card, '0082000008' + '0000000000000000'), '6984', 'no challenge (a blocked key did not use up the last one, a power cycle did)');
  t.equal(extAuth(card, 0x0e, kx), '6A88', 'no key 0E');
  t.equal(sw(card, '0082010008' + '0000000000000000'), '6A86');

  // SM4 key: the challenge is padded to 16 bytes.
  const sm4: Key = { alg: 'sm4', value: h('0123456789ABCDEFFEDCBA9876543210') };
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x02, 0x08, 0x01, 2, 3, sm4.value))), '9000');
  const r8 = challenge(card, 8);
  t.equal(sw(card, apdu(0x00, 0x82, 0x00, 0x08, blockCipher('sm4').encryptEcb(sm4.value, concat(r8, new Uint8Array(8))))), '9000', 'SM4, 8-byte challenge ‖ 8 zero bytes');
  t.equal(extAuth(card, 0x08, sm4, 16), '9000');
  t.equal(toHex(extAuthCryptogram(sm4, h('01020304'))), toHex(blockCipher('sm4').encryptEcb(sm4.value, h('01020304000000000000000000000000'))));
});

t.test('VERIFY, CHANGE PIN, RELOAD PIN, PIN UNBLOCK', async (t) => {
  const { card, info } = personalized();
  card.powerOn('contact');
  t.equal(selectSsse(card), '9000');
  t.equal(sw(card, '0020000000'.slice(0, 8)), '63C3', 'no data: tries left');
  t.equal(sw(card, '0020000003123456'), '9000');
  t.equal(sw(card, '00200000'), '9000', 'no data once verified');
  t.equal(sw(card, '0020000003654321'), '63C2', 'wrong PIN');
  t.equal(sw(card, '00200000'), '63C2', 'a wrong PIN clears the verified state');
  t.equal(sw(card, '00200000021234'), '63C1', 'a shorter PIN is just wrong');
  t.equal(sw(card, '0020000003123456'), '9000', 'the right PIN restores the counter');
  t.equal(sw(card, '0020020003123456'), '6A86', 'P1 02');
  t.equal(sw(card, '0020004003123456'), '6A86', 'P2 b7');
  t.equal(sw(card, '0020000503123456'), '6A88', 'no PIN 05');
  t.equal(sw(card, '0020008003123456'), '9000', 'P2 80: PIN 00 specific to the current DF');
  t.equal(sw(card, '002000000912345612345612345612'), '6700', 'longer than 8 bytes');

  // CHANGE: old ‖ FF ‖ new.
  t.equal(sw(card, '805E010007' + '123456FF654321'), '9000');
  t.equal(sw(card, '0020000003123456'), '63C2');
  t.equal(sw(card, '0020000003654321'), '9000');
  t.equal(sw(card, '805E010007' + '111111FF222222'), '63C2', 'wrong old PIN');
  t.equal(sw(card, '805E010007' + '654321FF22AA22'), '6A80', 'new PIN not BCD');
  t.equal(sw(card, '805E010006' + '654321222222'), '6700', 'no FF separator');
  t.equal(sw(card, '805E020007' + '654321FF222222'), '6A86');

  // RELOAD: new PIN ‖ MAC under the reload key 00 over 80 5E 00 00 Lc ‖ new PIN.
  const reload = info.keys.ssseReload;
  const rnd = challenge(card, 4);
  const mac = pbocMac({ alg: 'des3', key: reload.value, iv: pbocIv(rnd, 8), data: h('805E000007' + '888888') });
  t.equal(sw(card, apdu(0x80, 0x5e, 0x00, 0x00, concat(h('888888'), mac))), '9000');
  t.equal(sw(card, '0020000003654321'), '63C2');
  t.equal(sw(card, '0020000003888888'), '9000');
  const badReload = macApdu(card, info.keys.ssseReload, 0x80, 0x5e, 0x00, 0x00, h('777777'));
  badReload[badReload.length - 1]! ^= 1;
  t.equal(sw(card, badReload), '6988');

  // Block the PIN, then unblock it with the PUK (MAC only), then with a new PIN.
  for (const expected of ['63C2', '63C1', '63C0', '6983']) t.equal(sw(card, '0020000003000000'), expected);
  t.equal(sw(card, '0020000003888888'), '6983', 'blocked');
  t.equal(sw(card, '00200000'), '6983');
  const badUnblock = macApdu(card, info.keys.sssePuk, 0x84, 0x24, 0x00, 0x00);
  badUnblock[5]! ^= 1;
  t.equal(sw(card, badUnblock), '6988');
  t.equal(sw(card, macApdu(card, info.keys.sssePuk, 0x84, 0x24, 0x00, 0x00)), '9000');
  t.equal(sw(card, '00200000'), '63C3');
  t.equal(sw(card, '0020000003888888'), '9000');
  t.equal(sw(card, macApdu(card, info.keys.sssePuk, 0x84, 0x24, 0x00, 0x00, h('2468'))), '9000', 'unblock with a new PIN');
  t.equal(sw(card, '00200000022468'), '9000');
  t.equal(sw(card, macApdu(card, info.keys.sssePuk, 0x84, 0x24, 0x01, 0x00)), '6A86');
  t.equal(sw(card, macApdu(card, info.keys.sssePuk, 0x84, 0x24, 0x00, 0x00, h('2A'))), '6A80');
  t.equal(card.internalErrors, 0);
});

t.test('UPDATE with MAC: 04 D6 and 04 DC', async (t) => {
  const { card, info } = personalized();
  card.powerOn('contact');
  t.equal(selectSsse(card), '9000');
  // EF07 (SFI 7): update condition 31 = MAC under line-protection key 01 (SM4).
  const data = h('F1F2F3F4F5F6F7F8');
  t.equal(sw(card, apdu(0x00, 0xd6, 0x87, 0x00, data)), '6982', 'plain UPDATE refused');
  t.equal(sw(card, macApdu(card, info.keys.ssseLine, 0x04, 0xd6, 0x87, 0x00, data)), '9000');
  t.equal(sw(card, '0020000003123456'), '9000');
  t.equal(send(card, '00B0870008').hex, toHex(data) + '9000');
  const wrong = macApdu(card, info.keys.ssseLine, 0x04, 0xd6, 0x87, 0x00, data);
  wrong[wrong.length - 2]! ^= 0x80;
  t.equal(sw(card, wrong), '6988');
  t.equal(sw(card, '04D6870005' + 'AA01020304'), '6984', 'no challenge');

  // 04 DC on a SIMPLE-TLV record file whose update condition is a MAC.
  const blankCard = blank();
  t.equal(extAuth(blankCard, 0x00, TRANSPORT), '9000');
  t.equal(sw(blankCard, apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf30, create: 0x20, keyWrite: 0xff }))), '9000');
  const line: Key = { alg: 'des3', value: h('A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8') };
  t.equal(sw(blankCard, apdu(0x80, 0xd4, 0, 0, keyBlock(0x06, 0x04, 0x01, 1, 5, line.value))), '9000');
  t.equal(sw(blankCard, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef31, sfi: 0x11, type: 'linear-variable-tlv', recordLength: 16, records: 4, read: 0x00, update: 0x34, append: 0x00 }))), '9000');
  t.equal(sw(blankCard, '00E2008804' + '0A020102'), '9000');
  t.equal(sw(blankCard, macApdu(blankCard, line, 0x04, 0xdc, 0x0a, (0x11 << 3) | 4, h('0A020304'))), '9000', '04 DC <tag> <SFI<<3|4> (blank card: a MAC still works)');
  t.equal(send(blankCard, '00B20A8C00').hex, '0A020304' + '9000');
  const bad = macApdu(blankCard, line, 0x04, 0xdc, 0x0a, (0x11 << 3) | 4, h('0A020506'));
  bad[bad.length - 3]! ^= 1;
  t.equal(sw(blankCard, bad), '6988');
  t.equal(send(blankCard, '00B20A8C00').hex, '0A020304' + '9000', 'unchanged after a wrong MAC');
});

t.test('APPLICATION BLOCK / UNBLOCK', async (t) => {
  const { card, info } = personalized();
  card.powerOn('contact');
  t.equal(selectSsse(card), '9000');
  t.equal(sw(card, apdu(0x84, 0x1e, 0x00, 0x00, h('00000000'))), '6984', 'no challenge');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x00)), '9000', 'temporary block');
  t.equal(sw(card, '00B2012C00'), '6A81', 'a blocked application refuses READ RECORD');
  t.equal(sw(card, '0020000003123456'), '6A81');
  const fci = send(card, `00A404000F${SSSE}00`);
  t.equal(fci.swHex, '6283', 'SELECT answers the FCI with "selected file deactivated"');
  t.match(toHex(fci.data), /8A0104/, 'LCS 04 (deactivated) in the FCI');
  t.equal(sw(card, '00A4040C06D15600000500'), '6283', 'a DF under a blocked DF is blocked too');
  t.equal(selectSsse(card), '6283');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x18, 0x00, 0x01)), '6A86', 'UNBLOCK P2 must be 00');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x18, 0x00, 0x00)), '9000', 'unblock');
  t.equal(sw(card, '00B2012C00').slice(0, 2), '90');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x18, 0x00, 0x00)), '6985', 'not blocked');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x02)), '6A86');
  // The block is persistent.
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x00)), '9000');
  card.powerOff();
  card.powerOn('contact');
  t.equal(selectSsse(card), '6283', 'still blocked after a power cycle');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x18, 0x00, 0x00)), '9000');
  // Permanent block: the application can no longer be selected.
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x01)), '9000', 'permanent block');
  t.equal(sw(card, '00B2012C00'), '6A81');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x18, 0x00, 0x00)), '6985', 'a permanent block cannot be lifted');
  t.equal(selectSsse(card), '6A81');
  t.equal(sw(card, '00A4040C06D15600000500'), '6A81', 'nor anything under it');
  t.equal(sw(card, '00A4000C023F00'), '9000', 'the MF is fine');
  t.equal(sw(card, macApdu(card, info.keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x00)), '6985', 'the MF cannot be application-blocked');
});

t.test('CARD BLOCK', async (t) => {
  const { card, info } = personalized();
  card.powerOn('contact');
  const wrong = macApdu(card, info.keys.cardBlock, 0x84, 0x16, 0x00, 0x00);
  wrong[6]! ^= 1;
  t.equal(sw(card, wrong), '6988');
  t.equal(sw(card, macApdu(card, info.keys.cardBlock, 0x84, 0x16, 0x01, 0x00)), '6A88', 'no card-block key 01');
  t.equal(sw(card, macApdu(card, info.keys.cardBlock, 0x84, 0x16, 0x00, 0x00)), '9000');
  t.equal(card.lifecycle, 'blocked');
  for (const cmd of ['00A4000C023F00', '0084000008', `00A404000F${SSSE}`, '80EA0000', '00C0000010']) t.equal(sw(card, cmd), '6A81', `${cmd.slice(0, 8)} → 6A81`);
  t.equal(sw(card, 'FFA4000000'), '6E00', 'a malformed class is still refused as such');
  card.powerOff();
  card.powerOn('contactless');
  t.equal(sw(card, '00A4040C0E325041592E5359532E4444463031'), '6A81', 'for ever, on both interfaces');
});

t.test('END OF PERSONALIZATION and the life cycle', async (t) => {
  const card = blank();
  t.equal(card.lifecycle, 'blank');
  t.equal(sw(card, '80EA0000'), '6982', 'needs key 00 at the MF');
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  // While blank, the personalization authority satisfies every condition but NEVER.
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef40, sfi: 2, type: 'transparent', size: 4, read: 0x11, update: 0x3f }))), '9000');
  t.equal(sw(card, '00D6000002ABCD'), '9000', 'update condition MAC key F, satisfied by the authority');
  t.equal(send(card, '00B0000002').hex, 'ABCD9000', 'read condition PIN 1, satisfied by the authority');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef41, type: 'transparent', size: 4, read: 0xff, update: 0x00 }))), '9000');
  t.equal(sw(card, '00B0000002'), '6982', 'NEVER is never');
  t.equal(sw(card, '00A4000C023F00'), '9000');
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, '80EA00000100'), '6700', 'no data field');
  t.equal(sw(card, '80EA0100'), '6A86');
  t.equal(sw(card, '80EA0000'), '9000');
  t.equal(card.lifecycle, 'personalized');
  t.equal(sw(card, '80EA0000'), '6985', 'only once');
  t.equal(sw(card, '00B0820002'), '6982', 'conditions are enforced now');
  t.match(send(card, '00A40004023F00').hex, /8A0105/, 'LCS 05 operational');
  // After personalization, plain WRITE KEY and CREATE FILE follow the DF's own conditions (MF: key 00).
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x03, 0x01, 0x01, 1, 5, new Uint8Array(16)))), '9000');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf50, create: 0xff, keyWrite: 0xff }))), '9000');
  t.equal(sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x03, 0x01, 0x01, 1, 5, new Uint8Array(16)))), '6982', 'DF50: plain WRITE KEY never');
  t.equal(sw(card, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef01, type: 'transparent', size: 4, read: 0, update: 0 }))), '6982', 'DF50: CREATE FILE never');

  const { card: perso } = personalized();
  perso.powerOn('contact');
  t.equal(perso.lifecycle, 'personalized');
  t.equal(extAuth(perso, 0x00, TRANSPORT), '63CE', 'the transport key was replaced during personalization');
});
