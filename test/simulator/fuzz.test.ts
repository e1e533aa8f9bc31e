// Bounded, seeded fuzzing of the personalized card: 120,000 APDUs — mutated valid commands,
// random headers over the known instructions, and pure noise — on T=1 and T=0 cards, over both
// interfaces, with valid authentications mixed in so that the protected paths are reached too.
// Every answer must end in a well-formed status word; nothing may throw; the card must never
// report an internal error (6F00). Bounded by count, not time.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import type { SsCard } from '../../simulator/index.js';
import { extAuth, h, personalized, send } from './fixtures/helpers.js';

const TOTAL = 120_000;
const PER_CARD = 15_000;

/** Numerical Recipes LCG: small, seedable, the same on every machine. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

const SSSE = '7378312E73682EC9E7BBE1B1A3D5CF';
const CORPUS = [
  '00A4000C023F00',
  `00A404000F${SSSE}00`,
  '00A4040006D1560000050000',
  '00A4040C06D15600000503',
  '00A404000C504B492EC9E7BBE1B1A3D5CF00',
  '00A404040C53532E434552542E4144463100',
  '00A404000E325041592E5359532E444446303100',
  '00A4000002EF05',
  '00A4020402EF0700',
  '00A4080C04DDF1EF05',
  '00A4090C02EF06',
  '00A4030C',
  '00A4040207D15600000500',
  '00B2012C00',
  '00B2072C09',
  '00B2083400',
  '00B2002C00',
  '00B2012800',
  '00DC0A34030A0132',
  '00E2002807' + '0805' + '3132333435',
  '00B0870008',
  '00B0000000',
  '00B0000000' + '0010',
  '00D6000004AABBCCDD',
  '04D6870008' + '0102030405060708',
  '04DC0A34070A0132AABBCCDD',
  '0084000004',
  '0084000008',
  '0084000010',
  '0082000D08' + '0011223344556677',
  '0082000010' + '00112233445566778899AABBCCDDEEFF',
  '0088000008' + '1122334455667788' + '00',
  '0020000003123456',
  '00200000',
  '0020008103123456',
  '0020018110' + '00'.repeat(16),
  '80C4010305C10312345600',
  '805E010007123456FF654321',
  '805E000007' + '654321' + 'AABBCCDD',
  '84240000' + '04AABBCCDD',
  '841E000004AABBCCDD',
  '8418000004AABBCCDD',
  '8416000004AABBCCDD',
  '84D4000014' + '00'.repeat(16) + 'AABBCCDD',
  '80D4000015' + '0301010105' + '00'.repeat(16),
  '80E0000013' + '6211820101' + '8302EF55' + '80020010' + '86030000FF',
  '80E000000F' + '620D820138' + '8302DF55' + '860320FF00',
  '80E0000019' + '6217' + '82050521001008' + '8302EF56' + '880198' + '8603000000',
  '8040000008C0020012C202001300',
  '002A9E9A03616263' + '00',
  '80EA0000',
  '00C0000010',
];
const SEEDS = CORPUS.map((x) => h(x));
const INS = [0xa4, 0xb0, 0xd6, 0xb2, 0xdc, 0xe2, 0x84, 0x82, 0x88, 0x20, 0x2a, 0xc0, 0xe0, 0xd4, 0x5e, 0xea, 0x40, 0xc4, 0x1e, 0x18, 0x16, 0x24];
const CLA = [0x00, 0x04, 0x80, 0x84];
/** Class/instruction pairs the card implements (docs/simulator.md command table). */
const PAIRS: [number, number][] = [
  ...[0xa4, 0xb0, 0xd6, 0xb2, 0xdc, 0xe2, 0x84, 0x82, 0x88, 0x20, 0x2a, 0xc0].map((i) => [0x00, i] as [number, number]),
  ...[0xb0, 0xd6, 0xb2, 0xdc, 0xe2].map((i) => [0x04, i] as [number, number]),
  ...[0xe0, 0xd4, 0x5e, 0xea, 0x40, 0xc4].map((i) => [0x80, i] as [number, number]),
  ...[0xd4, 0x1e, 0x18, 0x16, 0x24].map((i) => [0x84, i] as [number, number]),
];
const GOOD_SW1 = new Set([0x61, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x90]);

function mutate(next: () => number, seed: Uint8Array): Uint8Array {
  const b = () => next() >>> 24;
  let out = Uint8Array.from(seed);
  const roll = next() % 10;
  const rounds = roll < 7 ? 1 : roll < 9 ? 2 : 3;
  for (let r = 0; r < rounds; r++) {
    switch (next() % 10) {
      case 0: // flip a bit
        if (out.length) out[next() % out.length]! ^= 1 << (next() % 8);
        break;
      case 1: // replace a byte
        if (out.length) out[next() % out.length] = b();
        break;
      case 2: // truncate
        out = out.slice(0, next() % (out.length + 1));
        break;
      case 3: // append junk
        out = Uint8Array.from([...out, ...Array.from({ length: 1 + (next() % 8) }, b)]);
        break;
      case 4: // Lc / Le byte
        if (out.length > 4) out[4] = b();
        else out = Uint8Array.from([...out, b()]);
        break;
      case 5: // class: mostly one the card knows
        if (out.length) out[0] = next() % 8 === 0 ? b() : CLA[next() % CLA.length]!;
        break;
      case 8: { // same header, fresh data of a consistent length
        const n = next() % 48;
        out = Uint8Array.from([...out.slice(0, 4), n, ...Array.from({ length: n }, b), ...(next() % 2 ? [b()] : [])]);
        break;
      }
      case 6: // P1 / P2
        if (out.length > 3) out[2 + (next() % 2)] = b();
        break;
      case 7: // last byte (Le) changed
        if (out.length > 4) out[out.length - 1] = b();
        break;
      default: // instruction from the known set
        if (out.length > 1) out[1] = INS[next() % INS.length]!;
    }
  }
  return out;
}

function randomHeader(next: () => number): Uint8Array {
  const b = () => next() >>> 24;
  const n = next() % 4 === 0 ? 0 : next() % 40;
  const body = Array.from({ length: n }, b);
  const shape = next() % 4;
  const tail = shape === 0 ? [] : shape === 1 ? [n] : shape === 2 ? [n, ...body] : [n, ...body, b()];
  const [cla, ins] = PAIRS[next() % PAIRS.length]!;
  // Small P1/P2 values more often: that is where the defined parameters live.
  const p = () => (next() % 2 ? next() % 8 : b());
  return Uint8Array.from([cla, ins, p(), p(), ...tail]);
}

function noise(next: () => number): Uint8Array {
  const n = next() % 10 === 0 ? next() % 1100 : next() % 24;
  return Uint8Array.from({ length: n }, () => next() >>> 24);
}

t.test(`fuzz: ${TOTAL} APDUs`, async (t) => {
  const next = lcg(0xc0ffee);
  const swCount = new Map<number, number>();
  let thrown = 0;
  let malformed = 0;
  let internal = 0;
  let sent = 0;
  const examples: string[] = [];
  let card: SsCard | undefined;
  let cardIndex = 0;
  const { info } = personalized();

  while (sent < TOTAL) {
    if (sent % PER_CARD === 0) {
      if (card) internal += card.internalErrors;
      const t0 = cardIndex % 2 === 1;
      card = personalized({ t0 }).card;
      card.powerOn(cardIndex % 3 === 2 ? 'contactless' : 'contact');
      cardIndex++;
    }
    const c = card!;
    // Now and then: a power cycle, or a valid authentication so that protected paths open up.
    const k = next() % 1000;
    if (k === 0) {
      c.powerOff();
      c.powerOn(next() % 2 ? 'contact' : 'contactless');
    } else if (k === 1 && !c.toImage().options.t0) {
      send(c, `00A4040C0F${SSSE}`);
      extAuth(c, 0x0d, info.keys.ssseUpdate);
      send(c, '0020000003123456');
      sent += 4;
    }
    const kind = next() % 10;
    const cmd = kind < 6 ? mutate(next, SEEDS[next() % SEEDS.length]!) : kind < 8 ? randomHeader(next) : noise(next);
    let r: Uint8Array;
    try {
      r = c.process(cmd);
    } catch (e) {
      thrown++;
      if (examples.length < 5) examples.push(`${toHex(cmd)} threw ${String(e)}`);
      sent++;
      continue;
    }
    sent++;
    const sw1 = r[r.length - 2];
    const sw = r.length >= 2 ? (r[r.length - 2]! << 8) | r[r.length - 1]! : -1;
    if (r.length < 2 || !GOOD_SW1.has(sw1!) || (sw1 === 0x90 && sw !== 0x9000) || sw === 0x6f00) {
      malformed++;
      if (examples.length < 5) examples.push(`${toHex(cmd)} -> ${toHex(r)}`);
    }
    swCount.set(sw, (swCount.get(sw) ?? 0) + 1);
  }
  internal += card!.internalErrors;

  t.ok(sent >= 100_000, `${sent} APDUs sent to ${cardIndex} cards`);
  t.equal(thrown, 0, 'process() never threw');
  t.equal(malformed, 0, 'every answer ends in a well-formed status word (no 6F00)');
  t.equal(internal, 0, 'no internal error');
  if (examples.length) t.comment(examples.join('\n'));
  const top = [...swCount.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  t.comment(`status words: ${top.map(([s, n]) => `${s.toString(16).toUpperCase().padStart(4, '0')}×${n}`).join(' ')}`);
  t.ok((swCount.get(0x9000) ?? 0) > 1000, 'plenty of commands succeeded, so the fuzz got past the front door');
  t.ok(swCount.size > 30, `${swCount.size} distinct status words`);
});
