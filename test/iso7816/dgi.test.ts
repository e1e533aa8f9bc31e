import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { encodeDgi, formatDgi, isSensitiveDgi, parseDgis } from '../../iso7816/index.js';
import { counting, h, throwsIso } from './fixtures/helpers.js';

t.test('encodeDgi: 1-byte length below 255, FF + 2 bytes from 255 on', async (t) => {
  t.equal(toHex(encodeDgi(0x0101, h('414243'))), '010103414243');
  t.equal(toHex(encodeDgi(0x9000, new Uint8Array(0))), '900000', 'empty DGI');
  t.equal(toHex(encodeDgi(0x0202, counting(254))), '0202FE' + toHex(counting(254)), '254 bytes: still 1-byte length');
  t.equal(toHex(encodeDgi(0x0202, counting(255))), '0202FF00FF' + toHex(counting(255)), '255 bytes: FF 00FF');
  t.equal(toHex(encodeDgi(0x8000, counting(300))), '8000FF012C' + toHex(counting(300)), '300 bytes: FF 012C');
  t.equal(toHex(encodeDgi(0xffff, counting(65535)).subarray(0, 5)), 'FFFFFFFFFF', '65535 bytes');
  t.throws(() => encodeDgi(0x0101, counting(65536)), RangeError, 'too long');
  t.throws(() => encodeDgi(0x10000, counting(1)), RangeError, 'DGI above FFFF');
  t.throws(() => encodeDgi(0x0101, 'AA' as unknown as Uint8Array), TypeError, 'data must be bytes');
});

t.test('parseDgis: a CPS stream of several DGIs', async (t) => {
  const stream = concat(
    encodeDgi(0x0101, h('414243')), // offset 0, 6 bytes
    encodeDgi(0x8000, counting(16)), // offset 6, 19 bytes
    encodeDgi(0x9000, counting(255, 7)), // offset 25, 260 bytes
    encodeDgi(0x0202, counting(300, 9)), // offset 285, 305 bytes
    encodeDgi(0x7fff, new Uint8Array(0)), // offset 590
  );
  const dgis = parseDgis(stream);
  t.same(
    dgis.map((d) => [formatDgi(d.dgi), d.offset, d.data.length]),
    [
      ['0101', 0, 3],
      ['8000', 6, 16],
      ['9000', 25, 255],
      ['0202', 285, 300],
      ['7FFF', 590, 0],
    ],
  );
  t.equal(toHex(dgis[2]!.data), toHex(counting(255, 7)));
  t.equal(toHex(dgis[3]!.data), toHex(counting(300, 9)));
  t.equal(toHex(concat(...dgis.map((d) => encodeDgi(d.dgi, d.data)))), toHex(stream), 'round trip');
  t.same(parseDgis(new Uint8Array(0)), [], 'empty stream');
  const buffer = Buffer.from(stream);
  const copy = parseDgis(buffer)[1]!.data;
  buffer.fill(0);
  t.equal(toHex(copy), toHex(counting(16)), 'data does not alias a Buffer input');
  t.same(
    parseDgis(h('0101FF0003AABBCC')).map((d) => [d.dgi, toHex(d.data)]),
    [[0x0101, 'AABBCC']],
    'a non-minimal FF 0003 length is read',
  );
});

t.test('malformed DGI streams', async (t) => {
  throwsIso(t, () => parseDgis(h('01')), 0, 'identifier at offset 0 runs past the end (needs 2 bytes, 1 left)', 'half identifier');
  throwsIso(t, () => parseDgis(h('0101')), 2, 'length field at offset 2 runs past the end', 'no length');
  throwsIso(t, () => parseDgis(h('0101FF01')), 2, 'needs 3 bytes FF xx xx, 2 left', 'cut 3-byte length');
  throwsIso(t, () => parseDgis(h('0101FF')), 2, 'needs 3 bytes FF xx xx, 1 left', 'FF alone');
  throwsIso(t, () => parseDgis(h('010105AA')), 3, 'data of DGI 0101 at offset 3 runs past the end (needs 5 bytes, 1 left)', 'short data');
  throwsIso(t, () => parseDgis(h('010101AA8000FF012CAA')), 9, 'data of DGI 8000 at offset 9 runs past the end (needs 300 bytes, 1 left)', 'second DGI short');
  throwsIso(t, () => parseDgis(h('010101AA02')), 4, 'identifier at offset 4', 'trailing byte');
});

t.test('sensitive DGIs are 8000-8FFF', async (t) => {
  t.equal(isSensitiveDgi(0x7fff), false);
  t.equal(isSensitiveDgi(0x8000), true);
  t.equal(isSensitiveDgi(0x8010), true);
  t.equal(isSensitiveDgi(0x8fff), true);
  t.equal(isSensitiveDgi(0x9000), false);
  t.equal(isSensitiveDgi(0x0101), false);
  t.throws(() => isSensitiveDgi(0x18000), RangeError);
});
