// Life cycles (GP Card Specification 2.3.1 chapter 5) through SET STATUS (§11.10) and what each
// state allows: the card (OP_READY → INITIALIZED → SECURED ⇄ CARD_LOCKED, → TERMINATED),
// applications (INSTALLED, SELECTABLE, LOCKED) and Security Domains (PERSONALIZED, P1 60).
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { parseTlv } from '../../iso7816/index.js';
import { createGpCard, SSD_MODULE_AID, SSD_PACKAGE_AID, type GpCard } from '../../simulator/gp/index.js';
import { capDataBlock, cmd, getStatus, h, installForInstall, installForLoad, KEY40, loadCommands, loadFileOf, openSession, Scp03Host, sameKeys, send, swHex, type Session } from './fixtures/host.js';

const PKG = h('A0000000FF0301');
const MOD = h('A0000000FF030101');
const APP = h('A0000000FF03010101');

const session = (card: GpCard, level = 0x03): Session => openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), level);
const setStatus = (p1: number, p2: number, data: Uint8Array = new Uint8Array(0)) => cmd(0x80, 0xf0, p1, p2, data);
const cardState = (card: GpCard): string => {
  const s = session(card);
  const isd = parseTlv(s.send(getStatus(0x80)).data)[0]!;
  return toHex(isd.children!.find((c) => c.tag === 0x9f70)!.value);
};

t.test('card life cycle: forward only, lock and unlock, terminate', async (t) => {
  const card = createGpCard({ lifeCycle: 'OP_READY' });
  card.powerOn('contact');
  t.equal(cardState(card), '01', 'OP_READY');
  let s = session(card);
  t.equal(swHex(s.send(setStatus(0x80, 0x0f)).sw), '6985', 'OP_READY → SECURED skips INITIALIZED');
  t.equal(swHex(s.send(setStatus(0x80, 0x7f)).sw), '6985', 'OP_READY → CARD_LOCKED');
  t.equal(swHex(s.send(setStatus(0x80, 0x07)).sw), '9000', 'OP_READY → INITIALIZED');
  t.equal(swHex(s.send(setStatus(0x80, 0x01)).sw), '6A86', 'back to OP_READY is not a target state');
  t.equal(swHex(s.send(setStatus(0x80, 0x0f, h('A000000151000000'))).sw), '9000', 'INITIALIZED → SECURED (with the ISD AID)');
  t.equal(swHex(s.send(setStatus(0x80, 0x07)).sw), '6985', 'SECURED → INITIALIZED');
  t.equal(swHex(s.send(setStatus(0x80, 0x7f, h('A0000000FFFF'))).sw), '6A88', 'P1 80 names another AID');
  t.equal(cardState(card), '0F');

  // Lock: only the ISD answers, with a warning; content changes are refused.
  s = session(card);
  t.equal(swHex(s.send(installForLoad(PKG)).sw), '9000');
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: PKG, applets: [MOD] })))) s.send(c);
  t.equal(swHex(s.send(installForInstall(PKG, MOD, APP)).sw), '9000');
  t.equal(swHex(s.send(setStatus(0x80, 0x7f)).sw), '9000', 'SECURED → CARD_LOCKED');
  t.equal(swHex(s.send(getStatus(0x40)).sw), '9000', 'GET STATUS still works in the same session');
  t.equal(swHex(s.send(installForLoad(h('A0000000FF0302'))).sw), '6985', 'no card content management while locked');
  const sel = send(card, '00A4040000');
  t.equal(swHex(sel.sw), '6283', 'SELECT ISD: FCI with warning 6283');
  t.equal(sel.data[0], 0x6f);
  t.equal(swHex(send(card, '00A4040009' + toHex(APP)).sw), '6A81', 'applications cannot be selected');
  t.equal(cardState(card), '7F');
  s = session(card);
  t.equal(swHex(s.send(setStatus(0x80, 0x0f)).sw), '9000', 'CARD_LOCKED → SECURED');
  t.equal(swHex(send(card, '00A4040009' + toHex(APP)).sw), '9000', 'applications selectable again');

  // Terminate: final; only GET DATA answers, also after a power cycle.
  s = session(card);
  t.equal(swHex(s.send(setStatus(0x80, 0xff)).sw), '9000', 'SECURED → TERMINATED');
  for (const [what, apdu] of [
    ['SELECT', '00A4040000'],
    ['INITIALIZE UPDATE', '8050000008010203040506070800'],
    ['GET STATUS', '80F28002024F0000'],
  ] as const) {
    t.equal(swHex(send(card, apdu).sw), '6A81', `TERMINATED: ${what} refused`);
  }
  t.equal(swHex(send(card, '80CA9F7F00').sw), '9000', 'TERMINATED: GET DATA CPLC answers');
  card.powerOff();
  t.equal(toHex(card.powerOn('contact')).slice(0, 2), '3B');
  t.equal(swHex(send(card, '00A4040000').sw), '6A81', 'still terminated after a power cycle');
  t.equal(card.internalErrors, 0);
});

t.test('application life cycle: lock and unlock', async (t) => {
  const card = createGpCard();
  card.powerOn('contact');
  const s = session(card);
  s.send(installForLoad(PKG));
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: PKG, applets: [MOD] })))) s.send(c);
  s.send(installForInstall(PKG, MOD, APP));
  t.equal(swHex(s.send(setStatus(0x40, 0x80, APP)).sw), '9000', 'lock');
  t.equal(swHex(s.send(setStatus(0x40, 0x80, APP)).sw), '6985', 'lock twice');
  const entry = parseTlv(s.send(getStatus(0x40)).data)[0]!;
  t.equal(toHex(entry.children!.find((c) => c.tag === 0x9f70)!.value), '87', 'LOCKED keeps the state below b8');
  t.equal(swHex(send(card, '00A4040009' + toHex(APP)).sw), '6A82', 'a locked application cannot be selected');
  const s2 = session(card);
  t.equal(swHex(s2.send(setStatus(0x40, 0x00, APP)).sw), '9000', 'unlock');
  t.equal(swHex(s2.send(setStatus(0x40, 0x00, APP)).sw), '6985', 'unlock twice');
  t.equal(swHex(s2.send(setStatus(0x40, 0x80, h('A0000000FFFFFF'))).sw), '6A88', 'absent application');
  t.equal(swHex(s2.send(setStatus(0x40, 0x80, h('A000000151000000'))).sw), '6985', 'the ISD is locked with P1 80');
  t.equal(swHex(s2.send(setStatus(0x40, 0x05, APP)).sw), '6A86', 'unknown state control');
  t.equal(swHex(s2.send(setStatus(0x20, 0x80, APP)).sw), '6A86', 'unknown P1');
  t.equal(swHex(send(card, '00A4040009' + toHex(APP)).sw), '9000', 'selectable again');
  t.equal(card.internalErrors, 0);
});

t.test('Security Domain: PERSONALIZED, and P1 60 locks it with its applications', async (t) => {
  const card = createGpCard();
  card.powerOn('contact');
  const s = session(card);
  const SSD = h('A0000001515350410A');
  s.send(installForInstall(SSD_PACKAGE_AID, SSD_MODULE_AID, SSD, { privileges: h('800000') }));
  s.send(installForLoad(PKG, SSD));
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: PKG, applets: [MOD] })))) s.send(c);
  t.equal(swHex(s.send(installForInstall(PKG, MOD, APP)).sw), '9000');
  t.equal(swHex(s.send(setStatus(0x40, 0x0f, SSD)).sw), '9000', 'SELECTABLE → PERSONALIZED');
  t.equal(swHex(s.send(setStatus(0x40, 0x0f, APP)).sw), '6A86', 'PERSONALIZED is for SDs');
  t.equal(swHex(s.send(setStatus(0x60, 0x80, APP)).sw), '6A80', 'P1 60 needs an SD');
  t.equal(swHex(s.send(setStatus(0x60, 0x80, SSD)).sw), '9000', 'lock the SD and its applications');
  const states = parseTlv(s.send(getStatus(0x40)).data).map((n) => toHex(n.children!.find((c) => c.tag === 0x9f70)!.value));
  t.same(states, ['8F', '87'], 'both locked');
  t.equal(swHex(s.send(setStatus(0x60, 0x00, SSD)).sw), '9000', 'and unlock them');
  const again = parseTlv(s.send(getStatus(0x40)).data).map((n) => toHex(n.children!.find((c) => c.tag === 0x9f70)!.value));
  t.same(again, ['0F', '07']);
  t.equal(card.internalErrors, 0);
});
