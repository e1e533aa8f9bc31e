// Generation-3 PKI application (LD/T 32): PIN hash (SM3 test vector), challenge-response
// VERIFY 00 20 01 81, on-card SM2 key generation 80 40, signing (PSO CDS, our choice), private
// keys that never leave, certificates in chunks; and the social-security layout: SSSE, DF01–DF04
// by AID, EF05/EF06 read by tag, and the PPSE on the contactless interface only.
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import { sm2Verify } from '../../crypto/sm2.js';
import { encodeAn } from '../../iso7816/index.js';
import type { SsCard } from '../../simulator/index.js';
import { apdu, challenge, extAuth, h, personalized, send, sw } from './fixtures/helpers.js';

const PKI_DDF = '504B492EC9E7BBE1B1A3D5CF';
const PKI_ADF = '53532E434552542E41444631';
const SSSE = '7378312E73682EC9E7BBE1B1A3D5CF';
/** LD/T 32: SM3 of the BCD PIN bytes 12 34 56. */
const PIN_HASH = '3DE741F445DD357BEA4E6C3FE6437036F62B5E3EC0F00D62796EDB4305ED627F';

function inAdf(card: SsCard): void {
  card.powerOn('contact');
  if (sw(card, `00A4040C0C${PKI_DDF}`) !== '9000' || sw(card, `00A4040C0C${PKI_ADF}`) !== '9000') throw new Error('PKI ADF not selectable');
}

function pkiVerify(card: SsCard, hashHex = PIN_HASH): string {
  const rnd = challenge(card, 16);
  const e = blockCipher('sm4').encryptEcb(h(hashHex).slice(0, 16), rnd);
  return sw(card, apdu(0x00, 0x20, 0x01, 0x81, e));
}

t.test('PIN hash 80 C4 (STANDARDS §2 vector)', async (t) => {
  const { card } = personalized();
  inAdf(card);
  t.equal(send(card, '80C4010305C10312345600').hex, PIN_HASH + '9000', 'the public trace, byte for byte');
  t.equal(sw(card, '80C4020305C10312345600'), '6A86', 'P1 must be 01');
  t.equal(sw(card, '80C4010205C10312345600'), '6A86', 'P2 is the PIN length');
  t.equal(sw(card, '80C4010305C20312345600'), '6A80', 'tag C1 expected');
  t.equal(sw(card, '80C4010305C10412345600'), '6A80', 'malformed TLV');
  t.equal(sw(card, '80C40103'), '6700');
});

t.test('challenge-response VERIFY 00 20 01 81', async (t) => {
  const { card } = personalized();
  inAdf(card);
  t.equal(pkiVerify(card), '9000', 'SM4-ECB(hash[0..16], 16-byte challenge)');
  t.equal(pkiVerify(card, '00'.repeat(32)), '63C5', 'wrong: 5 of 6 tries left');
  t.equal(pkiVerify(card), '9000', 'counter restored');
  t.equal(sw(card, '0020018110' + '00'.repeat(16)), '6984', 'no challenge');
  challenge(card, 8);
  t.equal(sw(card, '0020018110' + '00'.repeat(16)), '6984', 'the challenge must be 16 bytes');
  challenge(card, 16);
  t.equal(sw(card, '0020018108' + '00'.repeat(8)), '6700');
  t.equal(sw(card, '00200181'), '6700', 'P1 01 has no status query');
  t.equal(sw(card, '0020008103123456'), '9000', 'the same PIN in plain (P1 00)');
  t.equal(sw(card, '0020000103123456'), '9000', 'P2 01 (global): the search starts at the current DF');
  t.equal(sw(card, '00A4030C'), '9000', 'up to the PKI DDF');
  t.equal(sw(card, '0020008103123456'), '6A88', 'P2 81 (specific): only the current DF, which has no PIN 1');
});

t.test('SM2 key generation, signing, private keys, certificates', async (t) => {
  const { card, info } = personalized();
  inAdf(card);
  // What personalization generated is in EF 0012 and signs.
  t.equal(sw(card, '00A4020C020012'), '9000');
  const pub = send(card, '00B0000000');
  t.equal(pub.data.length, 65);
  t.equal(toHex(pub.data), toHex(info.signingPublicKey), 'EF 0012 holds 04 ‖ X ‖ Y as returned by 80 40');
  t.equal(sw(card, '00A4020C020013'), '9000');
  t.equal(sw(card, '00B0000000'), '6982', 'the private key EF is never read');
  t.equal(sw(card, '00B0000020'), '6982');

  const msg = new TextEncoder().encode('cardsmith');
  t.equal(sw(card, apdu(0x00, 0x2a, 0x9e, 0x9a, msg, 0x00)), '6982', 'signing needs PIN 1');
  t.equal(sw(card, '0020008103123456'), '9000');
  const sig = send(card, apdu(0x00, 0x2a, 0x9e, 0x9a, msg, 0x00));
  t.equal(sig.sw, 0x9000);
  t.equal(sig.data.length, 64, 'r ‖ s');
  t.ok(sm2Verify(info.signingPublicKey, msg, sig.data), 'the signature verifies under the generated public key (SM3withSM2, default ID)');
  t.notOk(sm2Verify(info.signingPublicKey, new TextEncoder().encode('other'), sig.data));
  t.equal(sw(card, apdu(0x00, 0x2a, 0x9e, 0x9b, msg, 0x00)), '6A86');
  t.equal(sw(card, '002A9E9A'), '6700');
  t.equal(sw(card, apdu(0x00, 0x2a, 0x9e, 0x9a, msg, 0x20)), '6C40', 'Le too small');

  // Regenerate: needs the ADF master key (update condition 20).
  const gen = apdu(0x80, 0x40, 0x00, 0x00, h('C0020012C2020013'), 0x00);
  t.equal(sw(card, gen), '6982');
  t.equal(extAuth(card, 0x00, info.keys.pkiMaster, 16), '9000');
  t.equal(sw(card, apdu(0x80, 0x40, 0x00, 0x00, h('C0020012C2020013'), 0x20)), '6C41', 'Le too small: refused before acting');
  t.equal(send(card, '00A4020C020012').swHex, '9000');
  t.equal(toHex(send(card, '00B0000000').data), toHex(info.signingPublicKey), 'nothing was generated');
  const fresh = send(card, gen);
  t.equal(fresh.sw, 0x9000);
  t.equal(fresh.data.length, 65);
  t.equal(fresh.data[0], 0x04, 'uncompressed point');
  t.not(toHex(fresh.data), toHex(info.signingPublicKey), 'a new key pair');
  t.equal(toHex(send(card, '00B0000000').data), toHex(fresh.data), 'written to EF 0012');
  t.equal(sw(card, '0020008103123456'), '9000');
  const sig2 = send(card, apdu(0x00, 0x2a, 0x9e, 0x9a, msg, 0x00));
  t.ok(sm2Verify(fresh.data, msg, sig2.data), 'and EF 0013 holds the matching private key');
  t.equal(sw(card, apdu(0x80, 0x40, 0x00, 0x00, h('C0020013C2020012'), 0x00)), '6981', 'swapped FIDs');
  t.equal(sw(card, apdu(0x80, 0x40, 0x00, 0x00, h('C0020012C2020099'), 0x00)), '6A82', 'no such EF');
  t.equal(sw(card, apdu(0x80, 0x40, 0x00, 0x00, h('C0020012'), 0x00)), '6A80', 'one TLV missing');
  t.equal(sw(card, apdu(0x80, 0x40, 0x00, 0x00, h('C00200'), 0x00)), '6A80', 'broken TLV');
  t.equal(sw(card, apdu(0x80, 0x40, 0x01, 0x00, h('C0020012C2020013'), 0x00)), '6A86');

  // The certificate, read back in chunks.
  t.equal(sw(card, '00A4020C020018'), '9000');
  let cert: Uint8Array = new Uint8Array(0);
  for (let off = 0; off < info.signingCertificate.length; off += 0x80) {
    const n = Math.min(0x80, info.signingCertificate.length - off);
    cert = concat(cert, send(card, apdu(0x00, 0xb0, off >> 8, off & 0xff, undefined, n)).data);
  }
  t.equal(toHex(cert), toHex(info.signingCertificate), 'certificate written by UPDATE BINARY in chunks');
  t.equal(card.internalErrors, 0);
});

t.test('SSSE, DF01–DF04 and EF05/EF06 by tag', async (t) => {
  const { card, info } = personalized();
  card.powerOn('contact');
  const fci = send(card, `00A404000F${SSSE}00`);
  t.equal(fci.sw, 0x9000);
  t.match(toHex(fci.data), new RegExp(`^6F..8201388302DDF1840F${SSSE}8102....8A0105860320FF00$`));
  // EF05 (SFI 05): 00 B2 <tag> 2C, as the public traces read it.
  t.equal(send(card, '00B2072C00').hex, '0709' + toHex(encodeAn(info.cardNumber, 9)) + '9000', 'tag 07 card number');
  t.equal(send(card, '00B2032C00').hex, '0304' + toHex(encodeAn('3.00', 4)) + '9000', 'tag 03 spec version');
  t.equal(send(card, '00B2012C00').data.length, 18, 'tag 01: 16-byte card identification code');
  t.equal(toHex(send(card, '00B2012C00').data.slice(2 + 3, 2 + 8)), 'D156000005', 'with the MOHRSS RID after the city code');
  t.equal(sw(card, '00B2083400'), '6982', 'EF06 needs the PIN');
  t.equal(sw(card, '0020000003123456'), '9000');
  t.equal(send(card, '00B2083400').hex, '0812' + toHex(encodeAn('11010519491231002X', 18)) + '9000');
  t.equal(send(card, '00B20A3400').hex, '0A01319000', 'sex "1"');
  t.equal(sw(card, '00DC0A3403' + '0A0132'), '6982', 'update needs external authentication with key 0D');
  t.equal(extAuth(card, 0x0d, info.keys.ssseUpdate), '9000');
  t.equal(sw(card, '00DC0A3403' + '0A0132'), '9000', '00 DC <tag> <SFI<<3|04> after external authentication');
  t.equal(send(card, '00B20A3400').hex, '0A01329000');
  for (const [i, aid] of ['D15600000500', 'D15600000501', 'D15600000502', 'D15600000503'].entries()) {
    const r = send(card, `00A4040006${aid}00`);
    t.equal(r.sw, 0x9000, `DF0${i + 1} by AID`);
    t.match(toHex(r.data), new RegExp(`8302DF0${i + 1}8406${aid}`));
  }
  t.equal(sw(card, '00A4040C05D156000005'), '9000', 'the RID alone selects the first application (partial name)');
  // DF04's cyclic EF and DF02's linear-fixed EF from the example.
  t.equal(sw(card, '00A4040C06D15600000501'), '9000');
  t.equal(send(card, '00B2035400').hex, '03'.repeat(16) + '9000', 'DF02 EF0A record 3');
});

t.test('PPSE answers on the contactless interface only', async (t) => {
  const { card } = personalized();
  card.powerOn('contactless');
  const ppse = send(card, '00A404000E325041592E5359532E444446303100');
  // 6F 24 | 84 0E "2PAY.SYS.DDF01" | A5 12 | BF0C 0F | 61 0D | 4F 08 A000000333010101 | 87 01 01
  t.equal(ppse.hex, '6F24840E325041592E5359532E4444463031A512BF0C0F610D4F08A000000333010101870101' + '9000');
  t.equal(sw(card, `00A4040C0F${SSSE}`), '9000', 'the SSSE is reachable contactless too');
  card.powerOff();
  card.powerOn('contact');
  t.equal(sw(card, '00A404000E325041592E5359532E444446303100'), '6A82', 'over the contacts the PPSE does not exist');
  t.equal(sw(card, '00A4040C09325041592E5359532E'), '6A82', 'not even by partial name');
});
