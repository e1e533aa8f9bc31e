import t from 'tap';
import { HexError, toHex } from '../../bytes/index.js';
import {
  buildTlv,
  encodeLength,
  encodeTag,
  findAllTlv,
  findTlv,
  formatTag,
  MAX_TLV_DEPTH,
  parseTlv,
  tagNumber,
  type TlvNode,
} from '../../iso7816/index.js';
import { counting, h, throwsIso } from './fixtures/helpers.js';

// PPSE FCI (EMV Book 1 §12.3.4 / Book B shape) for a UnionPay application; lengths checked by hand:
// 84: 2+14 = 16; 61: 4F 07 +7, 87 01 +1 → 12 (0C); BF0C: 14 (0E); A5: 3+14 = 17 (11); 6F: 16+19 = 35 (23).
const PPSE_FCI = '6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A0000003330101870101';

/** Re-encodes a node from its parts; equals the input wherever lengths were minimal. */
function encodeNode(node: TlvNode): Uint8Array {
  return buildTlv(node.tag, node.children ? node.children.map(encodeNode) : node.value);
}

t.test('PPSE FCI: structure, offsets, lookups', async (t) => {
  const bytes = h(PPSE_FCI);
  t.equal(bytes.length, 37);
  const nodes = parseTlv(bytes);
  t.equal(nodes.length, 1);
  const fci = nodes[0]!;
  t.same([fci.tag, fci.constructed, fci.length, fci.offset], [0x6f, true, 0x23, 0]);
  const [df, prop] = fci.children!;
  t.same([df!.tag, df!.constructed, df!.length, df!.offset, toHex(df!.value)], [0x84, false, 14, 2, '325041592E5359532E4444463031']);
  t.same([prop!.tag, prop!.length, prop!.offset], [0xa5, 0x11, 18]);
  const bf0c = prop!.children![0]!;
  t.same([bf0c.tag, toHex(bf0c.tagBytes), bf0c.constructed, bf0c.length, bf0c.offset], [0xbf0c, 'BF0C', true, 14, 20]);
  const entry = bf0c.children![0]!;
  t.same([entry.tag, entry.offset, entry.children!.length], [0x61, 23, 2]);
  const aid = findTlv(nodes, [0x6f, 0xa5, 0xbf0c, 0x61, 0x4f])!;
  t.same([toHex(aid.value), aid.offset], ['A0000003330101', 25]);
  const priority = findTlv(nodes, ['6F', 'A5', 'BF0C', '61', '87'])!;
  t.same([toHex(priority.value), priority.offset], ['01', 34]);
  t.equal(findTlv(nodes, [0x6f, 0xa5, 0x50]), undefined, 'absent label');
  t.equal(findTlv(nodes, [0x84, 0x50]), undefined, 'no path through a primitive object');
  t.equal(toHex(encodeNode(fci)), PPSE_FCI, 're-encodes byte for byte');
});

t.test('a Node Buffer as input: values are plain, independent copies', async (t) => {
  const input = Buffer.from(PPSE_FCI, 'hex');
  const aid = findTlv(parseTlv(input), [0x6f, 0xa5, 0xbf0c, 0x61, 0x4f])!;
  t.notOk(Buffer.isBuffer(aid.value), 'a Uint8Array, not a Buffer view');
  input.fill(0);
  t.equal(toHex(aid.value), 'A0000003330101', 'unchanged after the input is wiped');
});

t.test('PPSE FCI built with buildTlv', async (t) => {
  const built = buildTlv(0x6f, [
    buildTlv(0x84, h('325041592E5359532E4444463031')),
    buildTlv(0xa5, [buildTlv('BF0C', [buildTlv(0x61, [buildTlv(0x4f, h('A0000003330101')), buildTlv(0x87, h('01'))])])]),
  ]);
  t.equal(toHex(built), PPSE_FCI);
});

t.test('findTlv tries every branch; findAllTlv returns all matches in order', async (t) => {
  const bytes = buildTlv(0x70, [
    buildTlv(0xa5, [buildTlv(0x87, h('01'))]),
    buildTlv(0xa5, [buildTlv(0x50, h('414243')), buildTlv(0x50, h('444546'))]),
  ]);
  const nodes = parseTlv(bytes);
  t.equal(toHex(findTlv(nodes, [0x70, 0xa5, 0x50])!.value), '414243', 'second A5 found past the first');
  t.same(findAllTlv(nodes, [0x70, 0xa5, 0x50]).map((n) => toHex(n.value)), ['414243', '444546']);
  t.same(findAllTlv(nodes, [0x70, 0xa5]).length, 2);
  t.same(findAllTlv(nodes, [0x71]), []);
  t.throws(() => findTlv(nodes, []), RangeError, 'empty path');
  t.throws(() => findAllTlv(nodes, ['9F']), RangeError, 'bad tag in the path');
});

t.test('two applications in a PPSE', async (t) => {
  const entry = (aid: string, prio: string) => buildTlv(0x61, [buildTlv(0x4f, h(aid)), buildTlv(0x87, h(prio))]);
  const fci = buildTlv(0x6f, [buildTlv(0x84, h('325041592E5359532E4444463031')), buildTlv(0xa5, [buildTlv(0xbf0c, [entry('A0000003330101', '01'), entry('A0000000031010', '02')])])]);
  const aids = findAllTlv(parseTlv(fci), [0x6f, 0xa5, 0xbf0c, 0x61, 0x4f]).map((n) => toHex(n.value));
  t.same(aids, ['A0000003330101', 'A0000000031010']);
});

t.test('lengths: short, 81, 82, 83, minimal when built', async (t) => {
  const cases: [number, string][] = [
    [0, '00'],
    [0x7f, '7F'],
    [0x80, '8180'],
    [0xc8, '81C8'],
    [0xff, '81FF'],
    [0x100, '820100'],
    [0xffff, '82FFFF'],
    [0x10000, '83010000'],
    [0xffffff, '83FFFFFF'],
  ];
  for (const [n, hex] of cases) t.equal(toHex(encodeLength(n)), hex, `length ${n}`);
  t.throws(() => encodeLength(0x1000000), RangeError);
  t.throws(() => encodeLength(-1), RangeError);

  for (const n of [127, 128, 200, 255, 256, 1000, 70000]) {
    const value = counting(n);
    const bytes = buildTlv(0x53, value);
    t.equal(toHex(bytes.subarray(0, 1 + encodeLength(n).length)), '53' + toHex(encodeLength(n)), `header for ${n}`);
    const [node] = parseTlv(bytes);
    t.same([node!.length, node!.value.length, node!.value[n - 1]], [n, n, (n - 1) & 0xff], `parse ${n} bytes`);
  }
  const lax = parseTlv(h('5381030102035382000104'));
  t.same(lax.map((n) => [n.offset, toHex(n.value)]), [[0, '010203'], [6, '04']], 'non-minimal 81/82 lengths are read');
});

t.test('multi-byte tags', async (t) => {
  const nodes = parseTlv(h('9F0206000000001000' + '5F2A020156' + 'DF810102ABCD' + 'BF0C03DF7F00'));
  t.same(
    nodes.map((n) => [formatTag(n.tag), toHex(n.tagBytes), n.constructed, n.offset, toHex(n.value)]),
    [
      ['9F02', '9F02', false, 0, '000000001000'],
      ['5F2A', '5F2A', false, 9, '0156'],
      ['DF8101', 'DF8101', false, 14, 'ABCD'],
      ['BF0C', 'BF0C', true, 20, 'DF7F00'],
    ],
  );
  t.same([nodes[3]!.children![0]!.tag, nodes[3]!.children![0]!.length, nodes[3]!.children![0]!.offset], [0xdf7f, 0, 23]);
  t.equal(toHex(buildTlv(0xdf8101, h('ABCD'))), 'DF810102ABCD');
  t.equal(toHex(buildTlv('9F02', h('000000001000'))), '9F0206000000001000');
  t.equal(formatTag(0x50), '50');
  t.equal(formatTag(0x5), '05');
  t.equal(tagNumber('bf0c'), 0xbf0c);
  t.equal(toHex(encodeTag(0x9f7f)), '9F7F');
});

t.test('invalid tags for buildTlv / encodeTag', async (t) => {
  for (const bad of [0x00, 0xff, 0x1f, 0x9f, 0x9f82, 0x5081, 0x1f80, 0xdf8080, 0xdf8181, 0x1000000, 1.5, -3]) {
    t.throws(() => buildTlv(bad, h('00')), RangeError, `tag ${bad}`);
  }
  t.throws(() => buildTlv('DF818101', h('00')), /1 to 3 bytes/, '4-byte tag');
  t.throws(() => buildTlv('', h('00')), /1 to 3 bytes/, 'empty tag');
  t.throws(() => buildTlv('DF0101', h('00')), /ends early/, 'continuation bit missing in the middle');
  t.throws(() => buildTlv('zz', h('00')), HexError, 'not hex');
  t.throws(() => buildTlv(0x84, [buildTlv(0x50, h('41'))]), /primitive/, 'children under a primitive tag');
  t.throws(() => buildTlv(0x84, 'A0' as unknown as Uint8Array), TypeError, 'value must be bytes');
  t.throws(() => buildTlv(0x6f, [h('84'), 'x' as unknown as Uint8Array]), TypeError, 'children must be bytes');
  t.equal(toHex(buildTlv(0x6f, [])), '6F00', 'empty constructed object');
});

t.test('malformed TLV raises Iso7816Error at the right offset', async (t) => {
  throwsIso(t, () => parseTlv(h('5001419F0281')), 5, 'tlv: length field at offset 5 runs past the end (needs 2 bytes, 1 left)', 'cut 81 length');
  throwsIso(t, () => parseTlv(h('5382FF')), 1, 'needs 3 bytes, 2 left', 'cut 82 length');
  throwsIso(t, () => parseTlv(h('53')), 1, 'length field at offset 1 runs past the end (needs 1 byte, 0 left)', 'no length');
  throwsIso(t, () => parseTlv(h('6F80840100')), 1, '80 (indefinite form)', 'indefinite length');
  throwsIso(t, () => parseTlv(h('53840000000100')), 1, 'starts with 84 (4 length bytes)', '84 length');
  throwsIso(t, () => parseTlv(h('53FF')), 1, 'starts with FF', 'FF length');
  throwsIso(t, () => parseTlv(h('84050102')), 2, 'value of tag 84 at offset 2 runs past the end (needs 5 bytes, 2 left)', 'short value');
  throwsIso(t, () => parseTlv(h('6F038405010203040506')), 4, 'runs past the end of tag 6F (offset 0) (needs 5 bytes, 1 left)', 'child longer than parent');
  throwsIso(t, () => parseTlv(h('9F')), 0, 'tag at offset 0 runs past the end (needs 2 bytes, 1 left)', 'cut 2-byte tag');
  throwsIso(t, () => parseTlv(h('500100DF81')), 3, 'tag at offset 3 runs past the end (needs 3 bytes, 2 left)', 'cut 3-byte tag');
  throwsIso(t, () => parseTlv(h('DF81818101AA')), 0, 'longer than 3 bytes', '4-byte tag');
  throwsIso(t, () => parseTlv(h('1F800100')), 0, 'second byte 80', 'leading-zero tag byte');
  throwsIso(t, () => parseTlv(h('00840100')), 0, 'byte 00 at offset 0 cannot start a tag', 'leading 00 without padding');
  throwsIso(t, () => parseTlv(h('8401AAFF8501BB')), 3, 'byte FF at offset 3 cannot start a tag', 'FF between objects');
  throwsIso(t, () => parseTlv(h('6F0584010000AA')), 5, 'byte 00 at offset 5', '00 inside a constructed value');
  t.throws(() => parseTlv('6F00' as unknown as Uint8Array), TypeError);
});

t.test('00/FF padding between objects when asked for', async (t) => {
  const bytes = h('00008401AAFFFF8501BB00' + '6F06008401CCFF00' + 'FF');
  const nodes = parseTlv(bytes, { padding: true });
  t.same(nodes.map((n) => [formatTag(n.tag), n.offset]), [['84', 2], ['85', 7], ['6F', 11]]);
  const inner = nodes[2]!.children!;
  t.same(inner.map((n) => [formatTag(n.tag), n.offset, toHex(n.value)]), [['84', 14, 'CC']], 'padding inside a constructed value');
  t.same(parseTlv(h('840200FF'), { padding: true }).map((n) => toHex(n.value)), ['00FF'], 'padding bytes inside a value are data');
  t.same(parseTlv(h('0000FF'), { padding: true }), [], 'padding only');
  t.same(parseTlv(new Uint8Array(0)), [], 'empty input');
  throwsIso(t, () => parseTlv(h('00840500FF'), { padding: true }), 3, 'value of tag 84 at offset 3', 'padding does not excuse a long length');
});

t.test('nesting depth is bounded', async (t) => {
  const nest = (levels: number): Uint8Array => {
    let b = buildTlv(0x50, h('41'));
    for (let i = 0; i < levels; i++) b = buildTlv(0x70, [b]);
    return b;
  };
  const ok = parseTlv(nest(MAX_TLV_DEPTH - 1));
  t.equal(findAllTlv(ok, new Array<number>(MAX_TLV_DEPTH - 1).fill(0x70).concat(0x50)).length, 1, `${MAX_TLV_DEPTH} levels parse`);
  throwsIso(t, () => parseTlv(nest(MAX_TLV_DEPTH)), 2 * (MAX_TLV_DEPTH - 1), 'nests deeper than', 'one level too deep');
  t.throws(() => parseTlv(nest(1000)), { name: 'Iso7816Error', message: /nests deeper than 32 levels/ }, '1000 levels: refused, no stack overflow');
});
