// The card's own command reading (simulator/core/apdu.ts) and the reuse it allows: the fields it
// reads agree with iso7816's parseCommand on every length form, and the card, which refills one
// command object per APDU and answers from its stored bytes, never lets a caller's buffer and
// the card's memory share bytes.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { parseCommand } from '../../iso7816/index.js';
import { CommandFields } from '../../simulator/core/apdu.js';
import { createSsCard } from '../../simulator/index.js';
import { xorshift32 } from '../helpers/rng.js';
import { TRANSPORT, extAuth, extAuthCryptogram, h, send, sw } from './fixtures/helpers.js';

/** What either reader found, in one comparable form (undefined: refused). */
function viaIso(bytes: Uint8Array): string | undefined {
  try {
    const p = parseCommand(bytes);
    return JSON.stringify([p.cla, p.ins, p.p1, p.p2, toHex(p.data), p.le ?? null, p.case, p.extended]);
  } catch {
    return undefined;
  }
}

function viaCard(f: CommandFields, bytes: Uint8Array): string | undefined {
  if (!f.read(bytes)) return undefined;
  return JSON.stringify([f.cla, f.ins, f.p1, f.p2, toHex(f.data), f.ne ?? null, f.case, f.extended]);
}

t.test('CommandFields reads what parseCommand reads, and refuses what it refuses', async (t) => {
  const f = new CommandFields(); // one object for every command, as the card uses it
  const cases = [
    '00A40000', '00B0000000', '00B00000FF', '00A4000C023F00', '00A40000023F0000', '00A40000023F', '00A40000023F000000',
    '00B0000000000000', '00B0000000FFFF', '00B000000000', '00D6000000000301020300', '00D60000000003010203',
    '00D600000000030102030000', '00D6000000000301020300FF', '00D60000000000', '00D6000000000201', '00D60000000002010200',
    '00D6000000', '00D600000000',
  ];
  for (const hex of cases) t.equal(viaCard(f, h(hex)), viaIso(h(hex)), hex);

  // Random APDUs, the length byte biased towards the values that decide the form.
  const next = xorshift32(0x13);
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const bytes = new Uint8Array(4 + (next() % 12));
    for (let k = 0; k < bytes.length; k++) bytes[k] = next() & 0xff;
    if (bytes.length > 4 && next() % 2 === 0) bytes[4] = next() % 3 === 0 ? 0 : bytes.length - 5 - (next() % 2);
    if (bytes.length > 6 && bytes[4] === 0 && next() % 2 === 0) bytes[6] = bytes.length - 7 - (next() % 3);
    const iso = viaIso(bytes);
    if (iso === undefined) refused++;
    if (viaCard(f, bytes) !== iso) {
      t.fail(`differs on ${toHex(bytes)}`);
      return;
    }
  }
  t.ok(refused > 1000 && refused < 19_000, `both forms seen (${refused} refused)`);
});

t.test('stored bytes and answers never share memory with the caller', async (t) => {
  const card = createSsCard({ seed: 3 });
  card.powerOn('contact');
  t.equal(extAuth(card, 0, TRANSPORT), '9000');
  t.equal(sw(card, '80E000001562138201018302EF01800200088603000000880108'), '9000'); // EF01, 8 bytes, SFI 1
  const update = h('00D6000008CAFEBABE01020304');
  t.equal(sw(card, update), '9000');
  update.fill(0); // the caller reuses its buffer
  const first = card.process(h('00B0810008'));
  t.equal(toHex(first), 'CAFEBABE010203049000');
  first.fill(0xee); // and writes into the answer
  t.equal(send(card, '00B0810008').hex, 'CAFEBABE010203049000', 'the card still holds what was written');
  t.equal(send(card, '00B0810204').hex, 'BABE01029000', 'a part of the file');

  t.equal(sw(card, '80E00000156213820502210004028302EF028603000000880110'), '9000'); // EF02, 2 records of 4, SFI 2
  const append = h('00E200100411223344');
  t.equal(sw(card, append), '9000');
  append.fill(0);
  t.equal(send(card, '00B2011404').hex, '112233449000');
});

t.test('a challenge the host overwrites still authenticates', async (t) => {
  const card = createSsCard({ seed: 4 });
  card.powerOn('contact');
  const r = card.process(h('0084000008'));
  const rnd = r.slice(0, 8);
  r.fill(0);
  t.equal(sw(card, Uint8Array.of(0x00, 0x82, 0x00, 0x00, 0x08, ...extAuthCryptogram(TRANSPORT, rnd))), '9000');
});

t.test('the trace names the steps of the last command', async (t) => {
  const card = createSsCard({ seed: 5 });
  card.powerOn('contact');
  t.equal(extAuth(card, 0, TRANSPORT), '9000');
  t.same(card.lastTrace, ['begin decrement tries/0/01/00', 'journal tries/0/01/00', 'commit', 'apply tries/0/01/00', 'clear', 'compare external-auth key 0', 'begin external authenticate', 'journal tries/0/01/00', 'commit', 'apply tries/0/01/00', 'clear']);
  t.equal(sw(card, '80E000001562138201018302EF01800200088603000000880108'), '9000');
  t.equal(sw(card, '00B0810008'), '9000');
  t.same(card.lastTrace, ['begin read binary']);
  t.equal(sw(card, '00A4000C023F00'), '9000');
  t.same(card.lastTrace, []);
});
