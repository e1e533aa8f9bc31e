import t from 'tap';
import * as iso from '../../iso7816/index.js';
import { Iso7816Error } from '../../iso7816/index.js';

t.test('Iso7816Error', async (t) => {
  const e = new Iso7816Error('tlv: length field at offset 5 runs past the end (needs 2 bytes, 1 left)', 5);
  t.ok(e instanceof Error);
  t.equal(e.name, 'Iso7816Error');
  t.equal(e.offset, 5);
  t.match(String(e), /^Iso7816Error: tlv: length field at offset 5/);
  t.ok(e.stack?.includes('errors.test.ts'), 'keeps a stack');
});

t.test('the index exports the whole public API', async (t) => {
  const functions = [
    'apdu', 'checkCommand', 'commandCase', 'encodeCommand', 'parseCommand', 'encodeResponse', 'parseResponse', 'formatCommand',
    'formatResponse', 'sw1', 'sw2', 'insName', 'describeSw', 'swMeaning', 'formatSw', 'isSuccess', 'swClass', 'requireSw',
    'parseTlv', 'buildTlv', 'encodeTag', 'encodeLength', 'tagNumber', 'formatTag', 'findTlv', 'findAllTlv', 'encodeDgi',
    'parseDgis', 'isSensitiveDgi', 'formatDgi', 'encodeBcd', 'decodeBcd', 'encodeCn', 'decodeCn', 'encodeAn', 'decodeAn',
    'encodeGbk', 'decodeGbk', 'encodeDateCn', 'decodeDateCn', 'daysInMonth', 'Iso7816Error', 'StatusWordError',
  ];
  const exported = iso as unknown as Record<string, unknown>;
  for (const name of functions) t.equal(typeof exported[name], 'function', name);
  t.ok(Array.isArray(iso.STATUS_WORDS));
  t.equal(iso.MAX_SHORT_DATA, 255);
  t.equal(iso.MAX_EXTENDED_LE, 65536);
  t.equal(iso.MAX_TLV_DEPTH, 32);
});
