// CAP files (Java Card Virtual Machine Specification 2.1–3.0.5, chapter 6): a JAR/zip whose
// `<package path>/javacard/<Component>.cap` entries each hold one component as tag (1) ‖ size (2) ‖
// info, or an `.ijc` file with the components already concatenated. From them cardsmith builds the
// Load File Data Block that LOAD sends (GP Card Specification 2.3.1 §11.6, C4 ‖ length ‖ block)
// and its hash (SHA-1 or SHA-256) for INSTALL [for load] and DAP verification.
//
// Component order in the load file (JCVM §6.2): Header, Directory, Import, Applet, Class, Method,
// StaticField, Export, ConstantPool, RefLocation, then Descriptor and Debug. Like GlobalPlatformPro,
// cardsmith leaves Descriptor (and Debug) out unless asked: the card does not need them to link the
// package, and they cost EEPROM and LOAD time. Some tools (kaoh/globalplatform) send Descriptor.
import { basename } from 'node:path';
import { concat, toHex } from '../bytes/index.js';
import { hash } from '../crypto/index.js';
import { CapFileError } from './errors.js';
import { isZip, readZip, ZipError } from './zip.js';

export const COMPONENT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'Header',
  2: 'Directory',
  3: 'Applet',
  4: 'Import',
  5: 'ConstantPool',
  6: 'Class',
  7: 'Method',
  8: 'StaticField',
  9: 'RefLocation',
  10: 'Export',
  11: 'Descriptor',
  12: 'Debug',
});

const TAG_BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(COMPONENT_NAMES).map(([tag, name]) => [name, Number(tag)]));

/** JCVM §6.2 order; Descriptor and Debug follow only when asked for. */
export const LOAD_ORDER: readonly string[] = ['Header', 'Directory', 'Import', 'Applet', 'Class', 'Method', 'StaticField', 'Export', 'ConstantPool', 'RefLocation'];

/** Java Card API packages by AID, for listings. */
export const WELL_KNOWN_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  A0000000620001: 'java.lang',
  A0000000620002: 'java.io',
  A0000000620003: 'java.rmi',
  A0000000620101: 'javacard.framework',
  A000000062010101: 'javacard.framework.service',
  A0000000620102: 'javacard.security',
  A0000000620201: 'javacardx.crypto',
  A0000000620202: 'javacardx.biometry',
  A0000000620203: 'javacardx.external',
  A0000000620209: 'javacardx.apdu',
  A00000015100: 'org.globalplatform',
  A0000000030000: 'visa.openplatform',
});

export const CAP_MAGIC = 0xdecaffed;

export interface CapComponent {
  tag: number;
  name: string;
  /** tag ‖ size ‖ info: exactly what goes into the load file data block. */
  bytes: Uint8Array;
  /** Size of the info part (the size field). */
  size: number;
}

export interface PackageRef {
  aid: Uint8Array;
  major: number;
  minor: number;
  /** Known Java Card API name, if any. */
  name?: string;
}

export interface CapApplet {
  aid: Uint8Array;
  installMethodOffset: number;
}

export interface LoadFileOptions {
  includeDescriptor?: boolean;
  includeDebug?: boolean;
}

export class CapFile {
  /** Where it came from, for messages. */
  readonly source: string;
  readonly format: 'cap' | 'ijc';
  readonly components: readonly CapComponent[];
  readonly capVersion: { major: number; minor: number };
  readonly flags: { int: boolean; export: boolean; applet: boolean };
  readonly packageAid: Uint8Array;
  readonly packageVersion: { major: number; minor: number };
  /** From the Header (CAP 2.2+) or the archive path; undefined for an IJC without a name. */
  readonly packageName: string | undefined;
  readonly applets: readonly CapApplet[];
  readonly imports: readonly PackageRef[];

  private constructor(source: string, format: 'cap' | 'ijc', components: CapComponent[], pathName: string | undefined) {
    this.source = source;
    this.format = format;
    this.components = Object.freeze(components);
    const header = this.component('Header');
    if (!header) {
      throw new CapFileError(format === 'cap' ? 'no Header component (…/javacard/Header.cap): not a CAP file' : 'no Header component (tag 01): not a CAP load file', source);
    }
    const h = header.bytes;
    if (h.length < 3 + 10) throw new CapFileError(`the Header component is ${h.length - 3} bytes, too short for magic, versions, flags and the package AID`, source);
    const magic = ((h[3]! << 24) | (h[4]! << 16) | (h[5]! << 8) | h[6]!) >>> 0;
    if (magic !== CAP_MAGIC) {
      throw new CapFileError(`the Header component's magic is ${toHex(h.subarray(3, 7))}, expected DECAFFED: not a CAP file (or a damaged one)`, source);
    }
    this.capVersion = { minor: h[7]!, major: h[8]! };
    const f = h[9]!;
    this.flags = { int: (f & 0x01) !== 0, export: (f & 0x02) !== 0, applet: (f & 0x04) !== 0 };
    this.packageVersion = { minor: h[10]!, major: h[11]! };
    const aidLength = h[12]!;
    if (aidLength < 5 || aidLength > 16 || 13 + aidLength > h.length) {
      throw new CapFileError(`the Header component's package AID length ${aidLength} is not 5..16 or runs past the component`, source);
    }
    this.packageAid = h.slice(13, 13 + aidLength);
    let name = pathName;
    const at = 13 + aidLength;
    if (at < h.length) {
      const nameLength = h[at]!;
      if (nameLength > 0 && at + 1 + nameLength <= h.length) name = new TextDecoder().decode(h.subarray(at + 1, at + 1 + nameLength)).replaceAll('/', '.');
    }
    this.packageName = name;
    this.applets = Object.freeze(parseApplets(this.component('Applet'), source));
    this.imports = Object.freeze(parseImports(this.component('Import'), source));
  }

  /** Reads a .cap (zip) or .ijc file's bytes; `source` names it in messages. */
  static parse(bytes: Uint8Array, source = 'CAP file'): CapFile {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('cap: expected the file bytes as a Uint8Array');
    if (bytes.length === 0) throw new CapFileError('the file is empty', source);
    if (isZip(bytes)) return CapFile.#fromZip(bytes, source);
    if (bytes[0] === 0x01) return new CapFile(source, 'ijc', splitComponents(bytes, source), undefined);
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) throw new CapFileError('a zip archive that does not start with a file entry (damaged?)', source);
    throw new CapFileError(`neither a CAP archive (zip) nor an IJC load file (which starts with the Header tag 01); it starts with ${toHex(bytes.subarray(0, 4))}`, source);
  }

  static #fromZip(bytes: Uint8Array, source: string): CapFile {
    let entries;
    try {
      entries = readZip(bytes);
    } catch (e) {
      if (e instanceof ZipError) throw new CapFileError(`${e.message} (offset ${e.offset})`, source);
      throw e;
    }
    const headers = entries.filter((e) => /(^|\/)javacard\/Header\.cap$/.test(e.name));
    if (headers.length === 0) {
      const found = entries.filter((e) => e.name.endsWith('.cap')).map((e) => e.name);
      throw new CapFileError(`no Header component (…/javacard/Header.cap) in the archive${found.length ? ` (it has ${found.join(', ')})` : ''}: not a CAP file`, source);
    }
    if (headers.length > 1) throw new CapFileError(`the archive holds ${headers.length} packages (${headers.map((h) => h.name).join(', ')}); cardsmith loads one package per CAP file`, source);
    const dir = headers[0]!.name.slice(0, -'Header.cap'.length);
    const components: CapComponent[] = [];
    for (const e of entries) {
      if (!e.name.startsWith(dir) || e.name.slice(dir.length).includes('/')) continue;
      const name = basename(e.name, '.cap');
      const tag = TAG_BY_NAME[name];
      if (tag === undefined) continue; // other files (e.g. a Java Card 3 StaticResources) are not loaded
      const parsed = splitComponents(e.data, `${source}: ${e.name}`);
      if (parsed.length !== 1 || parsed[0]!.tag !== tag) {
        throw new CapFileError(`${e.name} should hold one ${name} component (tag ${tag.toString(16).padStart(2, '0')}), found ${parsed.map((c) => c.name).join(', ') || 'nothing'}`, source);
      }
      components.push(parsed[0]!);
    }
    const pathName = dir.replace(/\/javacard\/$/, '').replaceAll('/', '.');
    return new CapFile(source, 'cap', components, pathName || undefined);
  }

  component(name: string): CapComponent | undefined {
    return this.components.find((c) => c.name === name);
  }

  /** The components in load order, as LOAD sends them (without the C4 tag). */
  loadFileDataBlock(options: LoadFileOptions = {}): Uint8Array {
    const names = [...LOAD_ORDER, ...(options.includeDescriptor ? ['Descriptor'] : []), ...(options.includeDebug ? ['Debug'] : [])];
    for (const required of ['Header', 'Directory', 'Method']) {
      if (!this.component(required)) throw new CapFileError(`no ${required} component: the package cannot be loaded`, this.source);
    }
    return concat(...names.map((n) => this.component(n)?.bytes).filter((b): b is Uint8Array => b !== undefined));
  }

  /** Load File Data Block hash for INSTALL [for load] and DAP (GP 2.3.1 §C.2): SHA-1 or SHA-256. */
  loadFileDataBlockHash(alg: 'sha1' | 'sha256', options: LoadFileOptions = {}): Uint8Array {
    return hash(alg, this.loadFileDataBlock(options));
  }

  /** Bytes the card has to store for the code: the load file data block's size. */
  codeSize(options: LoadFileOptions = {}): number {
    return this.loadFileDataBlock(options).length;
  }
}

/** Walks tag ‖ size ‖ info records; any inconsistency names its offset. */
function splitComponents(bytes: Uint8Array, source: string): CapComponent[] {
  const out: CapComponent[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (i + 3 > bytes.length) throw new CapFileError(`component header at offset ${i} runs past the end (needs 3 bytes, ${bytes.length - i} left): truncated file`, source);
    const tag = bytes[i]!;
    const name = COMPONENT_NAMES[tag];
    if (name === undefined) throw new CapFileError(`unknown component tag ${toHex(Uint8Array.of(tag))} at offset ${i} (CAP components have tags 01 to 0C)`, source);
    const size = (bytes[i + 1]! << 8) | bytes[i + 2]!;
    if (i + 3 + size > bytes.length) {
      throw new CapFileError(`the ${name} component at offset ${i} says ${size} bytes but only ${bytes.length - i - 3} follow: truncated or corrupt`, source);
    }
    if (out.some((c) => c.tag === tag)) throw new CapFileError(`a second ${name} component at offset ${i}`, source);
    out.push({ tag, name, bytes: bytes.slice(i, i + 3 + size), size });
    i += 3 + size;
  }
  return out;
}

function parseApplets(c: CapComponent | undefined, source: string): CapApplet[] {
  if (!c) return [];
  const b = c.bytes;
  const out: CapApplet[] = [];
  const count = b[3] ?? 0;
  let i = 4;
  for (let k = 0; k < count; k++) {
    const n = b[i];
    if (n === undefined || n < 5 || n > 16 || i + 1 + n + 2 > b.length) throw new CapFileError(`the Applet component's entry ${k + 1} at offset ${i} is malformed`, source);
    out.push({ aid: b.slice(i + 1, i + 1 + n), installMethodOffset: (b[i + 1 + n]! << 8) | b[i + 2 + n]! });
    i += 3 + n;
  }
  return out;
}

function parseImports(c: CapComponent | undefined, source: string): PackageRef[] {
  if (!c) return [];
  const b = c.bytes;
  const out: PackageRef[] = [];
  const count = b[3] ?? 0;
  let i = 4;
  for (let k = 0; k < count; k++) {
    const n = b[i + 2];
    if (n === undefined || n < 5 || n > 16 || i + 3 + n > b.length) throw new CapFileError(`the Import component's entry ${k + 1} at offset ${i} is malformed`, source);
    const aid = b.slice(i + 3, i + 3 + n);
    const ref: PackageRef = { minor: b[i]!, major: b[i + 1]!, aid };
    const known = WELL_KNOWN_PACKAGES[toHex(aid)];
    if (known) ref.name = known;
    out.push(ref);
    i += 3 + n;
  }
  return out;
}
