import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import {
  apdu,
  commandCase,
  encodeCommand,
  encodeResponse,
  formatCommand,
  formatResponse,
  parseCommand,
  parseResponse,
  sw1,
  sw2,
  type CommandApdu,
} from '../../iso7816/index.js';
import { counting, h, throwsIso } from './fixtures/helpers.js';

const EMPTY = new Uint8Array(0);
const VISA_AID = h('A0000000031010');
const PPSE = h('325041592E5359532E4444463031'); // "2PAY.SYS.DDF01"

interface Vector {
  name: string;
  command: CommandApdu;
  extended?: boolean;
  wire: string; // written by hand from ISO 7816-4 §5.1
  case: 1 | 2 | 3 | 4;
  isExtended: boolean;
}

const vectors: Vector[] = [
  { name: 'case 1', command: apdu(0x00, 0x44, 0x00, 0x00), wire: '00440000', case: 1, isExtended: false },
  { name: 'case 2S, Le 08', command: apdu(0x00, 0x84, 0x00, 0x00, EMPTY, 8), wire: '0084000008', case: 2, isExtended: false },
  { name: 'case 2S, Le 00 = 256', command: apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 256), wire: '00B0000000', case: 2, isExtended: false },
  { name: 'case 3S', command: apdu(0x00, 0x20, 0x00, 0x81, h('123456')), wire: '0020008103123456', case: 3, isExtended: false },
  {
    name: 'case 4S, SELECT by AID, Le 00',
    command: apdu(0x00, 0xa4, 0x04, 0x00, VISA_AID, 256),
    wire: '00A4040007A000000003101000',
    case: 4,
    isExtended: false,
  },
  {
    name: 'case 4S, SELECT PPSE',
    command: apdu(0x00, 0xa4, 0x04, 0x00, PPSE, 256),
    wire: '00A404000E325041592E5359532E444446303100',
    case: 4,
    isExtended: false,
  },
  { name: 'case 4S, Le FF', command: apdu(0x80, 0xca, 0x9f, 0x7f, h('01'), 255), wire: '80CA9F7F0101FF', case: 4, isExtended: false },
  {
    name: 'case 3S, 255 data bytes (largest short)',
    command: apdu(0x80, 0xe2, 0x00, 0x00, counting(255)),
    wire: '80E20000FF' + toHex(counting(255)),
    case: 3,
    isExtended: false,
  },
  {
    name: 'case 2E forced, Le 256',
    command: apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 256),
    extended: true,
    wire: '00B0000000' + '0100',
    case: 2,
    isExtended: true,
  },
  { name: 'case 2E auto, Le 257', command: apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 257), wire: '00B00000000101', case: 2, isExtended: true },
  { name: 'case 2E, Le 1000', command: apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 1000), wire: '00B000000003E8', case: 2, isExtended: true },
  { name: 'case 2E, Le 0000 = 65536', command: apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 65536), wire: '00B00000000000', case: 2, isExtended: true },
  {
    name: 'case 3E forced, 7 bytes',
    command: apdu(0x00, 0xa4, 0x04, 0x00, VISA_AID),
    extended: true,
    wire: '00A4040000' + '0007' + 'A0000000031010',
    case: 3,
    isExtended: true,
  },
  {
    name: 'case 3E auto, 256 bytes',
    command: apdu(0x80, 0xe2, 0x80, 0x01, counting(256)),
    wire: '80E2800100' + '0100' + toHex(counting(256)),
    case: 3,
    isExtended: true,
  },
  {
    name: 'case 4E forced, Le 256',
    command: apdu(0x00, 0xa4, 0x04, 0x00, VISA_AID, 256),
    extended: true,
    wire: '00A4040000' + '0007' + 'A0000000031010' + '0100',
    case: 4,
    isExtended: true,
  },
  {
    name: 'case 4E auto, 300 bytes, Le 65536',
    command: apdu(0x00, 0x2a, 0x9e, 0x9a, counting(300), 65536),
    wire: '002A9E9A00' + '012C' + toHex(counting(300)) + '0000',
    case: 4,
    isExtended: true,
  },
  {
    name: 'case 4E auto by Le only, 1 byte, Le 300',
    command: apdu(0x00, 0x88, 0x00, 0x00, h('AA'), 300),
    wire: '0088000000' + '0001' + 'AA' + '012C',
    case: 4,
    isExtended: true,
  },
  {
    name: 'case 3E, 65535 bytes (largest)',
    command: apdu(0x00, 0xd6, 0x00, 0x00, counting(65535)),
    wire: '00D6000000' + 'FFFF' + toHex(counting(65535)),
    case: 3,
    isExtended: true,
  },
];

t.test('encode and parse every case in both forms', async (t) => {
  for (const v of vectors) {
    const wire = h(v.wire);
    const encoded = encodeCommand(v.command, { extended: v.extended });
    t.equal(toHex(encoded), v.wire, `${v.name}: encode`);
    t.equal(commandCase(v.command), v.case, `${v.name}: commandCase`);
    const parsed = parseCommand(wire);
    t.equal(parsed.case, v.case, `${v.name}: parsed case`);
    t.equal(parsed.extended, v.isExtended, `${v.name}: parsed form`);
    t.same(
      { cla: parsed.cla, ins: parsed.ins, p1: parsed.p1, p2: parsed.p2, data: toHex(parsed.data), le: parsed.le },
      { cla: v.command.cla, ins: v.command.ins, p1: v.command.p1, p2: v.command.p2, data: toHex(v.command.data), le: v.command.le },
      `${v.name}: parsed fields`,
    );
    t.equal(toHex(encodeCommand(parsed, { extended: parsed.extended })), v.wire, `${v.name}: re-encode`);
  }
});

t.test('short form is used whenever it fits, unless extended is forced', async (t) => {
  t.equal(toHex(encodeCommand(apdu(0x00, 0xb0, 0, 0, EMPTY, 256))), '00B0000000');
  t.equal(toHex(encodeCommand(apdu(0x00, 0xb0, 0, 0, counting(255), 256))).slice(-2), '00', '255 data + Le 256 stays short');
  t.equal(toHex(encodeCommand(apdu(0x00, 0x44, 0, 0), { extended: true })), '00440000', 'case 1 has nothing to extend');
  t.throws(() => encodeCommand(apdu(0x00, 0xd6, 0, 0, counting(256)), { extended: false }), RangeError, '256 data bytes cannot be short');
  t.throws(() => encodeCommand(apdu(0x00, 0xb0, 0, 0, EMPTY, 257), { extended: false }), /extended form/, 'Le 257 cannot be short');
});

t.test('parsed data is a copy, not a view of the input', async (t) => {
  const wire = h('00A4040007A000000003101000');
  const parsed = parseCommand(wire);
  wire[5] = 0xff;
  t.equal(toHex(parsed.data), 'A0000000031010');
  const response = Buffer.from('6F008A9000', 'hex'); // what the smartcard package hands back
  const r = parseResponse(response);
  response.fill(0);
  t.same([toHex(r.data), r.sw, Buffer.isBuffer(r.data)], ['6F008A', 0x9000, false], 'Buffer input: a plain copy');
});

t.test('malformed commands raise Iso7816Error with the offset of the bad field', async (t) => {
  throwsIso(t, () => parseCommand(h('')), 0, 'header at offset 0 is too short', 'empty');
  throwsIso(t, () => parseCommand(h('00A404')), 0, 'needs 4 bytes CLA INS P1 P2, 3 present', '3-byte header');
  throwsIso(t, () => parseCommand(h('00A4040000AA')), 4, 'a short Lc cannot be 00', 'short Lc 00 with one byte after it');
  throwsIso(t, () => parseCommand(h('00A4040000AA')), 4, 'needs 3 bytes, 2 left', 'extended length cut short');
  throwsIso(t, () => parseCommand(h('00A4040007A00000')), 4, 'Lc at offset 4 says 7 data bytes but only 3 follow', 'short Lc too big');
  throwsIso(t, () => parseCommand(h('00A40400021122003344')), 8, '2 unexpected byte(s) at offset 8', 'short trailing bytes');
  throwsIso(t, () => parseCommand(h('00A404000000001122')), 4, 'extended Lc at offset 4 is 0000', 'extended Lc 0000 with data');
  throwsIso(t, () => parseCommand(h('00A40400000007A000')), 4, 'says 7 data bytes but only 2 follow', 'extended Lc too big');
  throwsIso(t, () => parseCommand(h('00A4040000A0000000031010')), 4, 'a short Lc cannot be 00', 'Lc written as 00 before data');
  throwsIso(t, () => parseCommand(h('00A40400000001AA01')), 8, 'extended Le at offset 8 runs past the end (needs 2 bytes, 1 left)', 'extended Le 1 byte');
  throwsIso(t, () => parseCommand(h('00A40400000001AA0100FF')), 10, '1 unexpected byte(s) at offset 10', 'extended trailing byte');
});

t.test('command fields are checked', async (t) => {
  t.throws(() => apdu(0x100, 0xa4, 0, 0), RangeError, 'CLA above FF');
  t.throws(() => apdu(0x00, -1, 0, 0), RangeError, 'negative INS');
  t.throws(() => apdu(0x00, 0xa4, 1.5, 0), RangeError, 'fractional P1');
  t.throws(() => apdu(0x00, 0xa4, 0, 0, EMPTY, 0), /le 0 is ambiguous/, 'Le 0 is refused');
  t.throws(() => apdu(0x00, 0xa4, 0, 0, EMPTY, 65537), RangeError, 'Le above 65536');
  t.throws(() => apdu(0x00, 0xa4, 0, 0, counting(65536)), /at most 65535/, 'Nc above 65535');
  t.throws(() => apdu(0x00, 0xa4, 0, 0, [1, 2] as unknown as Uint8Array), TypeError, 'data must be bytes');
  t.throws(() => parseCommand('00A40400' as unknown as Uint8Array), TypeError, 'parseCommand wants bytes');
  t.throws(() => encodeCommand({ cla: 0, ins: 0xa4, p1: 0, p2: 0 } as unknown as CommandApdu), TypeError, 'missing data');
  t.throws(() => encodeCommand(null as unknown as CommandApdu), /expected a command object/, 'no command at all');
});

t.test('responses', async (t) => {
  t.same(parseResponse(h('9000')), { data: new Uint8Array(0), sw: 0x9000 });
  const r = parseResponse(h('6F0A8408A00000000300000061 10'.replace(/ /g, '')));
  t.equal(toHex(r.data), '6F0A8408A000000003000000');
  t.equal(r.sw, 0x6110);
  t.equal(sw1(r.sw), 0x61);
  t.equal(sw2(r.sw), 0x10);
  t.equal(toHex(encodeResponse(r)), '6F0A8408A0000000030000006110');
  t.equal(toHex(encodeResponse({ data: counting(3), sw: 0x6a82 })), '0001026A82');
  throwsIso(t, () => parseResponse(h('90')), 0, 'needs 2 bytes SW1 SW2, 1 present', '1-byte response');
  throwsIso(t, () => parseResponse(h('')), 0, 'needs 2 bytes SW1 SW2, 0 present', 'empty response');
  t.throws(() => encodeResponse({ data: EMPTY, sw: 0x10000 }), RangeError, 'SW above FFFF');
  t.throws(() => encodeResponse({ data: counting(65537), sw: 0x9000 }), RangeError, 'response data above 65536');
  t.throws(() => sw1(-1), RangeError);
  const big = concat(counting(65536), h('9000'));
  t.equal(parseResponse(big).data.length, 65536, 'largest extended response');
});

t.test('log format', async (t) => {
  t.equal(formatCommand(apdu(0x00, 0xa4, 0x04, 0x00, VISA_AID, 256)), '00 A4 04 00 07 A0000000031010 00');
  t.equal(formatCommand(apdu(0x00, 0xa4, 0x04, 0x00, VISA_AID, 256), { extended: true }), '00 A4 04 00 000007 A0000000031010 0100');
  t.equal(formatCommand(apdu(0x00, 0xb0, 0x00, 0x00, EMPTY, 256), { extended: true }), '00 B0 00 00 000100');
  t.equal(formatCommand(apdu(0x00, 0x44, 0x00, 0x00)), '00 44 00 00');
  t.equal(formatCommand(apdu(0x00, 0x20, 0x00, 0x81, h('123456'))), '00 20 00 81 03 123456');
  t.equal(formatCommand(apdu(0x80, 0xd8, 0x00, 0x81, counting(16)), { redact: true }), '80 D8 00 81 10 [16 bytes]', 'redacted key');
  t.equal(formatResponse({ data: h('6F00'), sw: 0x9000 }), '6F00 9000');
  t.equal(formatResponse({ data: EMPTY, sw: 0x6a82 }), '6A82');
  t.equal(formatResponse({ data: counting(8), sw: 0x9000 }, { redact: true }), '[8 bytes] 9000');
});
