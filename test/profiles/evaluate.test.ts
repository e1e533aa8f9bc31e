// A loaded profile is what data preparation needs: evaluated for one record of the example batch
// with this card's serials, run-time facts and a MAC callback, every EF05/EF06 element gives the
// bytes LD/T 32 describes; codecs refuse what does not fit.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { pbocMac } from '../../crypto/pboc-mac.js';
import { readBatch } from '../../personalization/batch/index.js';
import {
  createCardEvaluator,
  decodeField,
  decodeTlvRecord,
  elementBytes,
  elementRecord,
  encodeField,
  loadProfile,
  type EfNode,
  type FileNode,
} from '../../profiles/index.js';

const profile = loadProfile('builtin:sscard-gen3');
const ef = (path: string): EfNode => {
  const walk = (n: FileNode): FileNode | undefined => (n.path === path ? n : n.kind === 'df' ? n.children.map(walk).find((x) => x) : undefined);
  return walk(profile.mf!) as EfNode;
};

t.test('the first example record through EF05 and EF06', async (t) => {
  let record: Record<string, string> | undefined;
  for await (const item of readBatch(profile, fileURLToPath(new URL('../../examples/sscard-gen3-batch.csv', import.meta.url)), { today: '20240115' })) {
    if (item.ok) {
      record = item.record;
      break;
    }
  }
  const irk = fromHex('00112233445566778899AABBCCDDEEFF');
  const macs: string[] = [];
  const ev = createCardEvaluator(profile, {
    record: record!,
    today: '20240115',
    serials: { card: 279627 },
    card: { atr: fromHex('3B8C80014353D0101112131415161718AB'), chipId: fromHex('1112131415161718') },
    mac: (key, data) => {
      macs.push(`${key}:${toHex(data)}`);
      return pbocMac({ alg: 'des3', key: irk, iv: new Uint8Array(8), data });
    },
    readFile: (_field, path) => (path === 'photos/0001.jpg' ? fromHex('FFD8FFE0') : new Uint8Array(0)),
  });
  const rec = (path: string, name: string) => {
    const b = elementRecord(ef(path).elements.find((e) => e.name === name)!, ev);
    return b === undefined ? undefined : toHex(b);
  };
  const cardId = rec('SSSE/EF05', 'cardId')!;
  t.equal(cardId.slice(0, 28), '0110110100D15600000515161718', 'tag 01: city code ‖ RID ‖ chip serial (the chip id tail)');
  t.same(macs, ['IRK:110100D15600000515161718'], 'the MAC covers the first 12 bytes, under the internal-auth key');
  t.equal(cardId.slice(28), toHex(pbocMac({ alg: 'des3', key: irk, iv: new Uint8Array(8), data: fromHex('110100D15600000515161718') })));
  t.equal(rec('SSSE/EF05', 'cardType'), '020133');
  t.equal(rec('SSSE/EF05', 'version'), '0304332E3030');
  t.equal(rec('SSSE/EF05', 'issueDate'), '050420240115');
  t.equal(rec('SSSE/EF05', 'expiryDate'), '060420340115', '10 years (parameter validityYears)');
  t.equal(rec('SSSE/EF05', 'cardNumber'), '0709' + toHex(new TextEncoder().encode('A02796279')), 'letter + serial + check character');
  t.equal(rec('SSSE/EF06', 'ssn'), '0812' + toHex(new TextEncoder().encode('110105198503120215')));
  t.equal(rec('SSSE/EF06', 'name'), '091E' + 'D5C5CEB0' + '00'.repeat(26), '张伟 in GBK, 00-padded');
  t.equal(rec('SSSE/EF06', 'nameExtension'), undefined, 'empty, so no record');
  t.equal(rec('SSSE/EF06', 'sex'), '0A0131');
  t.equal(rec('SSSE/EF06', 'ethnicity'), '0B0101');
  t.equal(rec('SSSE/EF06', 'birthplace'), '0C03110105');
  t.equal(rec('SSSE/EF06', 'birthDate'), '0D0419850312');
  t.equal(toHex(elementBytes(ef('SSSE/EF08').elements[0]!, ev)!), 'FFD8FFE0', 'the photo as it is, no padding');
  t.equal(ev.value('cardNumber'), 'A02796279', 'named values are memoized per card');
});

t.test('key diversification data for the card', async (t) => {
  const key = profile.keys.find((k) => k.name === 'UK')!;
  const ev = createCardEvaluator(profile, { record: {}, today: '20240115', card: { atr: fromHex('3B8C80014353D0101112131415161718AB') } });
  // Level 1: the city code in ASCII ‖ "sx"; level 2: the last 8 bytes of the ATR (LD/T 32).
  t.same(key.derive.data.map((d) => toHex(ev.evaluate(d) as Uint8Array)), ['3131303130307378', '12131415161718AB']);
});

t.test('codecs: padding, and refusals for what does not fit', async (t) => {
  t.equal(toHex(encodeField({ encoding: 'an', length: 4, fixed: true, pad: 0x20 }, 'ab')), '61622020');
  t.equal(toHex(encodeField({ encoding: 'an', length: 4, fixed: false }, 'ab')), '6162');
  t.equal(toHex(encodeField({ encoding: 'cn', length: 10, fixed: false }, '6229990000000012')), '6229990000000012');
  t.equal(toHex(encodeField({ encoding: 'cn', length: 10, fixed: false }, '622999000000001')), '622999000000001F');
  t.equal(toHex(encodeField({ encoding: 'gbk', length: 30, fixed: false }, '张伟')), 'D5C5CEB0');
  t.equal(toHex(encodeField({ encoding: 'binary', length: 4, fixed: true, pad: 0xff }, fromHex('01'))), '01FFFFFF');
  t.equal(toHex(encodeField({ encoding: 'bcd', length: 3, fixed: false }, '123')), '0123');
  t.throws(() => encodeField({ encoding: 'an', length: 2, fixed: true }, 'abc'), /does not fit in 2 bytes/);
  t.throws(() => encodeField({ encoding: 'an', length: 4, fixed: true }, '张'), /not printable ASCII/);
  t.throws(() => encodeField({ encoding: 'gbk', length: 2, fixed: false }, '张伟'), /does not fit in 2 bytes/);
  t.throws(() => encodeField({ encoding: 'cn', length: 1, fixed: false }, '123'), /do not fit/);
  t.throws(() => encodeField({ encoding: 'bcd', length: 1, fixed: false }, '123'), /do not fit/);
  t.throws(() => encodeField({ encoding: 'binary', length: 4, fixed: true }, fromHex('01')), /no pad byte/);
  t.throws(() => encodeField({ encoding: 'binary', length: 1, fixed: true }, fromHex('0102')), /do not fit/);
  t.throws(() => encodeField({ encoding: 'date', length: 4, fixed: true }, '20230229'), /not a calendar date/);
  t.throws(() => encodeField({ encoding: 'binary', length: 1, fixed: true }, 'text'), TypeError);
  t.throws(() => decodeField({ encoding: 'an', length: 2, fixed: true }, fromHex('410A')), /not printable ASCII/);
  t.throws(() => decodeField({ encoding: 'an', length: 3, fixed: true }, fromHex('4142')), /expected 3 bytes/);
  t.throws(() => decodeTlvRecord(fromHex('0905D5C5')), /needs 5 bytes/);
  t.throws(() => decodeTlvRecord(fromHex('0902D5C5AB')), /not padding/);
  t.throws(() => decodeTlvRecord(fromHex('FF00')), /not a SIMPLE-TLV tag/);
});
