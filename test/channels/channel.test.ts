// Secure channel behaviour around the transcripts: what happens on a wrong key, a refused
// EXTERNAL AUTHENTICATE, a broken R-MAC, a reset; block-size overheads; levels; key sources.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { diversifyEmv, diversifyKdf3, diversifyVisa2 } from '../../crypto/index.js';
import {
  AuthenticationError,
  CardCryptogramError,
  describeSecurityLevel,
  GP_TEST_KEY,
  masterKeySource,
  openSecureChannel,
  parseSecurityLevel,
  ResponseProtectionError,
  scp02Options,
  SecureChannelError,
  staticKeySource,
  type SecureChannel,
} from '../../channels/index.js';
import { ScriptedTransport, type ScriptStep } from './fixtures/scripted-transport.js';
import { TRANSCRIPTS, type Transcript } from './fixtures/transcripts.js';

function byName(part: string): Transcript {
  return TRANSCRIPTS.find((x) => x.source.includes(part))!;
}

async function open(tr: Transcript, extra: ScriptStep[] = [], level = tr.securityLevel): Promise<{ channel: SecureChannel; transport: ScriptedTransport }> {
  const transport = new ScriptedTransport([tr.initializeUpdate, tr.externalAuthenticate, ...extra]);
  const channel = await openSecureChannel(transport, {
    keys: { enc: fromHex(tr.keys.enc), mac: fromHex(tr.keys.mac), dek: fromHex(tr.keys.dek) },
    hostChallenge: fromHex(tr.hostChallenge),
    securityLevel: level,
  });
  return { channel, transport };
}

t.test('wrong keys: CardCryptogramError before EXTERNAL AUTHENTICATE, with both cryptograms and KCVs', async (t) => {
  for (const tr of [byName('get_status_mac_only'), byName('mutual_auth')]) {
    const transport = new ScriptedTransport([tr.initializeUpdate, tr.externalAuthenticate]);
    const err = await openSecureChannel(transport, { keys: fromHex('000102030405060708090A0B0C0D0E0F'), hostChallenge: fromHex(tr.hostChallenge) }).catch((e: unknown) => e);
    t.ok(err instanceof CardCryptogramError, tr.source);
    const e = err as CardCryptogramError;
    const cardSent = tr.scp === 2 ? '67DD78794D04315E' : 'E4EDBA35E629C336';
    t.equal(e.cardCryptogram, cardSent);
    t.equal(
      e.message,
      `scp0${tr.scp}: card cryptogram mismatch (card sent ${cardSent}, expected ${e.expectedCryptogram}) — check the keys; do not retry: repeated failed authentications can lock the card`,
    );
    t.equal(transport.sent.length, 1, 'only INITIALIZE UPDATE was sent');
    t.match(e.kcvs, { enc: /^[0-9A-F]{6}$/ });
  }
});

t.test('EXTERNAL AUTHENTICATE refused (6300): AuthenticationError, session ended, no retry', async (t) => {
  const tr = byName('mutual_auth');
  const transport = new ScriptedTransport([tr.initializeUpdate, { ...tr.externalAuthenticate, response: '6300' }]);
  const err = await openSecureChannel(transport, { keys: { enc: fromHex(tr.keys.enc), mac: fromHex(tr.keys.mac), dek: fromHex(tr.keys.dek) }, hostChallenge: fromHex(tr.hostChallenge), securityLevel: 3 }).catch((e: unknown) => e);
  t.ok(err instanceof AuthenticationError);
  t.match((err as Error).message, /scp03: the card rejected the host cryptogram \(SW 6300\) — check the keys .* do not retry/);
  t.equal(transport.sent.length, 2);
});

t.test('R-MAC mismatch ends the session; later transmits say why', async (t) => {
  const tr = byName('send_apdu_rmac_rencryption');
  const cmd = tr.commands[0]!;
  const tampered = cmd.wire.response.slice(0, 10) + (cmd.wire.response[10] === '0' ? '1' : '0') + cmd.wire.response.slice(11);
  const { channel } = await open(tr, [{ ...cmd.wire, response: tampered }]);
  const err = await channel.transmit(fromHex(cmd.plain)).catch((e: unknown) => e);
  t.ok(err instanceof ResponseProtectionError);
  t.match((err as Error).message, /scp03: R-MAC mismatch \(card sent A6DB42CFE2C1081E, expected [0-9A-F]{16}\)/);
  t.equal(channel.active, false);
  const again = await channel.transmit(fromHex(cmd.plain)).catch((e: unknown) => e);
  t.ok(again instanceof SecureChannelError);
  t.match((again as Error).message, /the secure channel session has ended \(a response failed its protection check/);
});

t.test('error status words come without R-MAC and pass through', async (t) => {
  const tr = byName('send_apdu_rmac_rencryption');
  const { channel } = await open(tr, [{ command: tr.commands[0]!.wire.command, response: '6A82' }]);
  t.equal(toHex(await channel.transmit(fromHex(tr.commands[0]!.plain))), '6A82');
  t.equal(channel.active, true);
});

t.test('a reset ends the session', async (t) => {
  const { channel } = await open(byName('mutual_auth'));
  await channel.reset();
  await t.rejects(channel.transmit(fromHex('80CA006600')), /session has ended \(the card was reset\)/);
  t.throws(() => channel.encryptKey(new Uint8Array(16)), /session has ended/);
});

t.test('block sizes: what fits a short APDU after MAC and padding', async (t) => {
  const cases: [string, number, number][] = [
    ['get_status_mac_only', 0x01, 247],
    ['install_mac_enc', 0x03, 239],
    ['mutual_auth', 0x01, 247],
    ['mutual_auth', 0x03, 239],
    ['mutual_auth', 0x00, 255],
  ];
  for (const [name, level, max] of cases) {
    const tr = byName(name);
    const steps = [tr.initializeUpdate, { ...tr.externalAuthenticate, command: '', prefixOnly: true, rest: '' }];
    const transport = new ScriptedTransport(steps);
    // Any EXTERNAL AUTHENTICATE (its P1 differs from the transcript's) is accepted here.
    const channel = await openSecureChannel(transport, { keys: { enc: fromHex(tr.keys.enc), mac: fromHex(tr.keys.mac), dek: fromHex(tr.keys.dek) }, hostChallenge: fromHex(tr.hostChallenge), securityLevel: level });
    t.equal(channel.maxDataLength(), max, `${channel.protocol} level ${level}: ${max}`);
    t.ok(channel.maxDataLength(200) < 200 || level === 0);
    t.equal(channel.overhead(max) + max <= 255, true);
  }
  const { channel } = await open(byName('mutual_auth'));
  await t.rejects(channel.transmit(new Uint8Array([0x80, 0xe2, 0, 0, 250, ...new Uint8Array(250)])), /255.*send at most 239 plain bytes/);
});

t.test('security levels: names, hex, refusal of undefined levels', async (t) => {
  t.equal(parseSecurityLevel('mac'), 0x01);
  t.equal(parseSecurityLevel('C-MAC+C-DEC'), 0x03);
  t.equal(parseSecurityLevel('mac+enc+rmac+renc'), 0x33);
  t.equal(parseSecurityLevel('13'), 0x13);
  t.equal(describeSecurityLevel(0x33), 'C-MAC + C-DECRYPTION + R-MAC + R-ENCRYPTION (33)');
  t.throws(() => parseSecurityLevel('max'), /not one of clear, mac, mac\+enc/);
  const tr = byName('get_status_mac_only');
  const transport = new ScriptedTransport([tr.initializeUpdate]);
  await t.rejects(openSecureChannel(transport, { keys: GP_TEST_KEY, hostChallenge: fromHex(tr.hostChallenge), securityLevel: 0x33 }), /scp02: security level 51 is not defined for SCP02/);
  const tr3 = byName('get_status_aes_192');
  const t3 = new ScriptedTransport([tr3.initializeUpdate]);
  await t.rejects(openSecureChannel(t3, { keys: fromHex(tr3.keys.enc), hostChallenge: fromHex(tr3.hostChallenge), securityLevel: 0x13 }), /i=10 has no R-MAC support/);
});

t.test('SCP02 i parameter', async (t) => {
  t.same(scp02Options(0x15), { threeKeys: true, macOnModifiedHeader: true, icvEncryption: true, rmac: false, pseudoRandomChallenge: false });
  t.same(scp02Options(0x55).pseudoRandomChallenge, true);
  t.throws(() => scp02Options(0x1a), /implicit initiation/);
  t.throws(() => scp02Options(0x0e), /MAC over the AID/);
});

t.test('SCP02 i=55 (pseudo-random card challenge): the host treats the challenge as opaque', async (t) => {
  const tr = byName('get_status_mac_only');
  const transport = new ScriptedTransport([tr.initializeUpdate, tr.externalAuthenticate, tr.commands[0]!.wire]);
  const channel = await openSecureChannel(transport, { keys: GP_TEST_KEY, hostChallenge: fromHex(tr.hostChallenge), scp02i: 0x55 });
  t.equal(channel.session.i, 0x55);
  await channel.transmit(fromHex(tr.commands[0]!.plain));
  t.same(transport.mismatches, [], 'i=55 wraps exactly like i=15');
});

t.test('key sources: static, master + emv/visa2/kdf3, wrong template for the protocol', async (t) => {
  const kdd = fromHex('00010203040506070809');
  const master = fromHex('404142434445464748494A4B4C4D4E4F');
  const emv = masterKeySource(master, 'emv').keysFor(kdd, 2);
  t.equal(toHex(emv.mac), toHex(diversifyEmv(master, kdd, 'mac')));
  t.equal(toHex(masterKeySource(master, 'visa2').keysFor(kdd, 2).dek), toHex(diversifyVisa2(master, kdd, 'dek')));
  t.equal(toHex(masterKeySource(master, 'kdf3').keysFor(kdd, 3).enc), toHex(diversifyKdf3(master, kdd, 'enc')));
  t.throws(() => masterKeySource(master, 'kdf3').keysFor(kdd, 2), /kdf3 derives AES keys for SCP03/);
  t.throws(() => masterKeySource(master, 'emv').keysFor(kdd, 3), /emv derives 3DES keys for SCP02/);
  t.equal(masterKeySource(master, 'emv').description, 'master KCV 8BAF47, emv');
  t.equal(staticKeySource(master).description, 'key KCV 8BAF47');
  t.throws(() => staticKeySource(new Uint8Array(15)).keysFor(kdd, 2), /scp02: ENC key must be 16 bytes/);
});
