// A short seeded fuzz of the simulated GP card (24,000 APDUs): random bytes, mutated valid
// commands, GP commands with random data inside an authenticated session (level 00, so the data
// reaches the parsers), wrapped and tampered commands, selection and applet traffic, power cycles.
// Every answer must be a well-formed response (at least SW1 SW2, SW1 in 61-6F or 90-9F), process()
// must never throw, and the card must never have caught an exception of its own (internalErrors).
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { encodeDgi } from '../../iso7816/index.js';
import { createGpCard, CPS_MODULE_AID, CPS_PACKAGE_AID, type GpCard } from '../../simulator/gp/index.js';
import { xorshift32 } from '../helpers/rng.js';
import {
  capDataBlock,
  cmd,
  getStatus,
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
  type Session,
} from './fixtures/host.js';

const TOTAL = 24_000;

const rng = xorshift32;

const INS = [0xa4, 0x50, 0x82, 0xca, 0xcb, 0xf2, 0xe6, 0xe8, 0xe4, 0xd8, 0xf0, 0xe2, 0xb2, 0xc0, 0x70, 0x84, 0x20, 0x00, 0xff];
const CLA = [0x00, 0x80, 0x84, 0x04, 0x01, 0x10, 0x0c, 0xff, 0x40, 0xc0, 0xa0];
const AIDS = [h('A000000151000000'), h('A0000000031010'), h('A0000001515350'), h('A000000151535041'), CPS_PACKAGE_AID, CPS_MODULE_AID, h('A0000000FF0901')];
const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x20, 0x40, 0x60, 0x7f, 0x80, 0x81, 0x88, 0x90, 0xe8, 0xff];

interface Rig {
  card: GpCard;
  make: () => Scp02Host | Scp03Host;
  scp: '02' | '03';
}

function rigs(): Rig[] {
  return [
    { card: createGpCard({ scp: '03', i: 0x70, seed: 'fuzz-a' }), make: () => new Scp03Host(sameKeys(KEY40), 0x70), scp: '03' },
    { card: createGpCard({ scp: '02', i: 0x15, seed: 'fuzz-b' }), make: () => new Scp02Host(sameKeys(KEY40), 0x15), scp: '02' },
    { card: createGpCard({ scp: '03', i: 0x71, seed: 'fuzz-c', memory: 4096 }), make: () => new Scp03Host(sameKeys(KEY40), 0x71), scp: '03' },
  ];
}

/** Loads, installs and personalizes the CPS applet so that applet code is fuzzed too. */
function prepare(r: Rig): void {
  r.card.powerOn('contact');
  const s = openSession(r.card, r.make(), 0x03);
  s.send(installForLoad(CPS_PACKAGE_AID));
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: CPS_PACKAGE_AID, applets: [CPS_MODULE_AID] })))) s.send(c);
  s.send(installForInstall(CPS_PACKAGE_AID, CPS_MODULE_AID, h('A0000000031010')));
  s.send(installForPersonalization(h('A0000000031010')));
  s.send(cmd(0x80, 0xe2, 0x88, 0x00, concat(encodeDgi(0x0101, h('7003570100')), encodeDgi(0x9102, h('500141'))), 256));
}

t.test(`seeded fuzz: ${TOTAL} APDUs, no exception, well-formed status words`, async (t) => {
  const next = rng(0x5eed);
  const byte = () => next() & 0xff;
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, byte);
  let set = rigs();
  set.forEach(prepare);
  let session: Session | undefined;
  let sessionRig: Rig | undefined;
  let malformed = 0;
  let thrown = 0;
  const sws = new Map<string, number>();
  const templates = [
    h('00A4040000'),
    h('00A4040007A0000000031010'),
    h('80CA9F7F00'),
    h('80F28002024F0000'),
    h('00B2010C00'),
    h('80CA9F1700'),
    h('8050000008010203040506070800'),
    h('80E60200100700000000FF09010000000000'),
  ];

  for (let n = 0; n < TOTAL; n++) {
    if (n % 3000 === 0 && n > 0) {
      set = rigs();
      set.forEach(prepare);
      session = undefined;
    }
    const rig = set[n % set.length]!;
    const card = rig.card;
    let apdu: Uint8Array;
    const mode = next() % 12;
    if (mode <= 2) {
      apdu = bytes(next() % 40 === 0 ? next() % 600 : next() % 64);
      if (apdu.length > 1 && next() % 2 === 0) apdu[0] = pick(CLA);
      if (apdu.length > 1 && next() % 2 === 0) apdu[1] = pick(INS);
    } else if (mode <= 4) {
      apdu = Uint8Array.from(pick(templates));
      const edits = 1 + (next() % 3);
      for (let e = 0; e < edits; e++) {
        const k = next() % 3;
        if (k === 0 && apdu.length > 0) apdu[next() % apdu.length] = byte();
        else if (k === 1) apdu = concat(apdu, bytes(1 + (next() % 4)));
        else apdu = apdu.slice(0, Math.max(0, apdu.length - 1 - (next() % 3)));
      }
    } else if (mode <= 7) {
      // GP commands with random-ish data inside a level-00 session: the data reaches the parsers.
      if (!session || sessionRig !== rig || next() % 20 === 0) {
        try {
          session = openSession(card, rig.make(), 0x00);
          sessionRig = rig;
        } catch {
          session = undefined;
        }
      }
      const ins = pick([0xf2, 0xe6, 0xe8, 0xe4, 0xd8, 0xf0, 0xe2, 0xca]);
      let data: Uint8Array;
      const shape = next() % 4;
      if (shape === 0) data = bytes(next() % 80);
      else if (shape === 1) data = concat(Uint8Array.of(0x4f, 5 + (next() % 12)), pick(AIDS), bytes(next() % 4));
      else if (shape === 2) data = concat(...Array.from({ length: 1 + (next() % 6) }, () => concat(Uint8Array.of(next() % 18), bytes(next() % 18))));
      else data = concat(Uint8Array.of(0xc4, 0x82, 0x00, next() % 200), Uint8Array.of(1, 0, 10), h('DECAFFED'), bytes(next() % 60));
      apdu = concat(Uint8Array.of(0x80, ins, pick(INTERESTING), pick(INTERESTING), data.length), data);
      if (data.length > 255) apdu = concat(Uint8Array.of(0x80, ins, 0, 0, 0, data.length >> 8, data.length & 0xff), data);
    } else if (mode === 8) {
      // Wrapped commands, sometimes tampered.
      try {
        const s = openSession(card, rig.make(), pick([0x01, 0x03, 0x13, ...(rig.scp === '03' ? [0x33] : [0x11])]));
        const c = next() % 2 === 0 ? getStatus(pick([0x80, 0x40, 0x20, 0x10]), pick([0x00, 0x02])) : cmd(0x80, pick([0xe4, 0xe6, 0xe2]), byte(), byte(), bytes(next() % 40), 256);
        apdu = s.channel.wrap(c);
        if (next() % 2 === 0) apdu[next() % apdu.length]! ^= 1 << (next() % 8);
      } catch {
        apdu = bytes(8);
      }
      session = undefined;
    } else if (mode === 9) {
      const aid = pick(AIDS);
      apdu = concat(Uint8Array.of(0x00, 0xa4, 0x04, pick([0x00, 0x02, 0x0c]), aid.length), aid.subarray(0, Math.max(5, next() % (aid.length + 1))));
      apdu[4] = apdu.length - 5;
      session = undefined;
    } else if (mode === 10) {
      apdu = concat(Uint8Array.of(pick([0x00, 0x80]), pick([0xb2, 0xca, 0xa8, 0x88, 0xe2]), byte(), byte()), next() % 2 ? Uint8Array.of(0) : new Uint8Array(0));
    } else {
      if (next() % 4 === 0) {
        card.powerOff();
        card.powerOn(next() % 2 ? 'contact' : 'contactless');
        session = undefined;
      }
      apdu = concat(h('8482'), Uint8Array.of(byte(), byte(), 16), bytes(16));
    }

    let response: Uint8Array;
    try {
      response = card.process(apdu);
    } catch {
      thrown++;
      continue;
    }
    if (response.length < 2) {
      malformed++;
      continue;
    }
    const s1 = response[response.length - 2]!;
    if (!((s1 >= 0x61 && s1 <= 0x6f) || (s1 >= 0x90 && s1 <= 0x9f))) malformed++;
    const sw = toHex(response.subarray(response.length - 2));
    sws.set(sw, (sws.get(sw) ?? 0) + 1);
    // A card the fuzz terminated teaches nothing more: start a fresh one.
    if (card.state.lifeCycle === 0xff && next() % 50 === 0) {
      const fresh = rigs()[n % 3]!;
      prepare(fresh);
      set[n % set.length] = fresh;
      session = undefined;
    }
  }
  t.equal(thrown, 0, 'process() never threw');
  t.equal(malformed, 0, 'every response ends in a well-formed status word');
  const internal = set.reduce((k, r) => k + r.card.internalErrors, 0);
  t.equal(internal, 0, 'no exception caught inside the card');
  t.ok(sws.size >= 15, `${sws.size} different status words seen: ${[...sws.keys()].sort().join(' ')}`);
  t.ok((sws.get('9000') ?? 0) > 500, 'plenty of accepted commands too');
});
