// Card core: ATRs (ISO 7816-3 §8, PC/SC Part 3 contactless form), the seeded random source as
// docs/simulator.md defines it, power handling, and the transactional store with its power-loss
// hook (core/store.ts). Expected values are computed here from the documented constructions.
import t from 'tap';
import { concat, toHex, uintBE } from '../../bytes/index.js';
import { sm3 } from '../../crypto/sm3.js';
import { PowerCut, Store, type PowerLossPhase } from '../../simulator/core/store.js';
import { createSsCard, NO_RESPONSE } from '../../simulator/index.js';
import { h, send, sw } from './fixtures/helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const chipIdOf = (seed: Uint8Array) => sm3(enc('cardsmith/sim/chip-id'), Uint8Array.of(0), seed).slice(0, 8);
const xorAll = (b: Uint8Array) => b.reduce((a, x) => a ^ x, 0);

t.test('ATRs', async (t) => {
  const seed = uintBE(7, 8);
  const chip = chipIdOf(seed);
  const hist = concat(h('43534D01'), chip);

  const card = createSsCard({ seed: 7 });
  const t1 = card.powerOn('contact');
  // 3B | T0 = 8C (TD1, 12 historical bytes) | TD1 81 (T=1, TD2) | TD2 31 (TA3, TB3, T=1) | FE 45 | hist | TCK
  const body1 = concat(h('8C813 1FE45'.replace(' ', '')), hist);
  t.equal(toHex(t1), toHex(concat(h('3B'), body1, Uint8Array.of(xorAll(body1)))), 'contact, T=1');
  t.equal(xorAll(t1.slice(1)), 0, 'contact T=1: XOR of T0..TCK is 0');
  t.equal(toHex(t1.slice(-9, -1)), toHex(chip), 'chip id is the 8 bytes before TCK');

  const cl = card.powerOn('contactless');
  const bodyCl = concat(h('8C8001'), hist);
  t.equal(toHex(cl), toHex(concat(h('3B'), bodyCl, Uint8Array.of(xorAll(bodyCl)))), 'contactless: 3B 8C 80 01 hist TCK');
  t.equal(xorAll(cl.slice(1)), 0, 'contactless: TCK checks');

  const t0card = createSsCard({ seed: 7, t0: true });
  const t0 = t0card.powerOn('contact');
  t.equal(toHex(t0), toHex(concat(h('3B6C0000'), hist)), 'contact, T=0 only: no TCK, ends with the chip id');
  t.equal(toHex(t0card.powerOn('contactless')), toHex(cl), 'the contactless ATR does not depend on the T=0 option');
  t.throws(() => card.powerOn('usb' as never), RangeError);
});

t.test('seeded random source', async (t) => {
  const label = concat(enc('cardsmith/sim/drbg'), Uint8Array.of(0));
  const seed = uintBE(5, 8);
  const block = (i: number) => sm3(label, seed, uintBE(i, 8));
  const stream = concat(block(0), block(1));

  const card = createSsCard({ seed: 5 });
  card.powerOn('contact');
  const a = send(card, '0084000008');
  t.equal(a.hex, toHex(stream.slice(0, 8)) + '9000', 'GET CHALLENGE 8 = first 8 stream bytes');
  const b = send(card, '0084000010');
  t.equal(b.hex, toHex(stream.slice(8, 24)) + '9000', 'next 16 bytes');
  const c = send(card, '0084000010');
  t.equal(c.hex, toHex(stream.slice(24, 40)) + '9000', 'crosses into block 1');
  card.powerOff();
  card.powerOn('contact');
  t.equal(send(card, '0084000004').hex, toHex(stream.slice(40, 44)) + '9000', 'a power cycle does not restart the stream');

  const other = createSsCard({ seed: 'five' });
  other.powerOn('contact');
  const strSeed = sm3(label, enc('five'), uintBE(0, 8));
  t.equal(send(other, '0084000008').hex, toHex(strSeed.slice(0, 8)) + '9000', 'string seeds are UTF-8');

  const bytesSeed = createSsCard({ seed: h('0102') });
  bytesSeed.powerOn('contact');
  t.equal(send(bytesSeed, '0084000004').hex, toHex(sm3(label, h('0102'), uintBE(0, 8)).slice(0, 4)) + '9000', 'byte seeds as they are');

  t.throws(() => createSsCard({ seed: -1 }), RangeError);
  t.throws(() => createSsCard({ seed: 1.5 }), RangeError);
});

t.test('power', async (t) => {
  const card = createSsCard();
  t.equal(card.process(h('0084000008')).length, 0, 'no answer before power-on');
  t.equal(card.powered, false);
  card.powerOn('contact');
  t.equal(sw(card, '0084000008'), '9000');
  card.powerOff();
  t.same(card.process(h('0084000008')), NO_RESPONSE, 'no answer after power-off');
  t.equal(card.powerLost, false, 'a normal power-off is not a power loss');
  card.powerOn('contact');
  t.equal(sw(card, '0082000008' + '0000000000000000'), '6984', 'the challenge did not survive the power cycle');
  t.equal(card.lifecycle, 'blank');
  t.equal(card.kind, 'sscard');
});

t.test('process never throws on odd input', async (t) => {
  const card = createSsCard();
  card.powerOn('contact');
  t.equal(toHex(card.process('not bytes' as unknown as Uint8Array)), '6700');
  t.equal(toHex(card.process(new Uint8Array(0))), '6700');
  t.equal(toHex(card.process(Buffer.from('00A4', 'hex'))), '6700', 'a Node Buffer works like a Uint8Array');
  t.equal(card.internalErrors, 0);
});

// --- the store --------------------------------------------------------------------------------

type V = { v: string } | { torn: true };
const tornV = (): V => ({ torn: true });

function threeCellStore() {
  const s = new Store<V>(tornV, { cells: new Map([['a', { v: 'a0' }], ['b', { v: 'b0' }]]), journal: [], committed: false });
  const tx = () =>
    s.transaction('t', (w) => {
      w.put('a', { v: 'a1' });
      w.put('b', { v: 'b1' });
      w.put('c', { v: 'c1' });
    });
  return { s, tx };
}

const state = (s: Store<V>) => JSON.stringify(['a', 'b', 'c'].map((id) => s.get(id)));
const OLD = JSON.stringify([{ v: 'a0' }, { v: 'b0' }, undefined]);
const NEW = JSON.stringify([{ v: 'a1' }, { v: 'b1' }, { v: 'c1' }]);

t.test('store: a transaction is 2k+2 writes and reads its own writes', async (t) => {
  const { s, tx } = threeCellStore();
  tx();
  t.equal(s.writeCount, 8, '3 journal + commit + 3 apply + clear');
  t.equal(state(s), NEW);
  const seen: (V | undefined)[] = [];
  s.transaction('read-own', (w) => {
    w.put('a', { v: 'a2' });
    seen.push(w.get('a'), s.get('a'));
    w.remove('c');
    seen.push(s.get('c'));
  });
  t.same(seen, [{ v: 'a2' }, { v: 'a2' }, undefined]);
  t.same(s.idsWithPrefix(''), ['a', 'b']);
  t.throws(() => s.transaction('outer', () => s.transaction('inner', () => {})), /nested/);
});

t.test('store: a failing transaction leaves nothing', async (t) => {
  const { s } = threeCellStore();
  t.throws(() =>
    s.transaction('fails', (w) => {
      w.put('a', { v: 'x' });
      throw new Error('boom');
    }),
  );
  t.equal(state(s), OLD);
  t.equal(s.recover(), 'clean');
});

t.test('store: power loss at every write and phase is all-or-nothing', async (t) => {
  for (let n = 1; n <= 8; n++) {
    for (const phase of ['before', 'during', 'after'] as PowerLossPhase[]) {
      const { s, tx } = threeCellStore();
      s.armPowerLoss({ atWrite: n, phase });
      let cut: PowerCut | undefined;
      try {
        tx();
      } catch (e) {
        if (e instanceof PowerCut) cut = e;
        else throw e;
      }
      t.ok(cut, `write ${n} ${phase}: cut`);
      // Writes 1–3 journal, 4 commit marker: up to (and including a torn) commit nothing is committed.
      const committed = n > 4 || (n === 4 && phase === 'after');
      t.equal(cut?.event.step, n <= 3 ? 'journal' : n === 4 ? 'commit' : n <= 7 ? 'apply' : 'clear', `write ${n} is a ${cut?.event.step} write`);
      if (n >= 5 && n <= 7 && phase === 'during') {
        t.same(s.get(['a', 'b', 'c'][n - 5]!), { torn: true }, `write ${n} during: the home cell is torn until recovery`);
      }
      s.recover();
      t.equal(state(s), committed ? NEW : OLD, `write ${n} ${phase}: ${committed ? 'new' : 'old'} state after recovery`);
      t.equal(s.recover(), 'clean', 'recovery is done once');
    }
  }
});

t.test('store: an armed cut counts across transactions and can be cancelled', async (t) => {
  const { s, tx } = threeCellStore();
  s.armPowerLoss({ atWrite: 9, phase: 'before' });
  tx();
  t.ok(s.armed);
  t.throws(() => s.transaction('second', (w) => w.put('a', { v: 'a2' })), PowerCut);
  t.notOk(s.armed, 'a cut disarms');
  s.recover();
  t.same(s.get('a'), { v: 'a1' });
  s.armPowerLoss({ atWrite: 1, phase: 'during' });
  s.disarmPowerLoss();
  s.transaction('third', (w) => w.put('a', { v: 'a3' }));
  t.same(s.get('a'), { v: 'a3' });
  t.throws(() => s.armPowerLoss({ atWrite: 0, phase: 'before' }), RangeError);
  t.throws(() => s.armPowerLoss({ atWrite: 1, phase: 'sideways' as never }), RangeError);
});

t.test('store: a snapshot taken between cut and recovery keeps the journal', async (t) => {
  const { s, tx } = threeCellStore();
  s.armPowerLoss({ atWrite: 5, phase: 'during' });
  t.throws(tx, PowerCut);
  const snap = s.snapshot();
  t.equal(snap.committed, true);
  t.equal(snap.journal.length, 3);
  const restored = new Store<V>(tornV, snap);
  t.equal(restored.recover(), 'replayed');
  t.equal(state(restored), NEW);
});

t.test('factory options', async (t) => {
  const sm4Key = h('000102030405060708090A0B0C0D0E0F');
  const card = createSsCard({ seed: 2, transportKey: { value: sm4Key, alg: 'sm4', version: 7, limit: 2 } });
  card.powerOn('contact');
  const rnd = send(card, '0084000010').data;
  const { blockCipher } = await import('../../crypto/block.js');
  t.equal(sw(card, '0082000010' + toHex(blockCipher('sm4').encryptEcb(sm4Key, rnd))), '9000', 'an SM4 transport key');
  t.equal(sw(card, '0084000008'), '9000');
  t.equal(sw(card, '0082000010' + '00'.repeat(16)), '63C1', 'its error limit was 2');
  const image = card.toImage();
  t.match(image.cells['key/0/01/00'], { key: { alg: 'sm4', version: 7, limit: 2 } });
  t.throws(() => createSsCard({ transportKey: h('0011') }), RangeError, 'a 2-byte key');
  t.throws(() => createSsCard({ transportKey: { value: sm4Key, alg: 'aes' as never } }), RangeError);
  t.throws(() => createSsCard({ transportKey: { value: sm4Key, limit: 0 } }), RangeError);
  t.throws(() => createSsCard({ memory: 10 }), RangeError);
  t.throws(() => createSsCard({ t0: 'yes' as never }), TypeError);
  t.throws(() => createSsCard(null as never), TypeError);
  t.throws(() => card.injectPowerLoss({ atWrite: 1.5, phase: 'before' }), RangeError);
  // A second powerOn without powerOff is a reset: volatile state starts fresh.
  t.equal(sw(card, '0084000008'), '9000');
  card.powerOn('contact');
  t.equal(sw(card, '0082000010' + '00'.repeat(16)), '6984', 'the challenge is gone after a reset');
});
