// The built-in CPS data store applet: loaded as a constructed CAP under its test package AID,
// personalized with INSTALL [for personalization] + STORE DATA (EMV CPS 1.1 DGIs; secret DGIs
// 8000-8FFF encrypted under the DEK), then read back through SELECT, READ RECORD and GET DATA.
// Also STORE DATA to the ISD itself (IIN, CIN).
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { buildTlv, encodeDgi } from '../../iso7816/index.js';
import { createGpCard, CPS_MODULE_AID, CPS_PACKAGE_AID, gpCardImageJson, saveGpCardImage, type GpCard } from '../../simulator/gp/index.js';
import {
  capDataBlock,
  cmd,
  h,
  installForInstall,
  installForLoad,
  installForPersonalization,
  KEY40,
  loadCommands,
  loadFileOf,
  openSession,
  Scp02Host,
  Scp03Host,
  sameKeys,
  send,
  swHex,
  type HostChannel,
  type Session,
} from './fixtures/host.js';

const APP = h('A0000000031010');
const RECORD_1_1 = buildTlv(0x70, [buildTlv(0x57, h('4761739001010010D22122011143804400000F')), buildTlv(0x5f20, new TextEncoder().encode('CARDSMITH/TEST'))]);
const RECORD_2_1 = buildTlv(0x70, [buildTlv(0x5a, h('4761739001010010')), buildTlv(0x5f24, h('221231'))]);
const FCI_A5 = concat(buildTlv(0x50, new TextEncoder().encode('CARDSMITH DEBIT')), buildTlv(0x87, h('01')));
const SECRET = h('00112233445566778899AABBCCDDEEFF');
const LONG_RECORD = buildTlv(0x70, [buildTlv(0x9f46, new Uint8Array(176).fill(0xab)), buildTlv(0x9f47, h('03')), buildTlv(0x9f48, new Uint8Array(100).fill(0xcd))]);

function installCps(card: GpCard, s: Session): void {
  if (swHex(s.send(installForLoad(CPS_PACKAGE_AID)).sw) !== '9000') throw new Error('INSTALL [for load]');
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: CPS_PACKAGE_AID, applets: [CPS_MODULE_AID] })))) s.send(c);
  if (swHex(s.send(installForInstall(CPS_PACKAGE_AID, CPS_MODULE_AID, APP)).sw) !== '9000') throw new Error('INSTALL [for install]');
  if (card.internalErrors !== 0) throw new Error('internal error');
}

function storeData(p1: number, p2: number, data: Uint8Array) {
  return cmd(0x80, 0xe2, p1, p2, data, 256);
}

function personalize(t: Pick<typeof import('tap').default, 'equal'>, s: Session, ch: HostChannel, label: string): void {
  t.equal(toHex(s.send(installForPersonalization(APP)).data), '00', `${label}: INSTALL [for personalization]`);
  const secret = ch.dekEncrypt(SECRET);
  const long = encodeDgi(0x0301, LONG_RECORD);
  const blocks: [number, Uint8Array][] = [
    [0x08, concat(encodeDgi(0x0101, RECORD_1_1), encodeDgi(0x0201, RECORD_2_1), encodeDgi(0x9102, FCI_A5))],
    [0x08, concat(encodeDgi(0x9f4f, h('9F02065F2A029A039C0101')), encodeDgi(0x9207, buildTlv(0x9f17, h('03'))))],
    [0x68, concat(encodeDgi(0x8000, secret), encodeDgi(0x8010, ch.dekEncrypt(SECRET.slice().reverse())))],
    [0x08, long.subarray(0, 150)], // a DGI split over two commands
    [0x88, long.subarray(150)],
  ];
  blocks.forEach(([p1, data], n) => t.equal(swHex(s.send(storeData(p1, n, data)).sw), '9000', `${label}: STORE DATA block ${n}`));
}

function readBack(t: Pick<typeof import('tap').default, 'equal'>, card: GpCard, label: string): void {
  const sel = send(card, '00A4040007' + toHex(APP) + '00');
  t.equal(toHex(sel.data) + swHex(sel.sw), toHex(buildTlv(0x6f, [buildTlv(0x84, APP), buildTlv(0xa5, FCI_A5)])) + '9000', `${label}: SELECT answers the FCI from DGI 9102`);
  t.equal(toHex(send(card, '00B2010C00').data), toHex(RECORD_1_1), `${label}: READ RECORD SFI 1 record 1 = DGI 0101`);
  t.equal(toHex(send(card, '00B2011400').data), toHex(RECORD_2_1), `${label}: READ RECORD SFI 2 record 1 = DGI 0201`);
  t.equal(toHex(send(card, '00B2011C00').data), toHex(LONG_RECORD), `${label}: a record sent over two STORE DATA commands`);
  t.equal(swHex(send(card, '00B2020C00').sw), '6A83', `${label}: absent record`);
  t.equal(swHex(send(card, '00B2010800').sw), '6A86', `${label}: P2 without the record-number bit pattern`);
  t.equal(toHex(send(card, '80CA9F4F00').data), '9F4F0B9F02065F2A029A039C0101', `${label}: GET DATA 9F4F = DGI 9F4F`);
  t.equal(toHex(send(card, '80CA9F1700').data), '9F170103', `${label}: GET DATA 9F17 found inside DGI 9207`);
  t.equal(toHex(send(card, '80CA005000').data), toHex(buildTlv(0x50, new TextEncoder().encode('CARDSMITH DEBIT'))), `${label}: GET DATA 50 from the FCI DGI`);
  t.equal(swHex(send(card, '80CA800000').sw), '6A88', `${label}: a secret DGI is never returned`);
  t.equal(swHex(send(card, '80CA9F3600').sw), '6A88', `${label}: absent tag`);
  t.equal(swHex(send(card, '80A8000002830000').sw), '6D00', `${label}: other commands are not supported`);
}

t.test('CPS data store under SCP03 (AES Key-DEK)', async (t) => {
  const card = createGpCard({ scp: '03', i: 0x70, seed: 'cps' });
  card.powerOn('contact');
  const host = new Scp03Host(sameKeys(KEY40), 0x70);
  const s = openSession(card, host, 0x33);
  installCps(card, s);
  const fresh = send(card, '00A4040007' + toHex(APP) + '00');
  t.equal(toHex(fresh.data), '6F0984' + '07' + toHex(APP), 'before personalization: FCI with the AID only');
  const s2 = openSession(card, host, 0x33);
  personalize(t, s2, host, 'SCP03');
  readBack(t, card, 'SCP03');
  const stored = saveGpCardImage(card).storage[toHex(APP)]!;
  t.equal(stored['dgi:8000'], toHex(SECRET), 'the secret DGI is stored decrypted');
  t.equal(stored['dgi:8010'], toHex(SECRET.slice().reverse()));

  // The personalization survives a power cycle and an image round trip.
  card.powerOff();
  card.powerOn('contactless');
  readBack(t, card, 'after power cycle');
  const again = createGpCard({ image: gpCardImageJson(card) });
  again.powerOn('contact');
  readBack(t, again, 'after image round trip');
  t.equal(card.internalErrors + again.internalErrors, 0);
});

t.test('CPS data store under SCP02 (3DES session DEK)', async (t) => {
  const card = createGpCard({ scp: '02', i: 0x15, seed: 'cps02' });
  card.powerOn('contact');
  const host = new Scp02Host(sameKeys(KEY40), 0x15);
  const s = openSession(card, host, 0x13);
  installCps(card, s);
  personalize(t, s, host, 'SCP02');
  readBack(t, card, 'SCP02');
  t.equal(saveGpCardImage(card).storage[toHex(APP)]!['dgi:8000'], toHex(SECRET));
  t.equal(card.internalErrors, 0);
});

t.test('CPS STORE DATA refusals', async (t) => {
  const card = createGpCard({ scp: '03', i: 0x70 });
  card.powerOn('contact');
  const host = new Scp03Host(sameKeys(KEY40), 0x70);
  const s = openSession(card, host, 0x03);
  installCps(card, s);
  t.equal(swHex(s.send(storeData(0x88, 0x00, encodeDgi(0x0101, RECORD_1_1))).sw), '6A88', 'STORE DATA without INSTALL [for personalization] goes to the ISD, which keeps no DGI 0101');
  s.send(installForPersonalization(APP));
  t.equal(swHex(s.send(storeData(0x88, 0x00, encodeDgi(0x8000, SECRET))).sw), '6A80', 'a secret DGI sent in clear');
  t.equal(swHex(s.send(storeData(0xe8, 0x00, encodeDgi(0x8000, SECRET.subarray(0, 15)))).sw), '6A80', 'encrypted DGI that is not whole blocks');
  t.equal(swHex(s.send(storeData(0x08, 0x00, encodeDgi(0x0101, RECORD_1_1))).sw), '9000');
  t.equal(swHex(s.send(storeData(0x08, 0x02, encodeDgi(0x0102, RECORD_1_1))).sw), '6A86', 'block number skipped');
  t.equal(swHex(s.send(storeData(0x88, 0x00, encodeDgi(0x0101, RECORD_1_1).subarray(0, 10))).sw), '6A80', 'last block ends inside a DGI');
  t.equal(swHex(s.send(storeData(0x90, 0x00, buildTlv(0x5a, h('4761')))).sw), '6A80', 'BER-TLV structure: this applet takes DGIs');
  t.equal(swHex(s.send(installForPersonalization(h('A0000000FFFFFF'))).sw), '6A88', 'personalization of an absent application');
  t.equal(card.internalErrors, 0);
});

t.test('STORE DATA to the ISD: IIN, CIN, KDD', async (t) => {
  const card = createGpCard({ scp: '03' });
  card.powerOn('contact');
  const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
  t.equal(swHex(s.send(storeData(0x10, 0x00, buildTlv(0x42, h('123456')))).sw), '9000', 'IIN as BER-TLV');
  t.equal(swHex(s.send(storeData(0x88, 0x01, encodeDgi(0x0045, h('0102030405060708')))).sw), '9000', 'CIN as a DGI, last block');
  t.equal(toHex(send(card, '00CA004200').data), '4203123456');
  t.equal(toHex(send(card, '00CA004500').data), '45080102030405060708');
  const s2 = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
  t.equal(swHex(s2.send(storeData(0x90, 0x00, buildTlv(0x5f50, h('01')))).sw), '6A88', 'a tag the ISD does not keep');
  t.equal(swHex(s2.send(storeData(0xf0, 0x00, buildTlv(0x42, h('01')))).sw), '6A80', 'the ISD takes no encrypted data');
  t.equal(swHex(s2.send(storeData(0x90, 0x00, buildTlv(0xcf, h('0102')))).sw), '6A80', 'KDD is 10 bytes');
  t.equal(card.internalErrors, 0);
});
