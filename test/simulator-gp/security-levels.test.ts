// Every security level of SCP02 (i=15, i=55) and SCP03 (i=00/10/30/60/70, S8 and S16,
// AES-128/192/256) against the simulated card, driven by the test host of fixtures/host.ts:
// GP 2.2 Appendix E and GP 2.3.1 Amendment D. Also: C-MAC tampering closes the session (6982),
// unprotected proprietary commands inside a C-MAC session are refused, levels the i parameter
// does not support are refused.
import t, { type TAP } from 'tap';
import { toHex } from '../../bytes/index.js';
import { createGpCard, type GpCard } from '../../simulator/gp/index.js';
import { ChannelError, cmd, deleteAid, getStatus, h, KEY40, openSession, Scp02Host, Scp03Host, sameKeys, send, swHex, type Session } from './fixtures/host.js';

const ISD_ENTRY = 'E3' + '13' + '4F08A000000151000000' + '9F70010F' + 'C5039EFE80';

function exercise(t: Pick<TAP, 'equal'>, card: GpCard, s: Session, label: string): void {
  // A command with data and a response.
  const gs = s.send(getStatus(0x80));
  t.equal(toHex(gs.data) + swHex(gs.sw), ISD_ENTRY + '9000', `${label}: GET STATUS (ISD)`);
  // A case-2 command (no data): the SCP03 encryption counter still moves.
  const gd = s.send(cmd(0x80, 0xca, 0x00, 0xcf, undefined, 256));
  t.equal(swHex(gd.sw), '9000', `${label}: GET DATA CF through the channel`);
  t.equal(gd.data.length, 12, `${label}: KDD TLV`);
  // An error status word.
  const del = s.send(deleteAid(h('A0A1A2A3A4A5')));
  t.equal(swHex(del.sw), '6A88', `${label}: DELETE of an absent AID`);
  // Several commands in a row: the MAC chain holds.
  for (let k = 0; k < 3; k++) t.equal(swHex(s.send(getStatus(0x20)).sw), '9000', `${label}: chained command ${k}`);
  t.equal(card.internalErrors, 0, `${label}: no internal error`);
}

t.test('SCP02: i=15 and i=55 at every security level', async (t) => {
  for (const i of [0x15, 0x55]) {
    for (const level of [0x00, 0x01, 0x03, 0x11, 0x13]) {
      const card = createGpCard({ scp: '02', i, seed: `scp02-${i}-${level}` });
      card.powerOn('contact');
      const s = openSession(card, new Scp02Host(sameKeys(KEY40), i), level);
      exercise(t, card, s, `SCP02 i=${i.toString(16)} level ${level.toString(16).padStart(2, '0')}`);
    }
  }
});

t.test('SCP02 i=55: the card challenge is the pseudo-random one (MAC over the ISD AID)', async (t) => {
  const a = createGpCard({ scp: '02', i: 0x55, seed: 'a' });
  const b = createGpCard({ scp: '02', i: 0x55, seed: 'b' });
  a.powerOn('contact');
  b.powerOn('contact');
  const ra = send(a, new Scp02Host(sameKeys(KEY40), 0x55).initializeUpdate());
  const rb = send(b, new Scp02Host(sameKeys(KEY40), 0x55).initializeUpdate());
  t.equal(toHex(ra.data.subarray(14, 20)), toHex(rb.data.subarray(14, 20)), 'same counter, same AID, same keys: same challenge whatever the seed');
  const c = createGpCard({ scp: '02', i: 0x15, seed: 'a' });
  c.powerOn('contact');
  const rc = send(c, new Scp02Host(sameKeys(KEY40), 0x15).initializeUpdate());
  t.not(toHex(rc.data.subarray(14, 20)), toHex(ra.data.subarray(14, 20)), 'i=15 draws a random challenge');
});

const SCP03_CASES: { i: number; levels: number[] }[] = [
  { i: 0x00, levels: [0x00, 0x01, 0x03] },
  { i: 0x10, levels: [0x01, 0x03] },
  { i: 0x30, levels: [0x11, 0x13] },
  { i: 0x60, levels: [0x13, 0x33] },
  { i: 0x70, levels: [0x00, 0x01, 0x03, 0x11, 0x13, 0x33] },
  { i: 0x71, levels: [0x01, 0x13, 0x33] }, // S16 mode
];

t.test('SCP03: i=00/10/30/60/70 (S8) and i=71 (S16) at their security levels, AES-128/192/256', async (t) => {
  for (const keyLength of [16, 24, 32]) {
    const key = new Uint8Array(keyLength).map((_, k) => 0x40 + k);
    for (const { i, levels } of SCP03_CASES) {
      for (const level of levels) {
        const card = createGpCard({ scp: '03', i, keys: key, seed: `scp03-${keyLength}-${i}-${level}` });
        card.powerOn('contactless');
        const s = openSession(card, new Scp03Host(sameKeys(key), i), level);
        exercise(t, card, s, `SCP03 AES-${keyLength * 8} i=${i.toString(16).padStart(2, '0')} level ${level.toString(16).padStart(2, '0')}`);
      }
    }
  }
});

t.test('SCP03: levels the i parameter does not support are refused with 6A86', async (t) => {
  for (const [i, level] of [
    [0x10, 0x11],
    [0x30, 0x33],
    [0x70, 0x31],
    [0x70, 0x02],
  ] as const) {
    const card = createGpCard({ scp: '03', i });
    card.powerOn('contact');
    const host = new Scp03Host(sameKeys(KEY40), i);
    t.throws(() => openSession(card, host, level), new ChannelError('EXTERNAL AUTHENTICATE answered 6A86'), `i=${i.toString(16)} level ${level.toString(16)}`);
  }
});

t.test('C-MAC tampering: 6982 and the session is closed', async (t) => {
  const mk = () => {
    const card = createGpCard({ scp: '03', i: 0x70 });
    card.powerOn('contact');
    const host = new Scp03Host(sameKeys(KEY40), 0x70);
    openSession(card, host, 0x33);
    return { card, host };
  };
  {
    const { card, host } = mk();
    const w = host.wrap(getStatus(0x80));
    w[w.length - 2]! ^= 0x01; // last MAC byte (Le follows)
    t.equal(swHex(send(card, w).sw), '6982', 'SCP03: MAC byte flipped');
    t.equal(swHex(send(card, host.wrap(getStatus(0x80))).sw), '6982', 'SCP03: the next, correct command finds no session');
  }
  {
    const { card, host } = mk();
    const w = host.wrap(getStatus(0x80));
    w[6]! ^= 0x80; // a ciphertext byte: MAC over the ciphertext fails
    t.equal(swHex(send(card, w).sw), '6982', 'SCP03: encrypted data changed');
  }
  {
    const { card } = mk();
    t.equal(swHex(send(card, '80F28002024F0000').sw), '6982', 'SCP03: a proprietary command without C-MAC in a C-MAC session');
    t.equal(swHex(send(card, '00CA00CF00').sw), '9000', 'ISO-class GET DATA still works (no session needed)');
  }
  const card = createGpCard({ scp: '02', i: 0x15 });
  card.powerOn('contact');
  const host = new Scp02Host(sameKeys(KEY40), 0x15);
  const s = openSession(card, host, 0x13);
  t.equal(swHex(s.send(getStatus(0x80)).sw), '9000');
  const w = host.wrap(getStatus(0x80));
  w[5]! ^= 0x01;
  t.equal(swHex(send(card, w).sw), '6982', 'SCP02: tampered command');
  t.equal(swHex(send(card, host.wrap(getStatus(0x80))).sw), '6982', 'SCP02: session closed');
});

t.test('session rules', async (t) => {
  const card = createGpCard({ scp: '03' });
  card.powerOn('contact');
  const host = new Scp03Host(sameKeys(KEY40), 0x70);
  t.equal(swHex(send(card, host.initializeUpdate()).sw), '9000');
  t.equal(swHex(send(card, '00CA00CF00').sw), '9000', 'a command between INITIALIZE UPDATE and EXTERNAL AUTHENTICATE');
  host.onInitializeUpdate(send(card, host.initializeUpdate()).data);
  send(card, '00CA00CF00');
  t.equal(swHex(send(card, host.externalAuthenticate(0x01)).sw), '6985', '... aborts the initiation');
  t.equal(swHex(send(card, '80F28002024F0000').sw), '6982', 'card management needs a session');
  t.equal(swHex(send(card, '84F28002024F0000').sw), '6982', 'secure messaging without a session');
  t.equal(swHex(send(card, '0050000008' + '00'.repeat(8)).sw), '6E00', 'INITIALIZE UPDATE in the ISO class');
  t.equal(swHex(send(card, '80500000070102030405060700').sw), '6700', 'host challenge of 7 bytes');
  t.equal(swHex(send(card, '8050200008010203040506070800').sw), '6A88', 'unknown key version');

  // Level 00: authenticated, no secure messaging.
  const plain = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x00);
  t.equal(swHex(plain.send(getStatus(0x80)).sw), '9000', 'level 00: plain GET STATUS');
  t.equal(swHex(send(card, '84F2800208' + '00'.repeat(8)).sw), '6982', 'level 00: a command with secure messaging is refused');

  // Reselecting the ISD ends the session.
  const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x01);
  t.equal(swHex(s.send(getStatus(0x80)).sw), '9000');
  t.equal(swHex(send(card, '00A4040000').sw), '9000');
  t.equal(swHex(s.send(getStatus(0x80)).sw), '6982', 'SELECT ended the session');

  // Power cycle ends it too.
  const s2 = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x01);
  card.powerOff();
  card.powerOn('contact');
  t.equal(swHex(s2.send(getStatus(0x80)).sw), '6982', 'power cycle ended the session');
});

t.test('authentication try limit (optional): 6983 after N failed EXTERNAL AUTHENTICATEs', async (t) => {
  const card = createGpCard({ scp: '03', authTryLimit: 2 });
  card.powerOn('contact');
  const wrong = new Scp03Host(sameKeys(h('00112233445566778899AABBCCDDEEFF')), 0x70);
  for (let k = 0; k < 2; k++) {
    send(card, wrong.initializeUpdate());
    t.equal(swHex(send(card, '8482010010' + '00'.repeat(16)).sw), '6300', `failure ${k + 1}`);
  }
  t.equal(swHex(send(card, wrong.initializeUpdate()).sw), '6983', 'blocked');
  t.throws(() => openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x01), new ChannelError('INITIALIZE UPDATE answered 6983'), 'even with the right keys');
});
