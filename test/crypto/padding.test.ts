// ISO/IEC 9797-1 padding methods 1 and 2: exact shapes, round trips and every rejection.
import t from 'tap';
import { fromHex as h } from '../../bytes/index.js';
import { pad, PaddingError, unpadMethod2 } from '../../crypto/padding.js';

t.test('method 1: zeros to the boundary, none when aligned, one block for empty data', async (t) => {
  t.same(pad(h('0102'), 1, 8), h('0102000000000000'));
  t.same(pad(h('0102030405060708'), 1, 8), h('0102030405060708'), 'aligned data gets no padding');
  t.same(pad(new Uint8Array(0), 1, 8), new Uint8Array(8), 'empty message becomes one zero block');
  t.same(pad(new Uint8Array(0), 1, 16), new Uint8Array(16));
  t.same(pad(h('01'), 1, 16).length, 16);
});

t.test('method 2: 80 then zeros, always added', async (t) => {
  t.same(pad(h('0102'), 2, 8), h('0102800000000000'));
  t.same(pad(h('01020304050607'), 2, 8), h('0102030405060780'), 'room for exactly the marker');
  t.same(pad(h('0102030405060708'), 2, 8), h('01020304050607088000000000000000'), 'aligned data gets a whole block');
  t.same(pad(new Uint8Array(0), 2, 8), h('8000000000000000'));
  t.same(pad(new Uint8Array(0), 2, 16), h('80000000000000000000000000000000'));
});

t.test('pad does not modify its input', async (t) => {
  const data = h('0102');
  pad(data, 2, 8);
  pad(data, 1, 8);
  t.same(data, h('0102'));
});

t.test('method 2 round trip for every length 0..40 and both block sizes', async (t) => {
  for (const bs of [8, 16]) {
    for (let n = 0; n <= 40; n++) {
      // Data ending in 00 and 80 bytes is the tricky case for a stripper that scans backwards.
      const data = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0x00 : i % 3 === 1 ? 0x80 : i));
      const padded = pad(data, 2, bs);
      t.equal(padded.length % bs, 0);
      t.ok(padded.length > n && padded.length <= n + bs);
      t.same(unpadMethod2(padded), data, `n=${n} bs=${bs}`);
      t.same(unpadMethod2(padded, bs), data, `n=${n} bs=${bs} with block check`);
    }
  }
});

t.test('unpadMethod2 rejects bad padding with PaddingError', async (t) => {
  const bad: [string, Uint8Array, number?][] = [
    ['empty', new Uint8Array(0)],
    ['all zeros', new Uint8Array(8)],
    ['no marker', h('0102030405060708')],
    ['wrong marker', h('0102030405060781')],
    ['marker followed by non-zero', h('0102038000000001')],
    ['not whole blocks', h('01028000000000'), 8],
    ['empty with block size', new Uint8Array(0), 8],
    ['padding longer than a block', h('80000000000000000000000000000000'), 8],
  ];
  for (const [name, data, bs] of bad) {
    t.throws(() => unpadMethod2(data, bs), PaddingError, name);
    t.throws(() => unpadMethod2(data, bs), { name: 'PaddingError', message: /^padding: / }, name);
  }
  t.same(unpadMethod2(h('80')), new Uint8Array(0), 'a lone marker is valid without a block size');
});

t.test('argument errors', async (t) => {
  t.throws(() => pad('0102' as unknown as Uint8Array, 2, 8), { name: 'TypeError', message: /^padding: data: expected Uint8Array/ });
  t.throws(() => pad([1, 2] as unknown as Uint8Array, 1, 8), TypeError);
  t.throws(() => pad(h('01'), 3 as 1, 8), { name: 'RangeError', message: 'padding: method must be 1 or 2, got 3' });
  t.throws(() => pad(h('01'), 0 as 1, 8), RangeError);
  for (const bs of [0, -8, 7.5, 256, NaN]) {
    t.throws(() => pad(h('01'), 2, bs), { name: 'RangeError', message: /^padding: block size must be an integer/ }, `block size ${bs}`);
  }
  t.throws(() => pad(h('01'), 2, '8' as unknown as number), RangeError);
  t.throws(() => unpadMethod2(null as unknown as Uint8Array), { name: 'TypeError', message: /^padding: data/ });
  t.throws(() => unpadMethod2(h('80'), 0), RangeError);
});
