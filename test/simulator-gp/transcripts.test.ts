// Published GlobalPlatform transcripts reproduced from the CARD side: with the card challenge (or
// the sequence counter that yields it) of the transcript, the simulated card must produce the
// published INITIALIZE UPDATE response byte for byte and accept the published EXTERNAL
// AUTHENTICATE and the commands after it. Sources: kaoh/globalplatform (SCP03:
// scp03Test.c mutual_auth), kaoh/globalplatform globalplatform/src/scp03Test.c
// (delete_application, get_status, send_apdu_rmac_rencryption) and scp02Test.c
// (get_status_mac_only, install_mac_enc), OpenJavaCard/openjavacard-tools GPKeySetTest (session
// keys); the derived values are also in test-vectors/scp02.json and scp03.json.
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { mac9797, scp03Kdf } from '../../crypto/index.js';
import { createGpCard, saveGpCardImage, type GpCard, type GpCardImage, type GpCardOptions } from '../../simulator/gp/index.js';
import { h, send, swHex } from './fixtures/host.js';

const SCP03_KEYS = { enc: h('F995D0A069335C7DF42E590317FFEA6D'), mac: h('58563362EC5A4541ABCD32B34B1EAE7D'), dek: h('0A02A6D687406DCFA09DC70B3EDB7E38') };

function scp03Card(counter: number): GpCard {
  const card = createGpCard({ scp: '03', i: 0x70, keys: SCP03_KEYS, keyVersion: 0x30, kdd: new Uint8Array(10), sequenceCounter: counter });
  card.powerOn('contact');
  return card;
}

/** A card like `opts` whose registry also holds the given load files / applications (as a card that was used before). */
function withRegistry(opts: GpCardOptions, edit: (image: GpCardImage) => void): GpCard {
  const { random, ...config } = opts;
  const image = saveGpCardImage(createGpCard(config));
  edit(image);
  const card = random ? createGpCard({ image, random }) : createGpCard({ image });
  card.powerOn('contact');
  return card;
}

t.test('SCP03 i=70 published transcript (kaoh mutual_auth)', async (t) => {
  const card = scp03Card(0x1e);
  const iu = send(card, '80500000089BD6BF878FB8E99100');
  t.equal(toHex(iu.data), '00000000000000000000' + '300370' + '3C80C2CC87EB3A35' + 'E4EDBA35E629C336' + '00001E', 'INITIALIZE UPDATE response byte for byte');
  t.equal(swHex(iu.sw), '9000');
  const ea = send(card, '848203001023EBFEDC579D22CDCDB6A25A5FF7891F');
  t.equal(swHex(ea.sw), '9000', 'published EXTERNAL AUTHENTICATE accepted');
  t.equal(ea.data.length, 0);
  t.equal(toHex(send(card, '00CA00C100').data), 'C10300001F', 'the counter moved on (ISO-class GET DATA needs no C-MAC)');
});

t.test('SCP03: a modified EXTERNAL AUTHENTICATE is refused with 6300 and the session is closed', async (t) => {
  for (const [what, apdu] of [
    ['cryptogram byte changed', '848203001023EBFEDC579D22CCCDB6A25A5FF7891F'],
    ['cryptogram and MAC swapped', '8482030010CDB6A25A5FF7891F23EBFEDC579D22CD'],
  ] as const) {
    const card = scp03Card(0x1e);
    send(card, '80500000089BD6BF878FB8E99100');
    t.equal(swHex(send(card, apdu).sw), '6300', what);
    t.equal(swHex(send(card, '848203001023EBFEDC579D22CDCDB6A25A5FF7891F').sw), '6985', `${what}: no session to retry on`);
    t.equal(swHex(send(card, '84F2800018' + '00'.repeat(24)).sw), '6982', `${what}: wrapped commands refused`);
  }
  const card = scp03Card(0x1e);
  send(card, '80500000089BD6BF878FB8E99100');
  t.equal(swHex(send(card, '848203001023EBFEDC579D22CDCDB6A25A5FF7891E').sw), '6982', 'right cryptogram, wrong C-MAC: 6982');
});

t.test('SCP03 kaoh delete_application: C-DECRYPTION + C-MAC DELETE', async (t) => {
  const card = withRegistry({ scp: '03', i: 0x70, keys: SCP03_KEYS, keyVersion: 0x30, kdd: new Uint8Array(10), sequenceCounter: 0x15 }, (img) => {
    img.loadFiles.push({ aid: 'A00100015141434C', version: '1.0', sd: 'A000000151000000', modules: [], size: 100, builtin: false });
  });
  const iu = send(card, '8050000008B2BDE1A2DC66BD5600');
  t.equal(toHex(iu.data), '00000000000000000000' + '300370' + 'C40932A6FEFEAEB2' + 'E127185170F45FCA' + '000015');
  t.equal(swHex(send(card, '848203001059D54D932423D29F6313C970875F8C2F').sw), '9000');
  const del = send(card, '84E400801829F06AEC3180B3EFE91FF662310B945DE0D5FE66AD67A5B6');
  t.equal(toHex(del.data) + swHex(del.sw), '009000', 'DELETE [and related] of A00100015141434C accepted');
  t.notOk(saveGpCardImage(card).loadFiles.some((lf) => lf.aid === 'A00100015141434C'), 'and the load file is gone');
});

t.test('SCP03 kaoh get_status: C-DECRYPTION + C-MAC GET STATUS', async (t) => {
  const card = withRegistry({ scp: '03', i: 0x70, keys: SCP03_KEYS, keyVersion: 0x30, kdd: new Uint8Array(10), sequenceCounter: 0x25 }, (img) => {
    img.loadFiles.push({ aid: 'A0000005591010', version: '1.0', sd: 'A000000151000000', modules: ['A0000005591010FFFFFFFF8900001000'], size: 100, builtin: false });
    img.applications.push({
      aid: 'A0000005591010FFFFFFFF8900001000',
      loadFile: 'A0000005591010',
      module: 'A0000005591010FFFFFFFF8900001000',
      lifeCycle: 0x07,
      privileges: '000000',
      sd: 'A000000151000000',
    });
  });
  const iu = send(card, '8050000008A6D40AEC55FE798600');
  t.equal(toHex(iu.data), '00000000000000000000' + '300370' + 'B6E362D0F90F8101' + 'C34B7B21A7455320' + '000025');
  t.equal(swHex(send(card, '84820300103D958B36BB38AE5896A559345F81471A').sw), '9000');
  const gs = send(card, '84F2400218D18C9A7BB2B1B1C7ED1B24E1B1307CB9D71A66ABC55CBC3A00');
  t.equal(swHex(gs.sw), '9000', 'GET STATUS (applications, tag format) accepted');
  t.equal(toHex(gs.data), 'E3' + '2E' + '4F10A0000005591010FFFFFFFF8900001000' + '9F700107' + 'C503000000' + 'C407A0000005591010' + 'CC08A000000151000000');
});

t.test('SCP02 i=15 kaoh get_status_mac_only', async (t) => {
  const challenges = [h('AA2A0591E733')];
  const card = createGpCard({
    scp: '02',
    i: 0x15,
    keyVersion: 0x01,
    kdd: h('000074746E6E6E626262'),
    sequenceCounter: 0x069f,
    random: (n) => challenges.shift()!.slice(0, n),
  });
  card.powerOn('contact');
  const iu = send(card, '8050000008D5AD539A60CA5E7200');
  t.equal(toHex(iu.data) + swHex(iu.sw), '000074746E6E6E6262620102069FAA2A0591E73367DD78794D04315E9000', 'INITIALIZE UPDATE response byte for byte');
  t.equal(swHex(send(card, '84820100107C799B3C771DBAE6BEF49310977617BA').sw), '9000', 'EXTERNAL AUTHENTICATE (C-MAC) accepted');
  const gs = send(card, '84F220020A4F00BB6E71C0EFCFCF0D00');
  t.equal(swHex(gs.sw), '9000', 'GET STATUS with the chained, encrypted-ICV C-MAC accepted');
  t.equal(toHex(gs.data), 'E3' + '17' + '4F07A0000001515350' + '9F700101' + 'CC08A000000151000000', 'the built-in SSD package is listed');
});

t.test('SCP02: a modified EXTERNAL AUTHENTICATE of the kaoh transcript is refused with 6300', async (t) => {
  const run = (extAuth: string): string[] => {
    const challenges = [h('AA2A0591E733')];
    const card = createGpCard({ scp: '02', i: 0x15, keyVersion: 0x01, kdd: h('000074746E6E6E626262'), sequenceCounter: 0x069f, random: (n) => challenges.shift()!.slice(0, n) });
    card.powerOn('contact');
    send(card, '8050000008D5AD539A60CA5E7200');
    return [swHex(send(card, extAuth).sw), swHex(send(card, '84F220020A4F00BB6E71C0EFCFCF0D00').sw)];
  };
  t.same(run('84820100107C799B3C771DBAE6BEF49310977617BA'), ['9000', '9000'], 'the published one');
  t.same(run('84820100107C799B3C771DBAE7BEF49310977617BA'), ['6300', '6982'], 'cryptogram changed: 6300, then no session');
  t.same(run('84820300107C799B3C771DBAE6BEF49310977617BA'), ['6982', '6982'], 'security level changed: the C-MAC no longer fits');
});

t.test('SCP02 i=15 kaoh install_mac_enc: DELETE, INSTALL [for load], LOAD of a real CAP, INSTALL [for install and make selectable]', async (t) => {
  const challenges = [h('5086BBEE58F4')];
  const card = withRegistry(
    {
      scp: '02',
      i: 0x15,
      keyVersion: 0x01,
      kdd: h('000074746E6E6E626262'),
      sequenceCounter: 0x06a1,
      isdAid: h('A000000003000000'),
      random: (n) => challenges.shift()!.slice(0, n),
    },
    (img) => {
      img.loadFiles.push({ aid: 'D0D1D2D3D4D501', version: '1.0', sd: 'A000000003000000', modules: ['D0D1D2D3D4D50101'], size: 300, builtin: false });
    },
  );
  const iu = send(card, '8050000008EBAA9E53C696281B00');
  t.equal(toHex(iu.data) + swHex(iu.sw), '000074746E6E6E626262010206A15086BBEE58F467149061DA4B6EAE9000');
  t.equal(swHex(send(card, '848203001005814C116071EB67D8BA9D9879454564').sw), '9000', 'EXTERNAL AUTHENTICATE (C-DEC + C-MAC) accepted');
  const steps: [string, string, string][] = [
    ['DELETE D0D1D2D3D4D50101 (absent)', '84E4008018BC146FA0403BE4BAD3BC089E4ABD8674DA7EFEA21047B85800', '6A88'],
    ['DELETE D0D1D2D3D4D501', '84E4008018C2748C1669FAFC0E20C5253680388A4A49C9A6038D77B45700', '009000'],
    ['INSTALL [for load]', '84E60200280839B761AA201C218FD6607C56803CFD2D098CBAA9946976EEFAE3F210038EB4965D6E04EDEF801700', '009000'],
    [
      'LOAD block 0',
      '84E80000F8562EFDC9F22082A5184831F1DA6A0F495C5DF0FD71E8014A2B94EA81069FB630346197CDF1C3BD9CDBDD9513BFE6FE7992730FCF2089019D1374DA1021BD74E2085B806B8DA57431FF008406E1C695F2E27E0C2A554E01047B9B36F4058CFC1C2FB8D0A45B01C626DF5CB2509436283BE22B9E7750B3B7F36E29E3C97C69533B35C2DBEF13904D06E96BEBB6FA38D3E7EB7EB9170F3004824F5A32278AE7CBC3E591BA0C79B090FBD8038B60AC5F83E4E250B32AD5B92768E775AA974A4FAFC81356FA333D5AB4FAF1A0056E08420AF95D18CA0DF726BA560C5C340CCA81A1BEA294AAFE3AED250EF6865AA2D3F11D058FDFE5EE7622AE19',
      '9000',
    ],
    [
      'LOAD block 1 (last)',
      '84E88001787FFE538F755D612CEE738FA68E177E8E146E66EF2A840387F7086C1CA8659C9F985585E11001A12D4940CB3EF200DFEC9EC7FB59CADED4A7F82EDA5BE808552A3CD3B65D41F9F61A23E6FDA2C1BF2493F4929950FA62030FF023B34398247A2E01BBF949E819B5EEA117DC6E0D91D40D85ABDE0BC2A76D8600',
      '009000',
    ],
    ['INSTALL [for install and make selectable]', '84E60C00300839B761AA201C21EDAE7D003F76B62164B363AF56A2C7FE12AEF9FDC790DFC8FFE6B0346E9BF02674684247652F109A00', '009000'],
  ];
  for (const [what, apdu, want] of steps) {
    const r = send(card, apdu);
    t.equal(toHex(r.data) + swHex(r.sw), want, what);
  }
  const image = saveGpCardImage(card);
  const lf = image.loadFiles.find((e) => e.aid === 'D0D1D2D3D4D501');
  t.ok(lf, 'the HelloWorld package is loaded again');
  t.same(lf?.modules, ['D0D1D2D3D4D50101'], 'its applet AID, read from the Applet component of the real CAP');
  t.equal(card.internalErrors, 0);
  const app = image.applications.find((a) => a.aid === 'D0D1D2D3D4D50101');
  t.ok(app, 'the applet instance is installed');
  t.equal(app?.lifeCycle, 0x07, 'SELECTABLE');
  t.equal(app?.privileges, '020000', 'privileges 02 as in "-priv 2"');
  t.equal(swHex(send(card, '00A4040008D0D1D2D3D4D50101').sw), '9000', 'and selectable');
});

t.test('SCP03 level 33 kaoh send_apdu_rmac_rencryption: card cryptogram, EXTERNAL AUTHENTICATE and three C-DEC + C-MAC commands', async (t) => {
  // The transcript's INITIALIZE UPDATE response is a mock (key version 00, a challenge that is not
  // the i=70 pseudo-random one), but cryptograms depend on the challenges only: an i=60 card
  // (random challenge, R-MAC and R-ENC) given the transcript's card challenge must compute the
  // published card cryptogram and accept the host's published commands.
  const challenges = [h('A5874C57119B976B')];
  const card = createGpCard({ scp: '03', i: 0x60, kdd: h('00010203040506070809'), random: (n) => challenges.shift()!.slice(0, n) });
  card.powerOn('contact');
  const iu = send(card, '80500000082C8130E574247B1B00');
  t.equal(toHex(iu.data), '00010203040506070809' + 'FF0360' + 'A5874C57119B976B' + 'F94879E36F29E039', 'published card cryptogram F94879E36F29E039');
  t.equal(swHex(send(card, '8482330010A75F1CD48F3B93DFA57E690937921F92').sw), '9000', 'published EXTERNAL AUTHENTICATE at level 33');
  const commands = [
    '84400000B80422E602DD973125102DDE05875CA115C04D811A40593DB9D9480927CC9A249BD118FB6C674A86BF70D0CD898153A438DAC4CD302B74876D718481FCDB9D39944453BEBD28832300C99FB8035D2DFF3E3CB3F5DAD568330127929207A179226EB5C6C52341A297CB2C8F25E481F1CE6EF6EADD2410E70EB268AF48D29CB20CFCB8448DE83235ADA96A5EEED379C0701924707DA111DBB9039ACF8E19F1CE62AA4EF26D7C871E842ED815245F7F2D9A9A87D9BDA54B188DCB',
    '84400000B803C6D93C9A2EBE310E2215CEAC64C9CB8A03A89657272AE001E398FB7A7F42E02210672D0927DBE2BF6F80AA322D948C2743EFBA75EC51FD9BC5E6B4306371916CC50B0F341177FB99091F560A37C88D1A387443792E128A3A04118D0EA9F8EC989012FE4E097440411852373B4470851AC573A0B15262E506B34F771DCC53A24E91FAD37FE67454FAAFEFCC3E2F7141DCD7174D88933629E632C1CFDD5D1D30017D0CA14FE32A022F064C93EB4769F5A497BE036C5A563F',
    '84400000B8982E6E5F120796589037A751431F835CCF17C5A13CB4D7F5E0948CF48538FEDCD6F2F0A54F813E8BA755DFE22F7B847BF6A8BBDB1FEEC531B44D01B92BD55EEAA5B55B770AF293E4995E14E3076A40A89ED21A6C2F3772839E6E9A31FAB4B493AB31FE1D951AD11D9924DF15C1C33A5F3C90D168E2A78437ED40601B5289C56F2F020C78744C8C22141A2FCFFADB4B4FDE504EFABA6DD9D5EAD7E0F7D57B58F97C28DACD4C9E93052A0F16EFDF2A41DDFE373917C351B9B8',
  ];
  commands.forEach((c, k) => {
    const r = send(card, c);
    // C-MAC verified and the data decrypted with a valid padding (else 6982): INS 40 then is not
    // an ISD command, an error status word that SCP03 returns unprotected.
    t.equal(toHex(r.data) + swHex(r.sw), '6D00', `command ${k + 1}: C-MAC chain and C-DEC counter ${k + 1} accepted`);
  });
});

t.test('openjavacard GPKeySetTest session keys, seen through the card cryptograms', async (t) => {
  for (const [counter, sEnc] of [
    [0x0000, '010B0371D78377B801F2D62AFC671D95'],
    [0xffff, 'E75ADAAF916DE18A01AB9ACC6EF84B8B'],
  ] as const) {
    const card = createGpCard({ scp: '02', i: 0x55, sequenceCounter: counter });
    card.powerOn('contact');
    const r = send(card, '80500000080102030405060708' + '00');
    const expected = mac9797({ alg: 'des3', algorithm: 1, padding: 2, key: h(sEnc), data: concat(h('0102030405060708'), r.data.subarray(12, 20)) });
    t.equal(toHex(r.data.subarray(20, 28)), toHex(expected), `SCP02 counter ${counter.toString(16)}: card cryptogram under the published S-ENC`);
  }
  const challenges = [h('31900058C1C451A2')];
  const card = createGpCard({ scp: '03', i: 0x00, random: (n) => challenges.shift()!.slice(0, n) });
  card.powerOn('contact');
  const r = send(card, '8050000008A7F76C713F0A713D00');
  const ctx = h('A7F76C713F0A713D31900058C1C451A2');
  t.equal(toHex(r.data.subarray(21, 29)), toHex(scp03Kdf(h('053DB6ABC7FDF3B63A0D965EE16B0255'), 0x00, ctx, 64)), 'SCP03: card cryptogram under the published S-MAC');
});
