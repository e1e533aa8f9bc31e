// ISO/IEC 7816-4 file system of the simulated card: SELECT (every P1, P2), FCP/FCI as
// docs/simulator.md lays them out, READ/UPDATE BINARY, READ/UPDATE/APPEND RECORD for every EF
// structure (and the tag-as-record-number rule of SIMPLE-TLV files), access conditions and the
// security status reset. Expected bytes are written from the documented formats.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { extAuth, h, macApdu, send, sw, TRANSPORT } from './fixtures/helpers.js';
import { KL, KX, layoutCard } from './fixtures/layout.js';

// FCP of EF 1001: 82 01 01 | 83 02 1001 | 80 02 0010 | 88 01 08 (SFI 1 in b8-b4) | 8A 01 05 | 86 03 00 00 FF
const FCP_1001 = '6216' + '820101' + '83021001' + '80020010' + '880108' + '8A0105' + '86030000FF';
// DF A: 82 01 38 | 83 02 1000 | 84 07 name | 81 02 total (64 + EFs: 48+44+62+38+80+40+40+64 = 480) | 8A 01 05 | 86 03 20 FF 00
const FCP_A = '621C' + '820138' + '83021000' + '8407A0000000010001' + '810201E0' + '8A0105' + '860320FF00';

t.test('SELECT: P2 answers and FCP/FCI bytes', async (t) => {
  const card = layoutCard();
  t.equal(send(card, '00A40004021000').hex, FCP_A + '9000', 'P1 00 FID, P2 04 → FCP');
  t.equal(send(card, '00A40000021000').hex, '6F' + FCP_A.slice(2) + '9000', 'P2 00 → FCI: the same objects in 6F');
  t.equal(send(card, '00A4000C021000').hex, '9000', 'P2 0C → no data');
  t.equal(send(card, '00A4020402100100').hex, FCP_1001 + '9000', 'P1 02 EF, case 4');
  // Linear fixed 1002: 82 05 02 21 0004 03 | 80 02 000C (4 × 3) | 88 01 10 | 86 03 00 00 00
  t.equal(send(card, '00A40204021002').hex, '621A' + '82050221000403' + '83021002' + '8002000C' + '880110' + '8A0105' + '8603000000' + '9000');
  // Internal EF 1008: FDB 09, no SFI; the layout left its append condition at FF.
  t.equal(send(card, '00A40204021008').hex, '6213' + '820109' + '83021008' + '80020020' + '8A0105' + '86030000FF' + '9000');
  // MF: 82 01 38 | 83 02 3F00 | 81 02 total | 8A 01 05 | 86 03 20 20 00 (create and key write: key 00)
  const mf = send(card, '00A40004023F00');
  t.equal(mf.sw, 0x9000);
  t.match(toHex(mf.data), /^621382013883023F008102[0-9A-F]{4}8A01058603202000$/);
  t.equal(send(card, '00A40008021000').swHex, '6A86', 'P2 08 (FMD) is not supported');
  t.equal(send(card, '00A40010021000').swHex, '6A86', 'P2 b8-b5 must be 0');
  t.equal(send(card, '00A40001021000').swHex, '6A86', 'occurrence bits only with P1 04');
  t.equal(send(card, '00A40403021000').swHex, '6A86', 'previous occurrence is not supported');
});

t.test('SELECT by FID: P1 00 search order, 01, 02, 03', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C00'.slice(0, 8)), '9000', 'P1 00 without data → MF');
  t.equal(sw(card, '00A4000C023F00'), '9000');
  t.equal(sw(card, '00A4000C021000'), '9000', 'child DF of the MF');
  t.equal(sw(card, '00A4000C021001'), '9000', 'child EF of DF A');
  t.equal(sw(card, '00A4000C022000'), '9000', "from an EF in DF A: DF B is found among the parent's children");
  t.equal(sw(card, '00A4000C022001'), '9000', 'now in DF B');
  t.equal(sw(card, '00A4000C022000'), '9000', 'the current DF itself');
  t.equal(sw(card, '00A4000C021001'), '6A82', 'an EF of a sibling DF is not found');
  t.equal(sw(card, '00A4010C022100'), '9000', 'P1 01: child DF');
  t.equal(sw(card, '00A4010C022101'), '6A82', 'P1 01 does not select EFs');
  t.equal(sw(card, '00A4020C022101'), '9000', 'P1 02: EF under the current DF');
  t.equal(sw(card, '00A4020C022100'), '6A82', 'P1 02 does not select DFs');
  t.equal(sw(card, '00A4030C'), '9000', 'P1 03: parent of DF C is DF B');
  t.equal(sw(card, '00A4020C022001'), '9000', 'we are in DF B');
  t.equal(sw(card, '00A4030C'), '9000', 'parent of DF B is the MF');
  t.equal(sw(card, '00A4030C'), '6A82', 'the MF has no parent');
  t.equal(sw(card, '00A4000C0210'), '6700', 'FID must be 2 bytes');
  t.equal(sw(card, '00A4010C'), '6700', 'P1 01 needs a FID');
  t.equal(sw(card, '00A4030C021000'), '6700', 'P1 03 takes no data');
  t.equal(sw(card, '00A4050C021000'), '6A86', 'P1 05 is not a selection method');
  t.equal(sw(card, '00A4000C029999'), '6A82');
});

t.test('SELECT by DF name: first and next occurrence, right-truncated names', async (t) => {
  const card = layoutCard();
  // Tree order: MF, 0101, DF A, …, DF B, 2001, DF C, 2101.
  t.equal(sw(card, '00A4040C07A0000000010002'), '9000', 'B (first occurrence)');
  t.equal(send(card, '00A4040407A0000000010002').hex.match(/8302(....)/)?.[1], '2000', 'first occurrence is DF B');
  t.equal(send(card, '00A4040607A0000000010002').hex.match(/8302(....)/)?.[1], '2100', 'next occurrence after B is C (A000000001000201)');
  t.equal(sw(card, '00A4040E07A0000000010002'), '6A82', 'no occurrence after C');
  t.equal(send(card, '00A4040405A000000001').hex.match(/8302(....)/)?.[1], '1000', 'partial name: first is DF A');
  t.equal(send(card, '00A4040605A000000001').hex.match(/8302(....)/)?.[1], '2000', 'next: DF B');
  t.equal(send(card, '00A4040605A000000001').hex.match(/8302(....)/)?.[1], '2100', 'next: DF C');
  t.equal(sw(card, '00A4040C05A000000009'), '6A82');
  t.equal(sw(card, '00A4040C'), '6700', 'a name is 1..16 bytes');
  t.equal(sw(card, '00A4040C11' + '00'.repeat(17)), '6700');
});

t.test('SELECT by path: P1 08 from the MF, 09 from the current DF', async (t) => {
  const card = layoutCard();
  t.equal(send(card, '00A4080404' + '20002100').hex.match(/8302(....)/)?.[1], '2100', '2000/2100');
  t.equal(send(card, '00A4080406' + '3F0020002100').hex.match(/8302(....)/)?.[1], '2100', 'a leading 3F00 is accepted');
  t.equal(send(card, '00A4080406' + '200021002101').hex.match(/8302(....)/)?.[1], '2101', 'down to an EF');
  t.equal(sw(card, '00A4080C04' + '10002100'), '6A82', '2100 is not under 1000');
  t.equal(sw(card, '00A4080C04' + '01012100'), '6A82', 'cannot go through an EF');
  t.equal(sw(card, '00A4080C03' + '200021'), '6700', 'odd length');
  t.equal(sw(card, '00A4000C023F00'), '9000');
  t.equal(send(card, '00A4090404' + '20002100').hex.match(/8302(....)/)?.[1], '2100', 'P1 09 from the MF');
  t.equal(send(card, '00A4090402' + '2101').hex.match(/8302(....)/)?.[1], '2101', 'P1 09 from DF C');
});

t.test('READ / UPDATE BINARY', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00B0000010'), '6986', 'no current EF after selecting a DF');
  t.equal(send(card, '00B0810000').hex, '00'.repeat(16) + '9000', 'SFI 1 (P1 81), Le 00: the whole 16-byte file');
  t.equal(sw(card, '00D6000403AABBCC'), '9000', 'the SFI read made 1001 current');
  t.equal(send(card, '00B0000305').hex, '00AABBCC00' + '9000');
  t.equal(send(card, '00B0810E04').hex, '0000' + '6282', 'explicit Le past the end: what there is + 6282');
  t.equal(sw(card, '00B0811001'), '6B00', 'offset = size');
  t.equal(sw(card, '00B0001001'), '6B00', 'offset in P1-P2');
  t.equal(sw(card, '00D6000F020102'), '6A84', 'update past the end');
  t.equal(sw(card, '00D60010010102'.slice(0, 12)), '6B00', 'update at offset = size');
  t.equal(sw(card, '00D60000'), '6700', 'update without data');
  t.equal(sw(card, '00B00000'), '6700', 'read without Le');
  t.equal(sw(card, '00B00000020102' + '00'), '6700', 'read with a data field');
  t.equal(sw(card, '00B0820000'), '6981', 'SFI 2 is a record file');
  t.equal(sw(card, '00B0A10000'), '6A86', 'P1 b7-b6 must be 0 with an SFI');
  t.equal(sw(card, '00B09F0000'), '6A86', 'SFI 31 is reserved');
  t.equal(sw(card, '00B0890000'), '6A82', 'no EF with SFI 9');
  t.equal(sw(card, '00A4020C021008'), '9000');
  t.equal(sw(card, '00B0000000'), '6982', 'an internal EF is never read');
  t.equal(sw(card, '00D6000002ABCD'), '9000', 'but it can be written');
  t.equal(send(card, '00B000000010'.slice(0, 10) + '0010'.slice(0, 0)).swHex, '6982');
  // Extended form (case 2E): Le 0010.
  t.equal(sw(card, '00A4020C021001'), '9000');
  t.equal(send(card, '00B0000400' + '0004').hex, 'AABBCC00' + '9000', 'extended Le (case 2E)');
});

t.test('records: linear fixed', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00B2011400'), '6A83', 'empty file (P2 = SFI 2 << 3 | 100)');
  t.equal(sw(card, '00E200100401020304'), '9000');
  t.equal(sw(card, '00E200100405060708'), '9000');
  t.equal(sw(card, '00E20010040A0B0C0D'), '9000');
  t.equal(sw(card, '00E2001004FFFFFFFF'), '6A84', 'all 3 records used');
  t.equal(sw(card, '00E2001003010203'), '6700', 'fixed length is 4');
  t.equal(send(card, '00B2021400').hex, '05060708' + '9000');
  t.equal(send(card, '00B2021404').hex, '05060708' + '9000', 'exact Le');
  t.equal(sw(card, '00B2021402'), '6C04', 'Le too small (T=1): 6C with the record length');
  t.equal(sw(card, '00DC021404AAAAAAAA'), '9000');
  t.equal(send(card, '00B2001400').hex, 'AAAAAAAA' + '9000', 'P1 00 = the current record');
  t.equal(send(card, '00B2030400').hex, '0A0B0C0D' + '9000', 'SFI 0 = the current EF');
  t.equal(sw(card, '00B2041400'), '6A83');
  t.equal(sw(card, '00B2011000'), '6981', 'record identifiers (b3-b1 = 000) need a SIMPLE-TLV file');
  t.equal(sw(card, '00B2011500'), '6A86', 'b3-b1 = 101 is not supported');
  t.equal(sw(card, '00E2011004AAAAAAAA'), '6A86', 'APPEND: P1 must be 00');
  t.equal(sw(card, '00E2001404AAAAAAAA'), '6A86', 'APPEND: b3-b1 must be 000');
  t.equal(sw(card, '00B201FC00'), '6A86', 'SFI 31');
  t.equal(sw(card, '00B2010C00'), '6981', 'SFI 1 is transparent');
});

t.test('records: linear variable and cyclic', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00E2001801AA'), '9000', 'SFI 3: one byte');
  t.equal(sw(card, '00E200180A' + '11'.repeat(10)), '9000', 'ten bytes (the maximum)');
  t.equal(sw(card, '00E200180B' + '11'.repeat(11)), '6700');
  t.equal(send(card, '00B2011C00').hex, 'AA9000');
  t.equal(sw(card, '00DC011C03BBCCDD'), '9000', 'a record may change length');
  t.equal(send(card, '00B2011C00').hex, 'BBCCDD9000');
  // Cyclic 1004 (SFI 4, 3 records of 2): record 1 is always the newest.
  for (const r of ['0001', '0002', '0003', '0004']) t.equal(sw(card, '00E2002002' + r), '9000');
  t.equal(send(card, '00B2012400').hex, '00049000');
  t.equal(send(card, '00B2022400').hex, '00039000');
  t.equal(send(card, '00B2032400').hex, '00029000');
  t.equal(sw(card, '00B2042400'), '6A83', 'the oldest was dropped');
  t.equal(sw(card, '00DC012402FFFF'), '9000');
  t.equal(send(card, '00B2012400').hex, 'FFFF9000');
  t.equal(sw(card, '00E2002001FF'), '6700', 'cyclic records have a fixed length');
});

t.test('records: SIMPLE-TLV file, tag as record number (STANDARDS §2)', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00E2002804' + '0102AABB'), '9000', 'SFI 5');
  t.equal(sw(card, '00E2002805' + '4E03112233'), '9000');
  t.equal(sw(card, '00E2002803' + '070199'), '9000');
  t.equal(send(card, '00B24E2C00').hex, '4E03112233' + '9000', '00 B2 <tag> <SFI<<3|04>: the record whose tag is P1');
  t.equal(send(card, '00B2072C00').hex, '070199' + '9000');
  t.equal(send(card, '00B24E2800').hex, '4E03112233' + '9000', 'b3-b1 = 000: first occurrence of identifier P1');
  t.equal(sw(card, '00B2022C00'), '6A83', 'no record with tag 02');
  t.equal(sw(card, '00B24E2C02'), '6C05');
  t.equal(sw(card, '00DC4E2C05' + '4E03445566'), '9000');
  t.equal(send(card, '00B2002C00').hex, '4E03445566' + '9000', 'current record');
  t.equal(sw(card, '00DC4E2C03' + '070199'), '6A80', 'an update may not change the tag');
  t.equal(sw(card, '00DC4E2C04' + '4E031122'), '6A80', 'TLV length must match');
  t.equal(sw(card, '00DC092C03' + '090199'), '6A83', 'updating a tag that is not there');
  t.equal(sw(card, '00E2002803' + '010155'), '6A80', 'a duplicate tag');
  t.equal(sw(card, '00E2002803' + '000155'), '6A80', 'tag 00');
  t.equal(sw(card, '00E2002803' + '050511'), '6A80', 'length beyond the data');
  t.equal(sw(card, '00E2002802' + '0900'), '9000', 'an empty value is fine');
  t.equal(sw(card, '00E2002802' + '0A00'), '6A84', 'four records is the maximum');
  t.equal(sw(card, '00B2002800'), '6A86', 'identifier 00');
});

t.test('access conditions and the security status', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00B0860008'), '6982', 'read needs PIN 1');
  t.equal(sw(card, '0020000102' + '1234'), '9000');
  t.equal(send(card, '00B0860008').hex, '0000000000000000' + '9000');
  t.equal(sw(card, '00D6860001FF'), '6982', 'update needs external authentication with key 3');
  t.equal(extAuth(card, 0x03, KX), '9000');
  t.equal(sw(card, '00D6860001FF'), '9000');
  t.equal(sw(card, '00A4020C021001'), '9000', 'selecting an EF in the same DF keeps the status');
  t.equal(sw(card, '00B0860001'), '9000');
  t.equal(sw(card, '00A4000C021000'), '9000', 're-selecting DF A starts it afresh');
  t.equal(sw(card, '00B0860001'), '6982');
  t.equal(sw(card, '0020000102' + '1234'), '9000');
  card.powerOff();
  card.powerOn('contact');
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(sw(card, '00B0860001'), '6982', 'power-on clears the security status');
  t.equal(sw(card, '00B0870001'), '6982', 'NEVER');
  t.equal(sw(card, '0020000102' + '1234'), '9000');
  t.equal(extAuth(card, 0x03, KX), '9000');
  t.equal(sw(card, '00B0870001'), '6982', 'NEVER stays never');
  t.equal(sw(card, '00D6870001FF'), '6982', 'MAC condition: a plain command is refused');

  // Security status earned in an ancestor survives a descent: key 00 at the MF opens 2001 in DF B.
  t.equal(sw(card, '00A4000C023F00'), '9000');
  t.equal(extAuth(card, 0x00, TRANSPORT), '9000');
  t.equal(sw(card, '00A4000C022000'), '9000');
  t.equal(sw(card, '00A4020C022001'), '9000');
  t.equal(send(card, '00B0000004').hex, '00000000' + '9000');
  t.equal(sw(card, '00A4000C023F00'), '9000', 'selecting the MF itself drops its status');
  t.equal(sw(card, '00A4000C022000'), '9000');
  t.equal(sw(card, '00A4020C022001'), '9000');
  t.equal(sw(card, '00B0000004'), '6982');
});

t.test('secure messaging access condition (3x): UPDATE BINARY with MAC', async (t) => {
  const card = layoutCard();
  t.equal(sw(card, '00A4000C021000'), '9000');
  const cmd = macApdu(card, KL, 0x04, 0xd6, 0x87, 0x00, h('0102030405060708'));
  t.equal(sw(card, cmd), '9000', '04 D6 with a MAC under line-protection key 2');
  t.equal(sw(card, cmd), '6984', 'replay: the challenge was used up');
  const bad = macApdu(card, KL, 0x04, 0xd6, 0x87, 0x00, h('AA'));
  bad[bad.length - 1]! ^= 1;
  t.equal(sw(card, bad), '6988', 'wrong MAC');
  t.equal(sw(card, macApdu(card, KL, 0x04, 0xd6, 0x81, 0x00, h('AA'))), '6882', 'SM on a file whose condition does not ask for it');
  t.equal(sw(card, '04D6870003AABBCC'.slice(0, 14)), '6700', 'an SM data field shorter than a MAC');
  t.equal(sw(card, '0084000010'), '9000');
  t.equal(sw(card, '04D6870005AA01020304'), '6984', 'a 16-byte challenge does not fit a 3DES IV');
  t.equal(sw(card, '00A4000C021000'), '9000');
  t.equal(send(card, '0020000102' + '1234').swHex, '9000');
});

t.test('T=0: 61xx, GET RESPONSE, 6Cxx', async (t) => {
  const card = layoutCard({ t0: true });
  const fci = send(card, '00A40400' + '07A0000000010001');
  t.equal(fci.hex, '611E', 'case 3 with response data → 61 1E (30-byte FCI)');
  const part = send(card, '00C0000010');
  t.equal(part.data.length, 16);
  t.equal(part.swHex, '610E', '14 bytes left');
  t.equal(sw(card, '00C0000020'), '6C0E', 'GET RESPONSE Le too large');
  const rest = send(card, '00C000000E');
  t.equal(rest.swHex, '9000');
  t.equal(toHex(part.data) + toHex(rest.data), '6F1C' + '820138' + '83021000' + '8407A0000000010001' + '810201E0' + '8A0105' + '860320FF00');
  t.equal(sw(card, '00C0000010'), '6985', 'nothing pending');
  t.equal(sw(card, '00A40204021001'), '6118', 'case 3 SELECT of an EF: 24-byte FCP');
  t.equal(sw(card, '0084000008'.slice(0, 10)), '9000', 'GET CHALLENGE with exact Le');
  t.equal(sw(card, '00C0000016'), '6985', 'another command discarded the pending response');
  t.equal(sw(card, '00B0000020'), '6C10', 'case 2 with the wrong Le');
  t.equal(sw(card, '00B0000000'), '6C10', 'Le 00 means 256 in T=0');
  t.equal(send(card, '00B0000010').hex, '00'.repeat(16) + '9000');
  t.equal(sw(card, '00A4040407A000000001000100'), '611E', 'a case-4 command also gets 61xx');
  t.equal(sw(card, '00C0010000'), '6A86');
  t.equal(sw(card, '00C00000'), '6700');
  t.equal(sw(card, '00B0000000' + '0010'), '6700', 'no extended APDUs in T=0');
  t.equal(card.internalErrors, 0);
});

t.test('malformed and unsupported APDUs', async (t) => {
  const card = layoutCard();
  const cases: [string, string, string][] = [
    ['00', '6700', 'one byte'],
    ['00A4', '6700', 'two bytes'],
    ['00A404', '6700', 'three bytes'],
    ['00A4040007A000', '6700', 'Lc 7, two data bytes'],
    ['00A4040002100000' + '00', '6700', 'trailing bytes after Le'],
    ['00A4040000000007', '6700', 'extended Lc with no data'],
    ['00A40400000004A000', '6700', 'extended Lc 4, 2 bytes'],
    ['00D6000000' + '0401' + '00'.repeat(0x401), '6700', 'extended data over the 1024-byte buffer'],
    ['FFA4000000', '6E00', 'CLA FF'],
    ['90A4000000', '6E00', 'CLA 90'],
    ['40A4000000', '6E00', 'CLA 40'],
    ['01A4000000', '6881', 'logical channel 1'],
    ['81D4000000', '6881', 'proprietary class on channel 1'],
    ['10A4000000', '6884', 'command chaining'],
    ['0CA4000000', '6882', 'ISO secure messaging'],
    ['0000000000', '6D00', 'INS 00'],
    ['00FE000000', '6D00', 'INS FE'],
    ['00A5000000', '6D00', 'odd INS A5'],
    ['80A4000000', '6E00', 'SELECT in class 80'],
    ['00E0000000', '6E00', 'CREATE FILE in class 00'],
    ['04A4000000', '6E00', 'SELECT with SM'],
    ['0084000005', '6700', 'GET CHALLENGE of 5'],
    ['0084000000', '6700', 'GET CHALLENGE of 256'],
    ['0084010008', '6A86', 'GET CHALLENGE P1'],
    ['008400000101' + '08', '6700', 'GET CHALLENGE with data'],
  ];
  for (const [cmd, expected, what] of cases) t.equal(sw(card, cmd), expected, what);
  t.equal(card.internalErrors, 0);
});
