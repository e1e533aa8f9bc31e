// A small CAP *writer* for synthetic packages (Java Card Virtual Machine Specification 2.1/2.2,
// chapter 6), because no Java Card SDK can be installed here. It produces structurally valid CAP
// files: a JAR (zip) with `<package>/javacard/<Component>.cap` entries, component tags 1..11, size
// fields that match, a Header with magic DECAFFED, package AID and version, a Directory listing the
// component sizes, an Import component, and an Applet component naming the applet AIDs. The code
// inside is a stub (each applet's install method is `return`): enough for loaders, registries and
// simulated cards, not for a real Java Card VM.
import { concat, uintBE } from '../bytes/index.js';
import { checkAid, lv } from './aid.js';
import { writeZip } from './zip.js';

export interface SyntheticPackage {
  packageAid: Uint8Array;
  /** Default 1.0. */
  packageVersion?: { major: number; minor: number };
  /** Slash or dot form, e.g. `com.example.hello`; default `cardsmith.synthetic`. */
  packageName?: string;
  applets?: { aid: Uint8Array }[];
  /** Default: javacard.framework 1.0. */
  imports?: { aid: Uint8Array; major: number; minor: number }[];
  /** Extra bytecode in the Method component, to make load files of a given size (default 0). */
  methodPadding?: number;
  /** CAP format version; default 2.1 (the Header carries no package name), 2.2 adds the name and Debug size. */
  capVersion?: { major: 2; minor: 1 | 2 };
  /** Put a Descriptor component in the archive (default true, as converters do). */
  descriptor?: boolean;
  /** Deflate the archive entries (default true, as `jar` does). */
  deflate?: boolean;
}

const JAVACARD_FRAMEWORK = Uint8Array.of(0xa0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01);

function component(tag: number, info: Uint8Array): Uint8Array {
  if (info.length > 0xffff) throw new RangeError(`cap-writer: component ${tag} would be ${info.length} bytes; a component holds at most 65535`);
  return concat(Uint8Array.of(tag), uintBE(info.length, 2), info);
}

/** The components, keyed by name, each as tag ‖ size ‖ info. */
export function buildComponents(pkg: SyntheticPackage): Map<string, Uint8Array> {
  checkAid(pkg.packageAid, 'cap-writer: package AID');
  const applets = pkg.applets ?? [];
  for (const a of applets) checkAid(a.aid, 'cap-writer: applet AID');
  const version = pkg.packageVersion ?? { major: 1, minor: 0 };
  const cap = pkg.capVersion ?? { major: 2, minor: 1 };
  const name = (pkg.packageName ?? 'cardsmith.synthetic').replaceAll('.', '/');
  const imports = pkg.imports ?? [{ aid: JAVACARD_FRAMEWORK, major: 1, minor: 0 }];
  const padding = pkg.methodPadding ?? 0;
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`cap-writer: methodPadding must be a non-negative integer, got ${String(padding)}`);

  const flags = applets.length > 0 ? 0x04 : 0x00;
  const nameInfo = cap.minor >= 2 ? lv(new TextEncoder().encode(name)) : new Uint8Array(0);
  const header = component(0x01, concat(Uint8Array.of(0xde, 0xca, 0xff, 0xed, cap.minor, cap.major, flags, version.minor, version.major), lv(pkg.packageAid), nameInfo));

  // Method component: no exception handlers; one method per applet (header 01 30: max_stack 1,
  // nargs 3 = install(byte[], short, byte)), body `return`; then padding as a method of NOPs.
  const methods: Uint8Array[] = [Uint8Array.of(0x00)];
  const installOffsets: number[] = [];
  let offset = 1;
  for (let k = 0; k < applets.length; k++) {
    installOffsets.push(offset);
    methods.push(Uint8Array.of(0x01, 0x30, 0x7a));
    offset += 3;
  }
  if (padding > 0) methods.push(concat(Uint8Array.of(0x01, 0x00), new Uint8Array(padding), Uint8Array.of(0x7a)));
  const method = component(0x07, concat(...methods));

  const applet =
    applets.length > 0 ? component(0x03, concat(Uint8Array.of(applets.length), ...applets.map((a, k) => concat(lv(a.aid), uintBE(installOffsets[k]!, 2))))) : undefined;
  const imp = component(0x04, concat(Uint8Array.of(imports.length), ...imports.map((i) => concat(Uint8Array.of(i.minor, i.major), lv(i.aid)))));
  const constantPool = component(0x05, uintBE(0, 2));
  // One class per applet, extending javacard.framework.Applet (external class ref: package token 0, class token 3).
  const classInfo = Uint8Array.of(0x00, 0x80, 0x03, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00);
  const klass = component(0x06, concat(...applets.map(() => classInfo)));
  const staticField = component(0x08, new Uint8Array(10));
  const refLocation = component(0x09, new Uint8Array(4));
  const descriptor = component(0x0b, Uint8Array.of(0x00, 0x00, 0x00));

  const sizeOf = (c: Uint8Array | undefined) => (c ? c.length - 3 : 0);
  const count = cap.minor >= 2 ? 12 : 11;
  const directoryInfoLength = count * 2 + 6 + 3;
  const sizes = [
    sizeOf(header),
    directoryInfoLength,
    sizeOf(applet),
    sizeOf(imp),
    sizeOf(constantPool),
    sizeOf(klass),
    sizeOf(method),
    sizeOf(staticField),
    sizeOf(refLocation),
    0, // Export
    pkg.descriptor === false ? 0 : sizeOf(descriptor),
    0, // Debug (CAP 2.2+)
  ].slice(0, count);
  const directory = component(0x02, concat(...sizes.map((s) => uintBE(s, 2)), new Uint8Array(6), Uint8Array.of(imports.length, applets.length, 0)));

  const out = new Map<string, Uint8Array>([
    ['Header', header],
    ['Directory', directory],
    ['Import', imp],
  ]);
  if (applet) out.set('Applet', applet);
  out.set('Class', klass);
  out.set('Method', method);
  out.set('StaticField', staticField);
  out.set('ConstantPool', constantPool);
  out.set('RefLocation', refLocation);
  if (pkg.descriptor !== false) out.set('Descriptor', descriptor);
  return out;
}

/** A CAP archive (zip) for the package. */
export function writeCap(pkg: SyntheticPackage): Uint8Array {
  const dir = `${(pkg.packageName ?? 'cardsmith.synthetic').replaceAll('.', '/')}/javacard/`;
  const components = buildComponents(pkg);
  const entries: { name: string; data: Uint8Array }[] = [{ name: 'META-INF/MANIFEST.MF', data: new TextEncoder().encode('Manifest-Version: 1.0\r\nCreated-By: cardsmith cap-writer\r\n\r\n') }];
  for (const [name, bytes] of components) entries.push({ name: `${dir}${name}.cap`, data: bytes });
  return writeZip(entries, { deflate: pkg.deflate ?? true });
}

/** The same package as an IJC file: the components concatenated in load order (Descriptor last). */
export function writeIjc(pkg: SyntheticPackage): Uint8Array {
  const c = buildComponents(pkg);
  const order = ['Header', 'Directory', 'Import', 'Applet', 'Class', 'Method', 'StaticField', 'Export', 'ConstantPool', 'RefLocation', 'Descriptor'];
  return concat(...order.map((n) => c.get(n)).filter((b): b is Uint8Array => b !== undefined));
}

/** Builds a CAP archive from existing component bytes (e.g. recovered from a published LOAD). */
export function capFromComponents(packagePath: string, components: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>): Uint8Array {
  const map = components instanceof Map ? components : new Map(Object.entries(components));
  const dir = `${packagePath.replaceAll('.', '/')}/javacard/`;
  return writeZip([...map].map(([name, data]) => ({ name: `${dir}${name}.cap`, data })), { deflate: true });
}
