// CAP archives are read with bounded inflation: an entry inflates to at most the size its
// directory entry declares, the archive to at most MAX_INFLATED, so a zip bomb is refused before
// it allocates; ZIP64, encryption and other methods are refused by name. A seeded fuzz of a real
// CAP file (stored entries) and a deflated one: every mutation parses to the same content (CRC
// and sizes checked) or throws ZipError / CapFileError — never a RangeError or a zlib error.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { fromHex, toHex } from '../../bytes/index.js';
import { CapFile, CapFileError, MAX_INFLATED, readZip, writeCap, writeZip, ZipError, type ZipEntry } from '../../globalplatform/index.js';
import { xorshift32 } from '../helpers/rng.js';

const REAL_CAP = new Uint8Array(readFileSync(new URL('../../profiles/caps/cps-data-store.cap', import.meta.url)));
const DEFLATED_CAP = writeCap({ packageAid: fromHex('A0000001515350AA'), applets: [{ aid: fromHex('A0000001515350AA01') }], methodPadding: 600, deflate: true });

const le32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);

/** Offsets of the local header and the central directory entry of each entry, in order. */
function headers(zip: Uint8Array): { local: number[]; central: number[] } {
  const hex = toHex(zip);
  const find = (sig: string) => [...hex.matchAll(new RegExp(sig, 'g'))].map((m) => m.index! / 2).filter((i) => Number.isInteger(i));
  return { local: find('504B0304'), central: find('504B0102') };
}

/** The archive with field `at` (an offset inside each header) of one entry set in both headers. */
function patch(zip: Uint8Array, entry: number, localAt: number, centralAt: number, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(zip);
  const { local, central } = headers(zip);
  out.set(bytes, local[entry]! + localAt);
  out.set(bytes, central[entry]! + centralAt);
  return out;
}

function zipError(bytes: Uint8Array): ZipError | undefined {
  try {
    readZip(bytes);
  } catch (e) {
    if (e instanceof ZipError) return e;
    throw e;
  }
  return undefined;
}

t.test('zip bomb: an entry that inflates past its declared size is refused', async (t) => {
  const huge = new Uint8Array(64 * 1024 * 1024); // 64 MiB of zeros deflate to ~64 KiB
  const bomb = patch(writeZip([{ name: 'x/javacard/Header.cap', data: huge }], { deflate: true }), 0, 22, 24, le32(100));
  t.ok(bomb.length < 100 * 1024, `the bomb is ${bomb.length} bytes`);
  t.match(zipError(bomb)?.message, /entry x\/javacard\/Header\.cap: inflates to more than the 100 bytes the directory declares \(corrupt archive or zip bomb\)/);
  t.throws(() => CapFile.parse(bomb, 'bomb.cap'), { name: 'CapFileError', message: /bomb\.cap: .*inflates to more than the 100 bytes/ });
});

t.test('an archive declaring more than MAX_INFLATED in all is refused before inflating', async (t) => {
  const half = new Uint8Array(MAX_INFLATED / 2 + 1);
  const zip = writeZip([{ name: 'a.bin', data: half }, { name: 'b.bin', data: half }], { deflate: true });
  t.match(zipError(zip)?.message, new RegExp(`entry b\\.bin declares ${half.length} bytes, past the ${MAX_INFLATED}-byte limit for all entries`));
  t.equal(readZip(writeZip([{ name: 'a.bin', data: half }], { deflate: true }))[0]!.data.length, half.length, 'one of them alone is within the limit');
});

t.test('ZIP64, encryption and unknown methods are refused by name', async (t) => {
  const zip = writeZip([{ name: 'a.bin', data: new TextEncoder().encode('component '.repeat(10)) }], { deflate: true });
  t.match(zipError(patch(zip, 0, 22, 24, le32(0xffffffff)))?.message, /entry a\.bin needs ZIP64 \(not supported/);
  t.match(zipError(patch(zip, 0, 18, 20, le32(0xffffffff)))?.message, /entry a\.bin needs ZIP64/);
  t.match(zipError(patch(zip, 0, 6, 8, Uint8Array.of(0x01, 0x08)))?.message, /entry a\.bin is encrypted/);
  t.match(zipError(patch(zip, 0, 8, 10, Uint8Array.of(12, 0)))?.message, /entry a\.bin: compression method 12 is not supported \(only stored and deflated\)/);
  // a size field one short: the entry inflates past it
  t.match(zipError(patch(zip, 0, 22, 24, le32(99)))?.message, /entry a\.bin: inflates to more than the 99 bytes/);
  t.match(zipError(patch(zip, 0, 22, 24, le32(101)))?.message, /entry a\.bin: 100 bytes after inflating, the directory says 101/);
  t.ok(deflateRawSync(new Uint8Array(100)).length < 100);
});

/** Random damage: byte changes, header fields set to edge values, truncation, spans cut or doubled. */
function mutate(next: () => number, seed: Uint8Array): Uint8Array {
  let out = Uint8Array.from(seed);
  const { local, central } = headers(seed);
  const rounds = 1 + (next() % 3);
  for (let r = 0; r < rounds; r++) {
    const at = next() % Math.max(1, out.length);
    switch (next() % 6) {
      case 0: // a random byte anywhere
        out[at] = next() >>> 24;
        break;
      case 1: { // a header field (sizes, offsets, lengths, flags, method) set to an edge value
        const heads = next() % 2 ? local : central;
        const base = heads[next() % heads.length]!;
        const field = base + 4 + 2 * (next() % 21);
        const edge = [0, 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, 0x80000000, seed.length, next()][next() % 9]!;
        if (field + 4 <= out.length) out.set(le32(edge), field);
        break;
      }
      case 2: // a bit of the end record or central directory
        out[central[0]! + (next() % (out.length - central[0]!))]! ^= 1 << (next() % 8);
        break;
      case 3: // truncated
        out = out.slice(0, at);
        break;
      case 4: // a span cut out
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1 + (next() % 64))]);
        break;
      default: // a span doubled
        out = Uint8Array.from([...out.subarray(0, at + 1), ...out.subarray(at, at + 1 + (next() % 64)), ...out.subarray(at + 1)]);
    }
  }
  return out;
}

t.test('seeded fuzz: every mutation parses to checked content or throws the module error', async (t) => {
  const next = xorshift32(0x12c4b);
  for (const [name, seed] of [['cps-data-store.cap (stored)', REAL_CAP], ['synthetic CAP (deflated)', DEFLATED_CAP]] as const) {
    const original = new Map(readZip(seed).map((e) => [e.name, toHex(e.data)]));
    t.ok(readZip(seed).length >= 10, `${name}: the seed reads`);
    const wrong: string[] = [];
    const outcomes = { same: 0, renamed: 0, zipError: 0, capError: 0 };
    for (let i = 0; i < 2000; i++) {
      const bytes = mutate(next, seed);
      let entries: ZipEntry[] | undefined;
      try {
        entries = readZip(bytes);
      } catch (e) {
        if (e instanceof ZipError) outcomes.zipError++;
        else wrong.push(`#${i} readZip: ${(e as Error).name}: ${(e as Error).message}`);
      }
      for (const e of entries ?? []) {
        const was = original.get(e.name);
        if (was === undefined) outcomes.renamed++;
        else if (was === toHex(e.data)) outcomes.same++;
        else wrong.push(`#${i} ${e.name}: other content than the original`);
      }
      try {
        CapFile.parse(bytes, 'fuzz.cap');
      } catch (e) {
        if (e instanceof CapFileError) outcomes.capError++;
        else wrong.push(`#${i} CapFile.parse: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    t.same(wrong, [], `${name}: only ZipError / CapFileError, never changed content`);
    t.ok(outcomes.same > 0 && outcomes.zipError > 0 && outcomes.capError > 0, `${name}: mutations both parse and fail (${JSON.stringify(outcomes)})`);
  }
});
