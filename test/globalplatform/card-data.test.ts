// Decoders of what a GP card reports: CPLC (with YDDD dates), card recognition data, key
// information template, SD FCI, registry entries in both GET STATUS formats, names of life cycle
// states and privileges.
import t from 'tap';
import { fromHex } from '../../bytes/index.js';
import { buildTlv } from '../../iso7816/index.js';
import {
  applicationLifeCycleName,
  cardLifeCycleName,
  decodeCardRecognitionData,
  decodeCplc,
  decodeCplcDate,
  decodeKeyInformation,
  decodePrivileges,
  decodeSdFci,
  GpDataError,
  parseStatusLegacy,
  parseStatusTags,
} from '../../globalplatform/index.js';

t.test('CPLC: 18 fields, dates from YDDD against a reference year', async (t) => {
  const body = '4790' + '5040' + '4791' + '2081' + '3B00' + '4065' + '01020304' + '0506' + '4812' + '4066' + '4090' + '4067' + '0000' + '0000' + '00000000' + '0000' + '0000' + '00000000';
  const cplc = decodeCplc(fromHex('9F7F2A' + body), 2025);
  t.equal(cplc.icFabricator, '4790');
  t.equal(cplc.icSerialNumber, '01020304');
  t.same(cplc.operatingSystemReleaseDate, { raw: '2081', date: '2022-03-22' });
  t.same(cplc.icFabricationDate, { raw: '4065', date: '2024-03-05' }, 'leap year: day 65 is 5 March');
  t.same(cplc.icPersonalizationDate, { raw: '0000', date: undefined }, 'day 000: not set');
  t.same(decodeCplc(fromHex(body), 2025), cplc, 'with or without the 9F7F wrapper');
  t.same(decodeCplcDate(fromHex('5001'), 2024), { raw: '5001', date: '2015-01-01' }, 'a year digit after the reference year goes to the decade before');
  t.same(decodeCplcDate(fromHex('1366'), 2025), { raw: '1366', date: undefined }, 'day 366 of a year that has none');
  t.same(decodeCplcDate(fromHex('2A01'), 2025).date, undefined);
  t.throws(() => decodeCplc(fromHex('9F7F0400000000')), GpDataError);
});

t.test('card recognition data (GET DATA 66)', async (t) => {
  const oid = (tail: string) => buildTlv(0x06, fromHex(`2A864886FC6B${tail}`));
  const crd = buildTlv(0x66, [
    buildTlv(0x73, [
      oid('01'),
      buildTlv(0x60, [oid('02020101')]),
      buildTlv(0x63, [oid('03')]),
      buildTlv(0x64, [oid('040215')]),
      buildTlv(0x64, [oid('040370')]),
      buildTlv(0x65, [buildTlv(0x06, fromHex('2A864886FC6B05'))]),
    ]),
  ]);
  const d = decodeCardRecognitionData(crd);
  t.equal(d.gpVersion, '2.1.1');
  t.same(d.scps, [{ scp: 2, i: 0x15 }, { scp: 3, i: 0x70 }]);
  t.equal(d.cardIdentificationScheme, '2A864886FC6B03');
  t.equal(d.configurationDetails, '06072A864886FC6B05');
  t.throws(() => decodeCardRecognitionData(fromHex('6602AB')), GpDataError);
  t.throws(() => decodeCardRecognitionData(fromHex('66020400')), /no 73 template/);
});

t.test('key information template: basic and extended formats', async (t) => {
  const basic = decodeKeyInformation(fromHex('E012C00401208010C00402208010C00403208010'));
  t.same(basic.map((k) => [k.id, k.version, k.components[0]!.typeName, k.components[0]!.length]), [
    [1, 0x20, 'DES', 16],
    [2, 0x20, 'DES', 16],
    [3, 0x20, 'DES', 16],
  ]);
  const extended = decodeKeyInformation(fromHex('E00CC00A0130FF880010FF880020'));
  t.same(extended[0]!.components, [
    { type: 0x88, typeName: 'AES', length: 16 },
    { type: 0x88, typeName: 'AES', length: 32 },
  ]);
});

t.test('SD FCI: AID, 9F65 block limit, life cycle data', async (t) => {
  const fci = decodeSdFci(fromHex('6F108408A000000151000000A5049F6501FF'));
  t.same(fci, { aid: 'A000000151000000', maxCommandDataLength: 255 });
  t.same(decodeSdFci(fromHex('FFFF')), {}, 'garbage gives an empty result, not an error');
});

t.test('registry: tag format and the fixed format', async (t) => {
  const tags = parseStatusTags(buildTlv(0xe3, [buildTlv(0x4f, fromHex('A0000001515350')), buildTlv(0x9f70, Uint8Array.of(7)), buildTlv(0xc5, fromHex('000000')), buildTlv(0xea, fromHex('8000'))]), 'application');
  t.match(tags[0], { aid: 'A0000001515350', lifeCycleName: 'SELECTABLE', privileges: '000000', other: { EA: '8000' } });
  const legacy = parseStatusLegacy(fromHex('07A00000015153500700' + '08A0000001510000000F9E'), 'application', false);
  t.same(legacy.map((e) => [e.aid, e.lifeCycleName, e.privilegeNames.length]), [
    ['A0000001515350', 'SELECTABLE', 0],
    ['A000000151000000', 'PERSONALIZED', 5],
  ]);
  const modules = parseStatusLegacy(fromHex('07A0000000620101010001' + '08A000000062010101'), 'load-file', true);
  t.same(modules[0]!.modules, ['A000000062010101']);
  t.throws(() => parseStatusTags(fromHex('E1024F00'), 'application'), /expected E3 templates/);
  t.throws(() => parseStatusLegacy(fromHex('07A000'), 'application', false), /runs past the end/);
});

t.test('life cycle and privilege names', async (t) => {
  t.equal(cardLifeCycleName(0x0f), 'SECURED');
  t.equal(cardLifeCycleName(0x7f), 'CARD_LOCKED');
  t.equal(cardLifeCycleName(0xff), 'TERMINATED');
  t.equal(applicationLifeCycleName(0x87, false), 'LOCKED (SELECTABLE)');
  t.equal(applicationLifeCycleName(0x0f, true), 'PERSONALIZED');
  t.equal(applicationLifeCycleName(0x3f, false), 'SELECTABLE, application-specific state 3F');
  t.same(decodePrivileges(fromHex('C1')), ['SecurityDomain', 'DAPVerification', 'MandatedDAPVerification']);
});
