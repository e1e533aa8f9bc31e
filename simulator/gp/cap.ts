// What the card needs from a Load File (GP Card Specification 2.3.1 §11.6 LOAD, Load File
// structure: optional DAP blocks 'E2', then the Load File Data Block 'C4'; a Ciphered Load File
// Data Block 'D4' is not simulated) and from the Java Card CAP components inside it (Java Card
// Virtual Machine Specification 2.2.x / 3.0.x, chapter 6, compact format): each component is
// tag (1) ‖ size (2, big-endian) ‖ info. The Header component (tag 1) gives magic DECAFFED, the
// CAP format version, flags and package_info (minor, major, AID length, AID); the Applet component
// (tag 3) gives count and, per applet, AID length ‖ AID ‖ install_method_offset (2). The card keeps
// the package AID and version and the applet AIDs; it does not execute bytecode.
import { parseTlv } from '../../iso7816/index.js';
import { SW, fail, isAidLength } from './util.js';

export const CAP_MAGIC = 0xdecaffed;
export const COMPONENT_HEADER = 1;
export const COMPONENT_APPLET = 3;
/** Tags 1–13 are defined (13 = Static Resources, JC 3.1); 12 (Debug) is never loaded but tolerated. */
const LAST_COMPONENT_TAG = 13;

export interface LoadFileInfo {
  /** The Load File Data Block: value of C4, what the INSTALL [for load] hash is over. */
  dataBlock: Uint8Array;
  packageAid: Uint8Array;
  packageVersion: { major: number; minor: number };
  appletAids: Uint8Array[];
  components: number[];
}

/**
 * Parses a complete Load File (all LOAD blocks concatenated). Every defect ends in CardError(6A80),
 * which the LOAD handler answers to the last block.
 */
export function parseLoadFile(loadFile: Uint8Array): LoadFileInfo {
  let nodes;
  try {
    nodes = parseTlv(loadFile);
  } catch {
    fail(SW.WRONG_DATA, 'load file is not well-formed TLV');
  }
  let dataBlock: Uint8Array | undefined;
  for (const node of nodes) {
    if (node.tag === 0xe2) {
      // DAP blocks: accepted, not verified (no DAP Verification privilege is simulated).
      if (dataBlock) fail(SW.WRONG_DATA, 'DAP block after the load file data block');
      continue;
    }
    if (node.tag === 0xc4) {
      if (dataBlock) fail(SW.WRONG_DATA, 'two load file data blocks');
      dataBlock = node.value;
      continue;
    }
    fail(SW.WRONG_DATA, `unexpected tag ${node.tag.toString(16)} in load file`);
  }
  if (!dataBlock) fail(SW.WRONG_DATA, 'no load file data block (C4)');
  return { dataBlock, ...parseComponents(dataBlock) };
}

function parseComponents(block: Uint8Array): Omit<LoadFileInfo, 'dataBlock'> {
  const seen = new Set<number>();
  const components: number[] = [];
  let header: Pick<LoadFileInfo, 'packageAid' | 'packageVersion'> | undefined;
  let appletAids: Uint8Array[] = [];
  let i = 0;
  while (i < block.length) {
    if (block.length - i < 3) fail(SW.WRONG_DATA, 'truncated component header');
    const tag = block[i]!;
    const size = (block[i + 1]! << 8) | block[i + 2]!;
    const start = i + 3;
    if (start + size > block.length) fail(SW.WRONG_DATA, `component ${tag} runs past the load file`);
    if (tag < 1 || tag > LAST_COMPONENT_TAG) fail(SW.WRONG_DATA, `unknown component tag ${tag}`);
    if (seen.has(tag)) fail(SW.WRONG_DATA, `component ${tag} appears twice`);
    if (components.length === 0 && tag !== COMPONENT_HEADER) fail(SW.WRONG_DATA, 'the Header component must come first');
    seen.add(tag);
    components.push(tag);
    const info = block.subarray(start, start + size);
    if (tag === COMPONENT_HEADER) header = parseHeader(info);
    if (tag === COMPONENT_APPLET) appletAids = parseApplets(info);
    i = start + size;
  }
  if (!header) fail(SW.WRONG_DATA, 'no Header component');
  return { ...header, appletAids, components };
}

function parseHeader(info: Uint8Array): Pick<LoadFileInfo, 'packageAid' | 'packageVersion'> {
  if (info.length < 10) fail(SW.WRONG_DATA, 'Header component too short');
  const magic = ((info[0]! << 24) | (info[1]! << 16) | (info[2]! << 8) | info[3]!) >>> 0;
  if (magic !== CAP_MAGIC) fail(SW.WRONG_DATA, 'Header component magic is not DECAFFED');
  const flags = info[6]!;
  // JC 3.1 extended CAP format (ACC_EXTENDED = 0x08) lays out several packages differently.
  if ((flags & 0x08) !== 0) fail(SW.WRONG_DATA, 'extended CAP format is not supported');
  const minor = info[7]!;
  const major = info[8]!;
  const aidLength = info[9]!;
  if (!isAidLength(aidLength) || 10 + aidLength > info.length) fail(SW.WRONG_DATA, 'bad package AID in the Header component');
  return { packageAid: info.slice(10, 10 + aidLength), packageVersion: { major, minor } };
}

function parseApplets(info: Uint8Array): Uint8Array[] {
  if (info.length < 1) fail(SW.WRONG_DATA, 'Applet component too short');
  const count = info[0]!;
  const out: Uint8Array[] = [];
  let i = 1;
  for (let k = 0; k < count; k++) {
    if (i >= info.length) fail(SW.WRONG_DATA, 'Applet component truncated');
    const n = info[i]!;
    if (!isAidLength(n) || i + 1 + n + 2 > info.length) fail(SW.WRONG_DATA, 'bad applet AID in the Applet component');
    out.push(info.slice(i + 1, i + 1 + n));
    i += 1 + n + 2;
  }
  if (i !== info.length) fail(SW.WRONG_DATA, 'bytes after the applets in the Applet component');
  return out;
}
