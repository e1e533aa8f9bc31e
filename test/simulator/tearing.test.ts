// Tearing: for every command that changes persistent state, cut the power at each of its
// persistent writes, before / during / after the write, then power on and check that the card's
// persistent state (the image cells) is entirely the old one or entirely the new one. Commands
// that check a secret decrement the error counter in a transaction of their own *before* the
// comparison (core/store.ts, sscard/security.ts), so a third state is allowed for them — old
// state with that counter one lower — and an unchanged counter must mean that no comparison
// took place (a cut never buys a free guess).
import t, { type Test } from 'tap';
import { toHex } from '../../bytes/index.js';
import { createSsCard, NO_RESPONSE, type CardImage, type PowerLossPhase, type SsCard } from '../../simulator/index.js';
import { fcpDf, fcpEf } from '../../simulator/examples/fcp.js';
import { apdu, cloneImage, extAuth, h, keyBlock, macApdu, personalized, send, sw, TRANSPORT, encryptedKeyBody } from './fixtures/helpers.js';
import { layoutCard } from './fixtures/layout.js';

interface TearCase {
  name: string;
  image: CardImage;
  /** Re-creates the volatile state (selection, authentication) on a freshly powered card. */
  prep: (card: SsCard) => void;
  /** The command under test (may fetch a challenge first: deterministic from the image). */
  command: (card: SsCard) => Uint8Array;
  expectSw: string;
  /** The command guesses a secret wrongly: an unchanged counter must mean no comparison. */
  wrongGuess?: boolean;
}

type Cells = Record<string, string>;
const cellsOf = (card: SsCard): Cells => Object.fromEntries(Object.entries(card.toImage().cells).map(([k, v]) => [k, JSON.stringify(v)]));

function start(c: TearCase): { card: SsCard; cmd: Uint8Array; before: Cells } {
  const card = createSsCard({ image: c.image });
  card.powerOn('contact');
  c.prep(card);
  const cmd = c.command(card);
  return { card, cmd, before: cellsOf(card) };
}

function diff(a: Cells, b: Cells): string[] {
  const ids = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...ids].filter((id) => a[id] !== b[id]).sort();
}

/** The "counter" state: `old` with exactly the tries cells one lower. */
function isCounterOnly(old: Cells, after: Cells): boolean {
  const d = diff(old, after);
  if (d.length === 0) return false;
  return d.every((id) => {
    if (!id.startsWith('tries/') || old[id] === undefined || after[id] === undefined) return false;
    return (JSON.parse(after[id]!) as { left: number }).left === (JSON.parse(old[id]!) as { left: number }).left - 1;
  });
}

function tear(t: Test, c: TearCase): void {
  const ref = start(c);
  const w0 = ref.card.writeCount;
  const r = send(ref.card, ref.cmd);
  t.equal(r.swHex, c.expectSw, `${c.name}: uncut answer`);
  const writes = ref.card.writeCount - w0;
  t.ok(writes >= 4, `${c.name}: ${writes} persistent writes`);
  const neu = cellsOf(ref.card);
  const HEALTH = h('00A4000C023F00');
  const healthNew = send(ref.card, HEALTH).swHex;
  const healthOld = send(start(c).card, HEALTH).swHex;
  const outcomes = new Set<string>();
  for (let n = 1; n <= writes; n++) {
    for (const phase of ['before', 'during', 'after'] as PowerLossPhase[]) {
      const { card, cmd, before } = start(c);
      card.injectPowerLoss({ atWrite: n, phase });
      const out = card.process(cmd);
      const trace = card.lastTrace;
      const where = `${c.name}: write ${n}/${writes} ${phase}`;
      t.same(out, NO_RESPONSE, `${where}: no answer`);
      t.ok(card.powerLost, `${where}: power lost`);
      t.equal(card.lastPowerLoss?.atWrite, n);
      t.same(card.process(h('00A4000C023F00')), NO_RESPONSE, `${where}: mute until power-on`);
      card.powerOn('contact');
      t.notOk(card.powerLost);
      const after = cellsOf(card);
      let outcome: string;
      if (diff(before, after).length === 0) outcome = 'old';
      else if (diff(neu, after).length === 0) outcome = 'new';
      else if (isCounterOnly(before, after)) outcome = 'counter';
      else outcome = `mixed: ${diff(before, after).join(', ')}`;
      outcomes.add(outcome);
      t.ok(outcome === 'old' || outcome === 'new' || outcome === 'counter', `${where}: ${outcome}`);
      if (c.wrongGuess && outcome === 'old') {
        t.notOk(trace.some((e) => e.startsWith('compare')), `${where}: counter unchanged, so no comparison happened`);
      }
      if (outcome === 'counter' || (c.wrongGuess && outcome === 'new')) {
        const cmpAt = trace.findIndex((e) => e.startsWith('compare'));
        const commitAt = trace.findIndex((e) => e.startsWith('commit'));
        if (cmpAt >= 0) t.ok(commitAt >= 0 && commitAt < cmpAt, `${where}: the decrement was committed before the comparison`);
      }
      t.equal(sw(card, HEALTH), outcome === 'new' ? healthNew : healthOld, `${where}: the card works after recovery`);
      t.equal(card.internalErrors, 0, `${where}: no torn cell was ever read`);
    }
  }
  t.ok(outcomes.has('old'), `${c.name}: some cuts keep the old state`);
  // For a wrong guess the new state *is* the old one with the counter down.
  t.ok(outcomes.has('new'), `${c.name}: some cuts give the new state`);
}

// --- starting points --------------------------------------------------------------------------

const blankImage = (() => {
  const card = createSsCard({ seed: 9 });
  return cloneImage(card);
})();
const layoutImage = cloneImage(layoutCard());
const perso = personalized();
const persoImage = cloneImage(perso.card);
const keys = perso.info.keys;
const SSSE = h('7378312E73682EC9E7BBE1B1A3D5CF');
const selectSsse = (card: SsCard) => sw(card, apdu(0x00, 0xa4, 0x04, 0x0c, SSSE));
const authBlank = (card: SsCard) => {
  if (extAuth(card, 0x00, TRANSPORT) !== '9000') throw new Error('transport key');
};

// A blank card with a DF holding a line-protection key and a MAC-protected TLV record file.
const smImage = (() => {
  const card = createSsCard({ seed: 10 });
  card.powerOn('contact');
  authBlank(card);
  sw(card, apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf30, create: 0x20, keyWrite: 0xff })));
  sw(card, apdu(0x80, 0xd4, 0, 0, keyBlock(0x06, 0x04, 0x01, 1, 5, h('A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8'))));
  sw(card, apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef31, sfi: 0x11, type: 'linear-variable-tlv', recordLength: 16, records: 4, read: 0x00, update: 0x34, append: 0x00 })));
  sw(card, '00E2008804' + '0A020102');
  return cloneImage(card);
})();
const LINE = { alg: 'des3' as const, value: h('A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8') };

const cases: TearCase[] = [
  {
    name: 'CREATE FILE (EF)',
    image: blankImage,
    prep: authBlank,
    command: () => apdu(0x80, 0xe0, 0, 0, fcpEf({ fid: 0xef01, sfi: 1, type: 'transparent', size: 16, read: 0, update: 0 })),
    expectSw: '9000',
  },
  {
    name: 'CREATE FILE (DF)',
    image: blankImage,
    prep: authBlank,
    command: () => apdu(0x80, 0xe0, 0, 0, fcpDf({ fid: 0xdf01, name: h('A000000001'), create: 0x20, keyWrite: 0xff })),
    expectSw: '9000',
  },
  {
    name: 'WRITE KEY (plain)',
    image: blankImage,
    prep: authBlank,
    command: () => apdu(0x80, 0xd4, 0, 0, keyBlock(0x02, 0x05, 0x01, 1, 3, h('00112233445566778899AABBCCDDEEFF'))),
    expectSw: '9000',
  },
  {
    name: 'WRITE KEY (encrypted + MAC)',
    image: blankImage,
    prep: () => {},
    command: (card) => macApdu(card, TRANSPORT, 0x84, 0xd4, 0, 0, encryptedKeyBody(TRANSPORT, keyBlock(0x01, 0x00, 0x02, 2, 15, h('000102030405060708090A0B0C0D0E0F')))),
    expectSw: '9000',
  },
  {
    name: 'WRITE KEY (encrypted, wrong MAC)',
    image: blankImage,
    prep: () => {},
    command: (card) => {
      const c = macApdu(card, TRANSPORT, 0x84, 0xd4, 0, 0, encryptedKeyBody(TRANSPORT, keyBlock(0x03, 0x01, 0x01, 1, 5, new Uint8Array(16))));
      c[c.length - 1]! ^= 1;
      return c;
    },
    expectSw: '6988',
    wrongGuess: true,
  },
  {
    name: 'APPEND RECORD (linear fixed)',
    image: layoutImage,
    prep: (card) => void sw(card, '00A4000C021000'),
    command: () => h('00E200100401020304'),
    expectSw: '9000',
  },
  {
    name: 'APPEND RECORD (cyclic, after wrapping)',
    image: (() => {
      const card = layoutCard();
      sw(card, '00A4000C021000');
      for (const r of ['0001', '0002', '0003', '0004']) sw(card, '00E2002002' + r);
      return cloneImage(card);
    })(),
    prep: (card) => void sw(card, '00A4000C021000'),
    command: () => h('00E2002002' + '0005'),
    expectSw: '9000',
  },
  {
    name: 'UPDATE RECORD with MAC (04 DC)',
    image: smImage,
    prep: (card) => void sw(card, '00A4000C02DF30'),
    command: (card) => macApdu(card, LINE, 0x04, 0xdc, 0x0a, (0x11 << 3) | 4, h('0A020304')),
    expectSw: '9000',
  },
  {
    name: 'UPDATE BINARY with MAC (04 D6, SM4)',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: (card) => macApdu(card, keys.ssseLine, 0x04, 0xd6, 0x87, 0x00, h('0102030405060708')),
    expectSw: '9000',
  },
  {
    name: 'VERIFY (wrong PIN)',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: () => h('0020000003999999'),
    expectSw: '63C2',
    wrongGuess: true,
  },
  {
    name: 'VERIFY (right PIN after a wrong one)',
    image: (() => {
      const { card } = personalized();
      card.powerOn('contact');
      selectSsse(card);
      sw(card, '0020000003999999');
      return cloneImage(card);
    })(),
    prep: (card) => void selectSsse(card),
    command: () => h('0020000003123456'),
    expectSw: '9000',
  },
  {
    name: 'VERIFY 00 20 01 81 (PKI, wrong)',
    image: persoImage,
    prep: (card) => {
      sw(card, '00A4040C0C504B492EC9E7BBE1B1A3D5CF');
      sw(card, '00A4040C0C53532E434552542E41444631');
    },
    command: (card) => {
      send(card, '0084000010');
      return h('0020018110' + '00'.repeat(16));
    },
    expectSw: '63C5',
    wrongGuess: true,
  },
  {
    name: 'EXTERNAL AUTHENTICATE (wrong)',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: (card) => {
      send(card, '0084000008');
      return h('0082000D08' + '0000000000000000');
    },
    expectSw: '63C4',
    wrongGuess: true,
  },
  {
    name: 'CHANGE PIN',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: () => h('805E010007' + '123456FF654321'),
    expectSw: '9000',
  },
  {
    name: 'RELOAD PIN',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: (card) => {
      const c = macApdu(card, keys.ssseReload, 0x80, 0x5e, 0x00, 0x00, h('777777'));
      return c;
    },
    expectSw: '9000',
  },
  {
    name: 'PIN UNBLOCK with a new PIN',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: (card) => macApdu(card, keys.sssePuk, 0x84, 0x24, 0x00, 0x00, h('2468')),
    expectSw: '9000',
  },
  {
    name: 'SM2 key generation',
    image: persoImage,
    prep: (card) => {
      sw(card, '00A4040C0C504B492EC9E7BBE1B1A3D5CF');
      sw(card, '00A4040C0C53532E434552542E41444631');
      extAuth(card, 0x00, keys.pkiMaster, 16);
    },
    command: () => h('8040000008C0020012C202001300'),
    expectSw: '9000',
  },
  {
    name: 'APPLICATION BLOCK',
    image: persoImage,
    prep: (card) => void selectSsse(card),
    command: (card) => macApdu(card, keys.ssseAppBlock, 0x84, 0x1e, 0x00, 0x00),
    expectSw: '9000',
  },
  {
    name: 'CARD BLOCK',
    image: persoImage,
    prep: () => {},
    command: (card) => macApdu(card, keys.cardBlock, 0x84, 0x16, 0x00, 0x00),
    expectSw: '9000',
  },
];

for (const c of cases) t.test(c.name, async (t) => tear(t, c));

t.test('END OF PERSONALIZATION (one cell)', async (t) => {
  // A single-cell transaction: journal, commit, apply, clear = 4 writes.
  const base = cloneImage((() => {
    const card = createSsCard({ seed: 11 });
    return card;
  })());
  tear(t, { name: 'END OF PERSONALIZATION', image: base, prep: authBlank, command: () => h('80EA0000'), expectSw: '9000' });
});

t.test('a cut armed for later counts across commands', async (t) => {
  const card = createSsCard({ image: layoutImage });
  card.powerOn('contact');
  sw(card, '00A4000C021000');
  card.injectPowerLoss({ atWrite: 7, phase: 'during' });
  t.equal(sw(card, '00E200100401020304'), '9000', 'first append: writes 1–6');
  t.same(card.process(h('00E200100405060708')), NO_RESPONSE, 'second append: cut at its first write');
  t.equal(card.lastPowerLoss?.step, 'journal');
  card.powerOn('contact');
  sw(card, '00A4000C021000');
  t.equal(send(card, '00B2011400').hex, '01020304' + '9000');
  t.equal(sw(card, '00B2021400'), '6A83', 'the second record never happened');
  card.injectPowerLoss({ atWrite: 1, phase: 'before' });
  card.cancelPowerLoss();
  t.equal(sw(card, '00E200100405060708'), '9000');
  t.equal(toHex(send(card, '00B2021400').data), '05060708');
});
