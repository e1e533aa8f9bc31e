import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import {
  daysInMonth,
  decodeAn,
  decodeBcd,
  decodeCn,
  decodeDateCn,
  decodeGbk,
  encodeAn,
  encodeBcd,
  encodeCn,
  encodeDateCn,
  encodeGbk,
} from '../../iso7816/index.js';
import { h, throwsIso } from './fixtures/helpers.js';

t.test('BCD (format n)', async (t) => {
  t.equal(toHex(encodeBcd('123456')), '123456');
  t.equal(toHex(encodeBcd('123')), '0123', 'odd length: 0 on the left');
  t.equal(toHex(encodeBcd('123', { pad: 'right' })), '123F', 'odd length, right pad: F');
  t.equal(toHex(encodeBcd('42', { length: 3 })), '000042', 'amount-style, fixed length');
  t.equal(toHex(encodeBcd('110101', { length: 3 })), '110101', 'region code');
  t.equal(toHex(encodeBcd('')), '');
  t.equal(decodeBcd(h('0123')), '0123', 'leading zeros kept');
  t.equal(decodeBcd(h('20231231')), '20231231');
  throwsIso(t, () => encodeBcd('1234567', { length: 3 }), 6, '7 digits do not fit in 3 bytes', 'too many digits');
  throwsIso(t, () => encodeBcd('A1'), 0, "'A' at position 0 is not a digit", 'letter');
  throwsIso(t, () => encodeBcd('12 4'), 2, "' ' at position 2 is not a digit", 'space');
  throwsIso(t, () => encodeBcd('1٣'), 1, 'at position 1 is not a digit', 'non-ASCII digit');
  throwsIso(t, () => decodeBcd(h('1A')), 0, 'low nibble A of byte 1A at offset 0', 'A nibble');
  throwsIso(t, () => decodeBcd(h('12345F')), 2, 'low nibble F of byte 5F at offset 2', 'F is not BCD');
  throwsIso(t, () => decodeBcd(h('12C4')), 1, 'high nibble C of byte C4 at offset 1', 'high nibble');
  t.throws(() => encodeBcd('12', { pad: 'middle' as 'left' }), RangeError);
  t.throws(() => encodeBcd(12 as unknown as string), TypeError);
});

t.test('cn: F padding on the right', async (t) => {
  t.equal(toHex(encodeCn('123', 4)), '123FFFFF');
  t.equal(toHex(encodeCn('12345678', 4)), '12345678', 'exactly full');
  t.equal(toHex(encodeCn('', 2)), 'FFFF');
  t.equal(decodeCn(h('123FFFFF')), '123');
  t.equal(decodeCn(h('12345678')), '12345678');
  t.equal(decodeCn(h('FFFF')), '');
  throwsIso(t, () => encodeCn('123456789', 4), 8, '9 digits do not fit in 4 bytes', 'too long');
  throwsIso(t, () => decodeCn(h('123F4FFF')), 2, 'high nibble 4 of byte 4F at offset 2 follows the F padding', 'digit after F');
  throwsIso(t, () => decodeCn(h('1A')), 0, 'is neither a digit nor F padding', 'A nibble');
  t.throws(() => encodeCn('1', -1), RangeError);
});

t.test('an: printable ASCII, 00 padding', async (t) => {
  t.equal(toHex(encodeAn('3.00', 4)), '332E3030', 'spec version');
  t.equal(toHex(encodeAn('AB', 4)), '41420000');
  t.equal(toHex(encodeAn('A0279627X')), '413032373936323758', 'card number, no padding');
  t.equal(decodeAn(h('41420000')), 'AB');
  t.equal(decodeAn(h('332E3030')), '3.00');
  t.equal(decodeAn(h('0000')), '');
  throwsIso(t, () => encodeAn('ABCDE', 4), 4, 'the character at position 4 is the first that does not', 'too long');
  throwsIso(t, () => encodeAn('Aé', 4), 1, "'é' (U+00E9) at position 1 is not printable ASCII", 'non-ASCII');
  throwsIso(t, () => encodeAn('A\tB', 4), 1, 'U+0009 at position 1', 'tab');
  throwsIso(t, () => decodeAn(h('41004200')), 1, 'byte 00 at offset 1 is not printable ASCII (00 padding may only come at the end)', '00 inside');
  throwsIso(t, () => decodeAn(h('4180')), 1, 'byte 80 at offset 1', 'high byte');
});

t.test('GBK text', async (t) => {
  t.equal(toHex(encodeGbk('张三')), 'D5C5C8FD');
  t.equal(toHex(encodeGbk('社会保障')), 'C9E7BBE1B1A3D5CF');
  t.equal(toHex(concat(encodeAn('sx1.sh.'), encodeGbk('社会保障'))), '7378312E73682EC9E7BBE1B1A3D5CF', 'SSSE AID');
  t.equal(toHex(encodeGbk('PKI.社会保障')), '504B492EC9E7BBE1B1A3D5CF', 'PKI DDF name');
  t.equal(toHex(encodeGbk('张三', 30)), 'D5C5C8FD' + '00'.repeat(26), 'name field, 00 padded');
  t.equal(toHex(encodeGbk('张三', 20, 0xff)), 'D5C5C8FD' + 'FF'.repeat(16), 'name extension, FF padded');
  t.equal(toHex(encodeGbk('A张€')), '41D5C580', 'ASCII, Hanzi, euro sign (CP936 80)');
  t.equal(toHex(encodeGbk('张三', 4)), 'D5C5C8FD', 'exactly full');
  t.equal(decodeGbk(h('D5C5C8FD' + '00'.repeat(26))), '张三');
  t.equal(decodeGbk(h('D5C5C8FD' + 'FF'.repeat(16)), 0xff), '张三');
  t.equal(decodeGbk(h('C9E7BBE1B1A3D5CF')), '社会保障');
  t.equal(decodeGbk(h('41D5C580')), 'A张€');
  t.equal(decodeGbk(h('00000000')), '');
  for (const name of ['欧阳娜娜', '买买提·艾力', '李　四', 'Zhang San']) {
    t.equal(decodeGbk(encodeGbk(name, 30)), name, `round trip ${name}`);
  }

  throwsIso(t, () => encodeGbk('张😀', 30), 1, "'😀' (U+1F600) at position 1 has no GBK code", 'emoji');
  throwsIso(t, () => encodeGbk('김철수'), 0, "'김' (U+AE40) at position 0 has no GBK code", 'Hangul');
  throwsIso(t, () => encodeGbk('张三李四', 5), 2, "'李' (U+674E) at position 2 is the first character that does not (4 bytes used)", 'too long');
  throwsIso(t, () => encodeGbk('a\nb'), 1, 'control character U+000A at position 1', 'newline');
  throwsIso(t, () => encodeGbk('a\u0000b'), 1, 'control character U+0000', 'NUL');
  t.equal(toHex(encodeGbk('?')), '3F', 'a real question mark is fine');
  t.throws(() => encodeGbk('张三', 30, 0x20), /pad must be 0x00 or 0xFF/);
  t.throws(() => decodeGbk(h('D5C5'), 0x01), RangeError);

  throwsIso(t, () => decodeGbk(h('D5C5C80000')), 2, 'lead byte C8 at offset 2 has no second byte', 'cut character');
  throwsIso(t, () => decodeGbk(h('D5C500C8FD')), 2, 'byte 00 at offset 2 is a control character (00 padding may only come at the end)', '00 inside');
  throwsIso(t, () => decodeGbk(h('D5C5FFC8FD'), 0xff), 2, 'bytes FF at offset 2 are not a GBK character (FF padding may only come at the end)', 'FF inside');
  throwsIso(t, () => decodeGbk(h('8120')), 0, 'bytes 81 20 at offset 0 are not a GBK character', 'bad trail byte');
  throwsIso(t, () => decodeGbk(h('41FF')), 1, 'bytes FF at offset 1', 'FF with 00 padding');
});

t.test('dates: YYYYMMDD as 4 BCD bytes', async (t) => {
  t.equal(toHex(encodeDateCn('2023-02-28')), '20230228');
  t.equal(toHex(encodeDateCn('20240229')), '20240229', 'leap day');
  t.equal(toHex(encodeDateCn('2000-02-29')), '20000229', '2000 is a leap year');
  t.equal(toHex(encodeDateCn('0001-01-01')), '00010101');
  t.equal(toHex(encodeDateCn(new Date(Date.UTC(2023, 11, 31)))), '20231231', 'Date, read in UTC');
  t.equal(toHex(encodeDateCn(new Date('2024-02-29T23:30:00+08:00'))), '20240229', 'Date with an offset: its UTC day');
  t.equal(decodeDateCn(h('20231231')), '2023-12-31');
  t.equal(decodeDateCn(h('19700101')), '1970-01-01');
  t.equal(decodeDateCn(encodeDateCn('1999-09-09')), '1999-09-09');

  throwsIso(t, () => encodeDateCn('2023-02-30'), 8, "'2023-02-30' is not a calendar date (2023-02 has days 01-28)", 'Feb 30');
  throwsIso(t, () => encodeDateCn('2023-02-29'), 8, 'has days 01-28', 'not a leap year');
  throwsIso(t, () => encodeDateCn('1900-02-29'), 8, '1900-02 has days 01-28', '1900 is not a leap year');
  throwsIso(t, () => encodeDateCn('20230431'), 6, '2023-04 has days 01-30', 'April 31, compact');
  throwsIso(t, () => encodeDateCn('20231301'), 4, 'month 13 is not 01-12', 'month 13');
  throwsIso(t, () => encodeDateCn('2023-00-10'), 5, 'month 00 is not 01-12', 'month 0');
  throwsIso(t, () => encodeDateCn('2023-01-00'), 8, 'has days 01-31', 'day 0');
  throwsIso(t, () => encodeDateCn('2023/02/01'), 4, "'/' at position 4 of '2023/02/01' is not a digit", 'slashes');
  throwsIso(t, () => encodeDateCn('2023-2-01'), 6, "'-' at position 6", 'one-digit month');
  throwsIso(t, () => encodeDateCn('2023-02_01'), 7, "expected '-' at position 7", 'wrong separator');
  throwsIso(t, () => encodeDateCn('202301'), 6, 'too short for YYYYMMDD', 'too short');
  throwsIso(t, () => encodeDateCn('2023-01-011'), 10, 'too long for YYYY-MM-DD', 'too long');
  throwsIso(t, () => encodeDateCn('２０２３0101'), 0, 'is not a digit', 'full-width digits');
  t.throws(() => encodeDateCn(new Date(Number.NaN)), RangeError);
  t.throws(() => encodeDateCn(new Date(Date.UTC(10000, 0, 1))), /does not fit in 4 digits/);
  t.throws(() => encodeDateCn(20230101 as unknown as string), TypeError);

  throwsIso(t, () => decodeDateCn(h('20231301')), 2, 'month 13 is not 01-12', 'decode month 13');
  throwsIso(t, () => decodeDateCn(h('20230230')), 3, '2023-02 has days 01-28', 'decode Feb 30');
  throwsIso(t, () => decodeDateCn(h('20230A01')), 2, 'low nibble A of byte 0A at offset 2', 'decode hex nibble');
  throwsIso(t, () => decodeDateCn(h('FFFFFFFF')), 0, 'date: high nibble F', 'erased field');
  t.throws(() => decodeDateCn(h('202312')), RangeError, 'needs 4 bytes');

  t.same([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((m) => daysInMonth(2023, m)), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
  t.equal(daysInMonth(2024, 2), 29);
});
