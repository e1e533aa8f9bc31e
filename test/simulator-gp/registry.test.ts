// The GP registry through the card's commands (GP Card Specification 2.3.1 §11.2 DELETE, §11.4
// GET STATUS, §11.5 INSTALL, §11.6 LOAD), with load files built here per the Java Card CAP format
// (Header component tag 1 with magic DECAFFED, Applet component tag 3, …).
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { hash } from '../../crypto/index.js';
import { parseTlv } from '../../iso7816/index.js';
import { createGpCard, saveGpCardImage, SSD_MODULE_AID, SSD_PACKAGE_AID, type GpCard } from '../../simulator/gp/index.js';
import {
  capDataBlock,
  cmd,
  deleteAid,
  getStatus,
  h,
  installForInstall,
  installForLoad,
  KEY40,
  loadCommands,
  loadFileOf,
  openSession,
  Scp02Host,
  Scp03Host,
  sameKeys,
  send,
  swHex,
  type Session,
} from './fixtures/host.js';

const PKG = h('A0000000FF0101');
const APPLET1 = h('A0000000FF010101');
const APPLET2 = h('A0000000FF010102');

function card03(level = 0x33): { card: GpCard; s: Session } {
  const card = createGpCard({ scp: '03', i: 0x70, seed: 'registry' });
  card.powerOn('contact');
  return { card, s: openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), level) };
}

function loadPackage(s: Session, dataBlock: Uint8Array, aid: Uint8Array = PKG, hashValue: Uint8Array = new Uint8Array(0), block = 200): string[] {
  const sws = [swHex(s.send(installForLoad(aid, new Uint8Array(0), hashValue)).sw)];
  for (const c of loadCommands(loadFileOf(dataBlock), block)) sws.push(swHex(s.send(c).sw));
  return sws;
}

t.test('LOAD a constructed CAP, INSTALL two instances, GET STATUS, DELETE with related objects', async (t) => {
  const { card, s } = card03();
  const block = capDataBlock({ packageAid: PKG, version: { major: 1, minor: 2 }, applets: [APPLET1, APPLET2], methodBytes: 1000 });
  const sws = loadPackage(s, block);
  t.same(sws, ['9000', ...sws.slice(1, -1).map(() => '9000'), '9000'], 'INSTALL [for load] and every LOAD block answer 9000');
  t.ok(sws.length > 3, 'several LOAD blocks');

  const lfs = s.send(getStatus(0x10, 0x02, PKG));
  t.equal(toHex(lfs.data), 'E3' + '2F' + '4F07' + toHex(PKG) + '9F700101' + 'CE020102' + '8408' + toHex(APPLET1) + '8408' + toHex(APPLET2) + 'CC08A000000151000000', 'load file with version and modules');

  const inst = s.send(installForInstall(PKG, APPLET1, h('A0000000FF01010101'), { params: h('0102') }));
  t.equal(toHex(inst.data) + swHex(inst.sw), '009000', 'INSTALL [for install and make selectable]');
  t.equal(swHex(s.send(installForInstall(PKG, APPLET2, h('A0000000FF01010201'), { selectable: false })).sw), '9000', 'INSTALL [for install] only');
  t.equal(swHex(s.send(installForInstall(PKG, APPLET1, h('A0000000FF01010101'))).sw), '6A80', 'same instance AID again');
  t.equal(swHex(s.send(installForInstall(PKG, h('A0000000FF010199'), h('A0000000FF01019901'))).sw), '6A88', 'module not in the package');
  t.equal(swHex(s.send(installForInstall(h('A0000000FF0199'), APPLET1, h('A0000000FF01019902'))).sw), '6A88', 'unknown load file');

  const apps = s.send(getStatus(0x40));
  const nodes = parseTlv(apps.data);
  t.same(
    nodes.map((n) => [toHex(n.children!.find((c) => c.tag === 0x4f)!.value), toHex(n.children!.find((c) => c.tag === 0x9f70)!.value)]),
    [
      ['A0000000FF01010101', '07'],
      ['A0000000FF01010201', '03'],
    ],
    'applications with their life cycle states',
  );
  const legacy = s.send(getStatus(0x40, 0x00));
  t.equal(toHex(legacy.data), '09A0000000FF01010101' + '0700' + '09A0000000FF01010201' + '0300', 'legacy format (P2 00)');
  const legacyLf = s.send(getStatus(0x10, 0x00, PKG));
  t.equal(toHex(legacyLf.data), '07' + toHex(PKG) + '0100' + '02' + '08' + toHex(APPLET1) + '08' + toHex(APPLET2), 'legacy load files and modules');
  t.equal(swHex(s.send(getStatus(0x40, 0x02, h('B0'))).sw), '6A88', 'nothing matches the search criteria');

  t.equal(swHex(send(card, '00A4040009A0000000FF01010201').sw), '6A82', 'an INSTALLED (not SELECTABLE) application cannot be selected');
  const s2 = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
  const mk = cmd(0x80, 0xe6, 0x08, 0x00, concat(h('0000'), h('09A0000000FF01010201'), h('0100'), h('00'), h('00')), 256);
  t.equal(swHex(s2.send(mk).sw), '9000', 'INSTALL [for make selectable]');
  t.equal(swHex(s2.send(mk).sw), '6985', 'only from INSTALLED');
  t.equal(swHex(send(card, '00A4040009A0000000FF01010201').sw), '9000', 'now selectable (the inert applet model answers)');
  t.equal(swHex(send(card, '00B0000000').sw), '6D00', 'the inert model refuses other commands');

  const s3 = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x33);
  t.equal(swHex(s3.send(deleteAid(PKG)).sw), '6985', 'DELETE of a load file with instances, without related objects');
  const del = s3.send(deleteAid(PKG, true));
  t.equal(toHex(del.data) + swHex(del.sw), '009000', 'DELETE [and related objects]');
  const image = saveGpCardImage(card);
  t.equal(image.applications.length, 0, 'instances gone');
  t.same(
    image.loadFiles.map((lf) => lf.aid),
    [toHex(SSD_PACKAGE_AID)],
    'only the built-in SSD package remains',
  );
  t.equal(swHex(s3.send(deleteAid(SSD_PACKAGE_AID)).sw), '6985', 'built-in load files stay');
  t.equal(swHex(s3.send(deleteAid(h('A000000151000000'))).sw), '6985', 'the ISD stays');
  t.equal(card.internalErrors, 0);
});

t.test('load file data block hash (SHA-1 and SHA-256) from INSTALL [for load]', async (t) => {
  const block = capDataBlock({ packageAid: PKG, applets: [APPLET1] });
  for (const alg of ['sha1', 'sha256'] as const) {
    const { card, s } = card03();
    t.equal(loadPackage(s, block, PKG, hash(alg, block)).at(-1), '9000', `${alg}: right hash accepted`);
    const bad = hash(alg, block);
    bad[0]! ^= 1;
    const { s: s2, card: card2 } = card03();
    t.equal(loadPackage(s2, block, PKG, bad).at(-1), '6A80', `${alg}: wrong hash refused at the last block`);
    t.equal(saveGpCardImage(card2).loadFiles.length, 1, `${alg}: nothing was added`);
    t.equal(card.internalErrors + card2.internalErrors, 0);
  }
  const { s } = card03();
  t.equal(swHex(s.send(installForLoad(PKG, new Uint8Array(0), new Uint8Array(16))).sw), '6A80', 'a 16-byte hash is neither SHA-1 nor SHA-256');
});

t.test('bad load files and LOAD sequences', async (t) => {
  const good = capDataBlock({ packageAid: PKG, applets: [APPLET1], methodBytes: 500 });
  const cases: [string, Uint8Array][] = [
    ['wrong magic', concat(good.subarray(0, 3), h('DECAFFEE'), good.subarray(7))],
    ['Header not first', concat(capDataBlock({ packageAid: PKG }).subarray(3 + 0x11), good)],
    ['component runs past the end', good.subarray(0, good.length - 1)],
    ['unknown component tag', concat(good, h('200001FF'))],
    ['package AID differs from INSTALL [for load]', capDataBlock({ packageAid: h('A0000000FF0102'), applets: [APPLET1] })],
    ['truncated Applet component', concat(good.subarray(0, 3 + 0x11 + 33), h('0300050108A000'))],
  ];
  for (const [what, block] of cases) {
    const { card, s } = card03();
    const sws = loadPackage(s, block);
    t.equal(sws.at(-1), '6A80', what);
    t.equal(saveGpCardImage(card).loadFiles.length, 1, `${what}: registry unchanged`);
    t.equal(card.internalErrors, 0, `${what}: no internal error`);
  }
  {
    const { s } = card03();
    t.equal(swHex(s.send(loadCommands(loadFileOf(good))[0]!).sw), '6985', 'LOAD without INSTALL [for load]');
  }
  {
    const { s } = card03();
    s.send(installForLoad(PKG));
    const blocks = loadCommands(loadFileOf(good), 100);
    t.equal(swHex(s.send(blocks[0]!).sw), '9000');
    t.equal(swHex(s.send(blocks[2]!).sw), '6A86', 'a block skipped');
    t.equal(swHex(s.send(blocks[1]!).sw), '6985', 'and the load is abandoned');
  }
  {
    const { card, s } = card03();
    s.send(installForLoad(PKG));
    const blocks = loadCommands(loadFileOf(good), 100);
    s.send(blocks[0]!);
    send(card, '00A4040000');
    const s2 = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
    t.equal(swHex(s2.send(blocks[1]!).sw), '6985', 'a new session does not continue an old LOAD');
  }
  {
    const card = createGpCard({ scp: '03', memory: 300 });
    card.powerOn('contact');
    const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x01);
    t.same(loadPackage(s, capDataBlock({ packageAid: PKG, methodBytes: 2000 })).slice(0, 4), ['9000', '9000', '6A84', '6985'], 'not enough memory: 6A84, and the load is abandoned');
  }
  {
    const { s } = card03();
    t.equal(swHex(s.send(installForLoad(h('A000000151000000'))).sw), '6A80', 'load file AID = ISD AID');
    t.equal(swHex(s.send(installForLoad(PKG, h('A0000000FFFFFF'))).sw), '6A88', 'unknown security domain');
  }
});

t.test('GET STATUS continuation with 6310', async (t) => {
  const { card, s } = card03(0x33);
  t.equal(loadPackage(s, capDataBlock({ packageAid: PKG, applets: [APPLET1] })).at(-1), '9000');
  const aids: string[] = [];
  for (let k = 0; k < 20; k++) {
    const aid = concat(APPLET1, h('0000000000'), Uint8Array.of(k));
    aids.push(toHex(aid));
    t.equal(swHex(s.send(installForInstall(PKG, APPLET1, aid)).sw), '9000', `instance ${k}`);
  }
  const seen: string[] = [];
  let r = s.send(getStatus(0x40));
  let rounds = 1;
  t.equal(swHex(r.sw), '6310', 'first response says more');
  for (;;) {
    t.ok(r.data.length <= 239, `response ${rounds} fits with R-ENC and R-MAC`);
    for (const n of parseTlv(r.data)) seen.push(toHex(n.children!.find((c) => c.tag === 0x4f)!.value));
    if (r.sw !== 0x6310) break;
    r = s.send(getStatus(0x40, 0x03));
    rounds++;
  }
  t.equal(swHex(r.sw), '9000');
  t.ok(rounds >= 3, `${rounds} rounds`);
  t.same(seen, aids, 'every instance exactly once, in order');
  t.equal(swHex(s.send(getStatus(0x40, 0x03)).sw), '6985', '"next" with nothing pending');
  const legacy = s.send(getStatus(0x40, 0x00));
  t.equal(swHex(legacy.sw), '6310', 'legacy format continues too');
  t.equal(card.internalErrors, 0);
});

t.test('Supplementary Security Domain from the built-in module; DELETE of an SD with its applications', async (t) => {
  const card = createGpCard({ scp: '02', i: 0x55 });
  card.powerOn('contact');
  const s = openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x13);
  const SSD = h('A00000015153504100');
  t.equal(swHex(s.send(installForInstall(SSD_PACKAGE_AID, SSD_MODULE_AID, SSD, { privileges: h('808000') })).sw), '9000', 'SSD installed');
  t.equal(swHex(s.send(installForInstall(SSD_PACKAGE_AID, SSD_MODULE_AID, h('A00000015153504101'))).sw), '6A80', 'an SSD module needs the Security Domain privilege');
  t.equal(loadPackage(s, capDataBlock({ packageAid: PKG, applets: [APPLET1] })).at(-1), '9000');
  t.equal(swHex(s.send(installForInstall(PKG, APPLET1, h('A0000000FF01010101'), { privileges: h('80') })).sw), '6A80', 'an applet cannot take the SD privilege');
  const gs = s.send(getStatus(0x40));
  const sd = parseTlv(gs.data)[0]!;
  t.equal(toHex(sd.children!.find((c) => c.tag === 0xc5)!.value), '808000', 'SD privileges');
  const sel = send(card, '00A4040009' + toHex(SSD));
  t.equal(swHex(sel.sw), '9000', 'SSD selectable');
  t.equal(toHex(sel.data), '6F' + '11' + '8409' + toHex(SSD) + 'A5049F6501FF', 'SSD FCI');
  t.equal(swHex(send(card, '8050000008000000000000000000').sw), '6A88', 'the SSD has no keys');

  // A package loaded for the SSD, and an instance of it: both associated with the SSD.
  const s2 = openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x13);
  const PKG2 = h('A0000000FF0201');
  t.equal(swHex(s2.send(installForLoad(PKG2, SSD)).sw), '9000', 'INSTALL [for load] naming the SSD');
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: PKG2, applets: [h('A0000000FF020101')] })))) s2.send(c);
  t.equal(swHex(s2.send(installForInstall(PKG2, h('A0000000FF020101'), h('A0000000FF02010101'))).sw), '9000');
  const app = parseTlv(s2.send(getStatus(0x40, 0x02, h('A0000000FF0201'))).data)[0]!;
  t.equal(toHex(app.children!.find((c) => c.tag === 0xcc)!.value), toHex(SSD), 'the instance is associated with the SSD');
  t.equal(swHex(s2.send(deleteAid(SSD)).sw), '6985', 'DELETE of an SD with associated objects needs "related objects"');
  t.equal(toHex(s2.send(deleteAid(SSD, true)).data), '00', 'DELETE [and related objects] of the SSD');
  const image = saveGpCardImage(card);
  t.same(image.applications.map((a) => a.aid), [], 'SSD and its application are gone');
  t.notOk(image.loadFiles.some((lf) => lf.aid === toHex(PKG2)), 'and the package loaded for it');
  t.ok(image.loadFiles.some((lf) => lf.aid === toHex(PKG)), 'the ISD package stays');
  t.equal(card.internalErrors, 0);
});
