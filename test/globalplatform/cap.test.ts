// CAP files: the synthetic writer and the reader round-trip; the published HelloWorld components
// give the load file data block kaoh/globalplatform sent; corrupt input fails with a clear message.
import t from 'tap';
import { deflateRawSync } from 'node:zlib';
import { concat, fromHex, toHex } from '../../bytes/index.js';
import { hash } from '../../crypto/index.js';
import { CapFile, CapFileError, readZip, writeCap, writeIjc, writeZip, ZipError } from '../../globalplatform/index.js';
import { KAOH_HELLOWORLD_LOAD_STREAM } from '../channels/fixtures/transcripts.js';
import { helloWorldCap } from './fixtures/hello-world.js';

const PKG = fromHex('A0000001515350AA');
const APPLET = fromHex('A0000001515350AA01');

t.test('writeCap → CapFile.parse round trip', async (t) => {
  for (const deflate of [true, false]) {
    for (const capVersion of [{ major: 2, minor: 1 }, { major: 2, minor: 2 }] as const) {
      const bytes = writeCap({ packageAid: PKG, packageVersion: { major: 1, minor: 3 }, packageName: 'com.example.demo', applets: [{ aid: APPLET }, { aid: fromHex('A0000001515350AA02') }], deflate, capVersion });
      const cap = CapFile.parse(bytes, 'demo.cap');
      t.equal(cap.format, 'cap');
      t.equal(toHex(cap.packageAid), toHex(PKG));
      t.same(cap.packageVersion, { major: 1, minor: 3 });
      t.same(cap.capVersion, capVersion);
      t.equal(cap.packageName, 'com.example.demo');
      t.same(cap.flags, { int: false, export: false, applet: true });
      t.same(cap.applets.map((a) => toHex(a.aid)), ['A0000001515350AA01', 'A0000001515350AA02']);
      t.same(cap.imports.map((i) => ({ aid: toHex(i.aid), v: `${i.major}.${i.minor}`, name: i.name })), [{ aid: 'A0000000620101', v: '1.0', name: 'javacard.framework' }]);
      t.same(cap.components.map((c) => c.tag).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
      // Directory sizes agree with the components (JCVM §6.5).
      const dir = cap.component('Directory')!.bytes;
      const sizeOf = (tag: number) => cap.components.find((c) => c.tag === tag)?.size ?? 0;
      for (const [k, tag] of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].entries()) t.equal((dir[3 + 2 * k]! << 8) | dir[4 + 2 * k]!, sizeOf(tag), `Directory size of component ${tag}`);
    }
  }
});

t.test('load file data block: component order, Descriptor only when asked, hashes', async (t) => {
  const cap = CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }] }));
  const order = (b: Uint8Array) => {
    const tags: number[] = [];
    for (let i = 0; i < b.length; i += 3 + ((b[i + 1]! << 8) | b[i + 2]!)) tags.push(b[i]!);
    return tags;
  };
  t.same(order(cap.loadFileDataBlock()), [1, 2, 4, 3, 6, 7, 8, 5, 9], 'Header, Directory, Import, Applet, Class, Method, StaticField, ConstantPool, RefLocation');
  t.same(order(cap.loadFileDataBlock({ includeDescriptor: true })), [1, 2, 4, 3, 6, 7, 8, 5, 9, 11]);
  t.equal(toHex(cap.loadFileDataBlockHash('sha1')), toHex(hash('sha1', cap.loadFileDataBlock())));
  t.equal(cap.loadFileDataBlockHash('sha256').length, 32);
  t.equal(cap.codeSize(), cap.loadFileDataBlock().length);
});

t.test('IJC files: the same package, already concatenated', async (t) => {
  const ijc = writeIjc({ packageAid: PKG, applets: [{ aid: APPLET }] });
  const cap = CapFile.parse(ijc, 'demo.ijc');
  t.equal(cap.format, 'ijc');
  t.equal(toHex(cap.loadFileDataBlock()), toHex(CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }] })).loadFileDataBlock()));
});

t.test('the published HelloWorld: our load file data block is the one kaoh/globalplatform loaded', async (t) => {
  const cap = helloWorldCap();
  t.same(cap.capVersion, { major: 2, minor: 1 });
  t.equal(cap.packageName, 'com.example.helloworld', 'CAP 2.1 has no name in the Header: taken from the archive path');
  t.equal(toHex(cap.loadFileDataBlock({ includeDescriptor: true })), KAOH_HELLOWORLD_LOAD_STREAM.slice(8));
  t.equal(cap.loadFileDataBlock().length, 343 - 96, 'without the 96-byte Descriptor (GPPro default)');
  t.same(cap.imports.map((i) => i.name), ['javacard.framework']);
});

t.test('a 32 KiB package (method padding) stays structurally valid', async (t) => {
  const cap = CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }], methodPadding: 32 * 1024 - 120 }));
  t.ok(cap.codeSize() > 32 * 1024 - 120);
});

t.test('corrupt CAP files fail with a message that says what is wrong', async (t) => {
  const good = writeCap({ packageAid: PKG, applets: [{ aid: APPLET }] });
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated zip', good.subarray(0, good.length - 40), /bad\.cap: .*(not a complete zip archive|truncated)/],
    ['truncated in the middle', good.subarray(0, 200), /bad\.cap: not a complete zip archive: no end-of-central-directory record .*truncated/],
    ['empty file', new Uint8Array(0), /bad\.cap: the file is empty/],
    ['not a CAP at all', new TextEncoder().encode('hello world'), /neither a CAP archive \(zip\) nor an IJC load file/],
    ['missing Header', writeZip([{ name: 'x/javacard/Method.cap', data: fromHex('0700020000') }]), /no Header component \(…\/javacard\/Header\.cap\) in the archive \(it has x\/javacard\/Method\.cap\): not a CAP file/],
    [
      'wrong magic',
      writeZip([{ name: 'x/javacard/Header.cap', data: fromHex('01000FCAFEBABE0102040001' + '05A000000001') }]),
      /Header component's magic is CAFEBABE, expected DECAFFED/,
    ],
    ['component size past the end (IJC)', fromHex('010020DECAFFED'), /Header component at offset 0 says 32 bytes but only 4 follow: truncated or corrupt/],
    ['unknown component tag (IJC)', concat(fromHex('01000FDECAFFED0102040001'), fromHex('05A000000001'), fromHex('1F0000')), /unknown component tag 1F at offset 18/],
    ['component in the wrong file', writeZip([{ name: 'x/javacard/Header.cap', data: fromHex('0700020000') }]), /Header\.cap should hold one Header component \(tag 01\), found Method/],
  ];
  for (const [name, bytes, message] of cases) {
    const err = (() => {
      try {
        CapFile.parse(bytes, 'bad.cap');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(err instanceof CapFileError, `${name}: CapFileError`);
    t.match((err as Error).message, message, name);
  }
});

t.test('zip: stored and deflated entries, CRC check, data descriptors via the central directory', async (t) => {
  const data = new TextEncoder().encode('component bytes '.repeat(20));
  const zip = writeZip([{ name: 'a.bin', data }, { name: 'dir/', data: new Uint8Array(0) }, { name: 'b.bin', data: Uint8Array.of(1, 2, 3) }], { deflate: true });
  const entries = readZip(zip);
  t.same(entries.map((e) => e.name), ['a.bin', 'b.bin']);
  t.equal(toHex(entries[0]!.data), toHex(data));
  // Flip a byte of the stored entry b.bin: the CRC catches it.
  const bad = Uint8Array.from(zip);
  const at = toHex(bad).indexOf('010203') / 2;
  bad[at] = 9;
  t.throws(() => readZip(bad), ZipError);
  t.match((() => { try { readZip(bad); } catch (e) { return (e as Error).message; } return ''; })(), /CRC-32 mismatch/);
  t.ok(deflateRawSync(data).length < data.length);
});
