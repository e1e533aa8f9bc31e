// One table, one walk: every EF05/EF06 data element of the built-in social security profile
// encodes its vector value to the vector bytes and record and decodes them back (also read from a
// linear-fixed record with trailing FF / 00 padding, as pySim's generic test does).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import {
  cardNumberCheck,
  decodeField,
  decodeParts,
  decodeTlvRecord,
  encodeField,
  encodeParts,
  encodeTlvRecord,
  gb11643Check,
  loadProfile,
  type DataElement,
  type EfNode,
  type FieldValue,
  type FileNode,
} from '../../profiles/index.js';

interface Vector {
  file: string;
  element: string;
  value?: string;
  hex?: string;
  parts?: Record<string, string>;
  bytes: string;
  record?: string;
  invalid?: boolean;
  check?: 'card-number' | 'gb11643';
  source?: string;
}

const { vectors } = JSON.parse(readFileSync(new URL('ef-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };
const profile = loadProfile('builtin:sscard-gen3');

function ef(path: string): EfNode {
  const walk = (n: FileNode): FileNode | undefined => (n.path === path ? n : n.kind === 'df' ? n.children.map(walk).find((x) => x) : undefined);
  const found = walk(profile.mf!);
  if (!found || found.kind !== 'ef') throw new Error(`no EF ${path}`);
  return found;
}

t.test('the table covers every data element of EF05 and EF06', async (t) => {
  for (const path of ['SSSE/EF05', 'SSSE/EF06']) {
    for (const el of ef(path).elements) t.ok(vectors.some((v) => v.file === path && v.element === el.name && !v.invalid), `${path} ${el.name}`);
  }
});

for (const [i, v] of vectors.entries()) {
  t.test(`${v.file} ${v.element} #${i}${v.source ? ` (${v.source})` : ''}`, async (t) => {
    const el: DataElement | undefined = ef(v.file).elements.find((e) => e.name === v.element);
    if (!el) throw new Error(`no element ${v.element}`);
    const bytes = fromHex(v.bytes);
    if (el.parts) {
      const values: Record<string, FieldValue> = {};
      for (const p of el.parts) values[p.name] = p.encoding === 'binary' ? fromHex(v.parts![p.name]!) : v.parts![p.name]!;
      t.equal(toHex(encodeParts(el.parts, values)), v.bytes, 'encode');
      const back = decodeParts(el.parts, bytes);
      for (const p of el.parts) {
        const x = back[p.name]!;
        t.equal(x instanceof Uint8Array ? toHex(x) : x, v.parts![p.name], `decode ${p.name}`);
      }
    } else {
      const value: FieldValue = v.hex !== undefined ? fromHex(v.hex) : v.value!;
      if (v.invalid) {
        t.throws(() => encodeField(el, value), 'the value is refused');
        t.throws(() => decodeField(el, bytes), 'the bytes are refused');
        return;
      }
      t.equal(toHex(encodeField(el, value)), v.bytes, 'encode');
      const back = decodeField(el, bytes);
      t.equal(back instanceof Uint8Array ? toHex(back) : back, v.hex ?? v.value, 'decode');
      if (v.check === 'card-number') t.equal(cardNumberCheck(v.value!.slice(0, 8)), v.value![8], 'check character');
      if (v.check === 'gb11643') t.equal(gb11643Check(v.value!.slice(0, 17)), v.value![17], 'check character');
    }
    if (v.record) {
      t.equal(toHex(encodeTlvRecord(el.tag!, bytes)), v.record, 'record = tag ‖ length ‖ value');
      for (const padding of ['', 'FFFF', '0000']) {
        const r = decodeTlvRecord(fromHex(v.record + padding));
        t.equal(r.tag, el.tag, `tag${padding ? ` (with ${padding} after)` : ''}`);
        t.equal(toHex(r.value), v.bytes, `value${padding ? ` (with ${padding} after)` : ''}`);
      }
    }
  });
}
