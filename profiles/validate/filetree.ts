// The sscard file tree (mf:): a first pass builds DFs and EFs and declares their keys and PINs
// (expressions anywhere may name them); a second pass resolves access conditions, directories
// and data, then checks FIDs, SFIs and AIDs for clashes, key ids per DF and card memory.
import { toHex, clip, equal } from '../../bytes/index.js';
import { buildTlv, encodeGbk } from '../../iso7816/index.js';
import { formatLoc } from '../errors.js';
import { entry, type LMap } from '../source.js';
import type { DfNode, DirectoryEntry, EfNode, EfStructure, FileNode } from '../types.js';
import { resolveAccess } from './access.js';
import { dfName, hex2, hex4, type Context, type KeyDecl } from './context.js';
import { completeEf } from './elements.js';
import { declareKey } from './keys.js';
import { declarePin } from './pins.js';

/** Bytes of card memory a file costs, as the social-security COS counts it (simulator/fs/spec.ts memoryCost). */
const DF_COST = 64;
const EF_OVERHEAD = 32;

const PPSE = new TextEncoder().encode('2PAY.SYS.DDF01');
const PSE = new TextEncoder().encode('1PAY.SYS.DDF01');

/** First pass over a DF: builds nodes and declares keys and PINs (names must exist before expressions). */
export function declareDf(ctx: Context, node: LMap, name: string, path: string, parent: DfNode | undefined): DfNode {
  const isMf = parent === undefined;
  const fid = ctx.hexNum(node, 'fid') ?? (isMf ? 0x3f00 : undefined);
  let aid = ctx.hex(node, 'aid');
  const aidText = ctx.str(node, 'aidText');
  if (aidText !== undefined) {
    if (aid) ctx.error(ctx.keyLocOf(node, 'aidText'), 'aid-twice', `DF ${name} gives both aid and aidText`, 'keep one');
    try {
      aid = encodeGbk(aidText);
      if (aid.length > 16) {
        ctx.error(ctx.locOf(node, 'aidText'), 'aid-length', `DF name '${clip(aidText)}' is ${aid.length} bytes in GBK; a DF name holds at most 16`);
        aid = undefined;
      }
    } catch (e) {
      ctx.error(ctx.locOf(node, 'aidText'), 'aid-text', `DF name: ${(e as Error).message}`);
    }
  }
  const df: DfNode = {
    kind: 'df',
    name,
    path,
    fid,
    aid,
    access: { create: { kind: 'never' }, keyWrite: { kind: 'never' } },
    keys: [],
    pins: [],
    children: [],
    loc: node.keyLoc ?? node.loc,
  };
  ctx.filesByPath.set(path, df);
  if (isMf && fid !== 0x3f00) ctx.error(ctx.locOf(node, 'fid'), 'mf-fid', `the MF's FID is 3F00, not ${hex4(fid ?? 0)}`, 'leave fid out of mf:');
  if (!isMf && fid === undefined && aid === undefined) {
    ctx.error(df.loc, 'df-identity', `DF ${name} has neither fid nor aid`, 'a DF is selected by FID or by name (aid); give at least one');
  }
  if (!isMf && fid !== undefined && [0x3f00, 0x3fff, 0xffff].includes(fid)) {
    ctx.error(ctx.locOf(node, 'fid'), 'reserved-fid', `FID ${hex4(fid)} is reserved (ISO/IEC 7816-4: 3F00 is the MF, 3FFF and FFFF are reserved)`);
  }
  for (const e of ctx.entries(ctx.get(node, 'keys'))) declareKey(ctx, e.key, e.value, e.keyLoc, path === '' ? 'MF' : path, df);
  for (const e of ctx.entries(ctx.get(node, 'pins'))) declarePin(ctx, e.key, e.value, e.keyLoc, df);
  for (const e of ctx.entries(ctx.get(node, 'files'))) {
    const m = ctx.map(e.value);
    if (!m) continue;
    const childPath = path === '' ? e.key : `${path}/${e.key}`;
    const isEf = ctx.str(m, 'type') === 'ef' || ['structure', 'sfi', 'size', 'recordLength', 'records', 'tlv', 'internal', 'data'].some((k) => entry(m, k));
    if (isEf) df.children.push(declareEf(ctx, m, e.key, childPath));
    else df.children.push(declareDf(ctx, m, e.key, childPath, df));
  }
  ctx.srcOf.set(df, node);
  return df;
}

function declareEf(ctx: Context, node: LMap, name: string, path: string): EfNode {
  const structure = (ctx.str(node, 'structure') ?? 'transparent') as EfStructure;
  const ef: EfNode = {
    kind: 'ef',
    name,
    path,
    fid: ctx.hexNum(node, 'fid') ?? 0,
    sfi: ctx.num(node, 'sfi'),
    structure,
    tlv: ctx.bool(node, 'tlv') ?? false,
    internal: ctx.bool(node, 'internal') ?? false,
    size: ctx.num(node, 'size') ?? 0,
    recordLength: ctx.num(node, 'recordLength') ?? 0,
    maxRecords: ctx.num(node, 'records') ?? 0,
    access: { read: { kind: 'never' }, update: { kind: 'never' }, append: { kind: 'never' } },
    elements: [],
    loc: node.keyLoc ?? node.loc,
  };
  ctx.filesByPath.set(path, ef);
  ctx.srcOf.set(ef, node);
  const loc = ef.loc;
  if ([0x3f00, 0x3fff, 0xffff].includes(ef.fid)) {
    ctx.error(ctx.locOf(node, 'fid'), 'reserved-fid', `FID ${hex4(ef.fid)} is reserved (ISO/IEC 7816-4: 3F00 is the MF, 3FFF and FFFF are reserved)`, 'choose another FID');
  }
  if (structure === 'transparent') {
    if (entry(node, 'size') === undefined) ctx.error(loc, 'ef-size', `transparent EF ${name} needs size`, 'size: bytes of the file');
    for (const k of ['recordLength', 'records', 'tlv']) {
      if (entry(node, k)) ctx.error(ctx.keyLocOf(node, k), 'ef-shape', `'${clip(k)}' is for record files; EF ${name} is transparent`);
    }
  } else {
    for (const k of ['recordLength', 'records']) {
      if (entry(node, k) === undefined) ctx.error(loc, 'ef-size', `record EF ${name} needs ${k}`, k === 'records' ? 'records: how many records the file holds' : 'recordLength: bytes of one record (the maximum for linear-variable)');
    }
    if (entry(node, 'size')) ctx.error(ctx.keyLocOf(node, 'size'), 'ef-shape', `'size' is for transparent files; EF ${name} is ${structure} (give recordLength and records)`);
    if (ef.internal) ctx.error(ctx.keyLocOf(node, 'internal'), 'ef-shape', `only transparent EFs can be internal (EF ${name} is ${structure})`);
    if (ef.tlv && ef.recordLength === 1) ctx.error(ctx.locOf(node, 'recordLength'), 'ef-shape', 'a SIMPLE-TLV record needs at least 2 bytes (tag and length)');
  }
  return ef;
}

/** Second pass: access conditions, directory, data elements; recursively. */
export function completeDf(ctx: Context, df: DfNode): void {
  const node = ctx.srcOf.get(df)!;
  const access = ctx.map(ctx.get(node, 'access'));
  const isMf = df.path === '';
  if (isMf && !access) {
    // The MF exists on the blank card; its conditions are the chip's: key 00 of the MF.
    const mk = [...ctx.keyDecls.values()].find((k) => k.df === df && k.role === 'master' && k.id === 0);
    if (mk) df.access = { create: { kind: 'key', key: mk.name, id: 0 }, keyWrite: { kind: 'key', key: mk.name, id: 0 } };
  } else {
    df.access = { create: resolveAccess(ctx, access, 'create', df), keyWrite: resolveAccess(ctx, access, 'keyWrite', df) };
  }
  readDirectory(ctx, df, node);
  checkSiblings(ctx, df);
  for (const c of df.children) {
    if (c.kind === 'df') completeDf(ctx, c);
    else completeEf(ctx, c, df);
  }
}

function checkSiblings(ctx: Context, df: DfNode): void {
  const fids = new Map<number, FileNode>();
  const sfis = new Map<number, EfNode>();
  for (const c of df.children) {
    const src = ctx.srcOf.get(c);
    if (c.fid !== undefined && c.fid !== 0) {
      const other = fids.get(c.fid);
      if (other) {
        ctx.error(ctx.locOf(src, 'fid'), 'duplicate-fid', `FID ${hex4(c.fid)} is used twice in ${dfName(df)}: by ${other.name} and ${c.name}`, `FIDs must be unique within a DF; ${other.name} is at ${formatLoc(other.loc)}`);
      } else fids.set(c.fid, c);
    }
    if (c.kind === 'ef' && c.sfi !== undefined) {
      const other = sfis.get(c.sfi);
      if (other) {
        ctx.error(ctx.locOf(src, 'sfi'), 'duplicate-sfi', `SFI ${c.sfi} is used twice in ${dfName(df)}: by ${other.name} and ${c.name}`, `SFIs must be unique within a DF; ${other.name} is at ${formatLoc(other.loc)}`);
      } else sfis.set(c.sfi, c);
    }
  }
  // DF names (AIDs) are unique on the whole card (SELECT by name must find one DF).
  if (df.path === '') {
    const seen = new Map<string, DfNode>();
    const walk = (d: DfNode): void => {
      if (d.aid) {
        const k = toHex(d.aid);
        const other = seen.get(k);
        const src = ctx.srcOf.get(d);
        if (other) {
          ctx.error(ctx.locOf(src, entry(src, 'aid') ? 'aid' : 'aidText'), 'duplicate-aid', `DF name ${k} is used by ${dfName(other)} and ${dfName(d)}`, 'DF names (AIDs) must be unique on the card');
        } else seen.set(k, d);
      }
      for (const c of d.children) if (c.kind === 'df') walk(c);
    };
    walk(df);
  }
}

function readDirectory(ctx: Context, df: DfNode, node: LMap): void {
  const dir = ctx.get(node, 'directory');
  if (dir?.kind !== 'seq') return;
  const entries: DirectoryEntry[] = [];
  for (const item of dir.items) {
    const aid = ctx.hex(item, 'aid');
    if (!aid) continue;
    const label = ctx.str(item, 'label');
    if (label !== undefined && !/^[\x20-\x7e]*$/.test(label)) ctx.error(ctx.locOf(item, 'label'), 'label-charset', 'an application label (tag 50) is ASCII text');
    entries.push({ aid, label, priority: ctx.num(item, 'priority'), loc: item.loc });
  }
  df.directory = entries;
  const isDir = df.aid && (equal(df.aid, PPSE) || equal(df.aid, PSE));
  if (!isDir) {
    ctx.warn(ctx.keyLocOf(node, 'directory'), 'directory-name', `DF ${df.name} has a directory but is not named 1PAY.SYS.DDF01 (PSE) or 2PAY.SYS.DDF01 (PPSE)`, 'terminals look for the directory under those names');
  }
  if (df.aid && equal(df.aid, PPSE) && !ctx.interfaces.includes('contactless')) {
    ctx.error(ctx.keyLocOf(node, 'directory'), 'ppse-contact-only', 'a PPSE lists applications for the contactless interface, and this card has none', 'add contactless to card.interfaces, or remove the PPSE');
  }
  const apps = entries.map((e) => {
    const parts = [buildTlv(0x4f, e.aid)];
    if (e.label !== undefined) parts.push(buildTlv(0x50, new TextEncoder().encode(e.label)));
    if (e.priority !== undefined) parts.push(buildTlv(0x87, Uint8Array.of(e.priority)));
    return buildTlv(0x61, parts);
  });
  df.fciProprietary = buildTlv(0xbf0c, apps);
}

export function checkMemory(ctx: Context, mf: DfNode, card: LMap | undefined): void {
  const memory = ctx.num(card, 'memory');
  let used = 0;
  const walk = (n: FileNode): void => {
    if (n.kind === 'df') {
      used += DF_COST;
      n.children.forEach(walk);
    } else used += (n.structure === 'transparent' ? n.size : n.recordLength * n.maxRecords) + EF_OVERHEAD;
  };
  walk(mf);
  if (memory !== undefined && used > memory) {
    ctx.error(ctx.locOf(card, 'memory'), 'memory', `the file tree needs ${used} bytes of card memory, the card has ${memory}`, 'make files smaller or choose a card with more memory');
  }
}

/** Keys in each DF's key file: ids unique per type; the spec list in profile order. */
export function checkKeyFiles(ctx: Context, mf: DfNode): void {
  const walk = (df: DfNode): void => {
    df.keys = [...ctx.keyDecls.values()].filter((k) => k.df === df && k.spec).map((k) => k.spec!);
    const seen = new Map<string, KeyDecl>();
    for (const k of ctx.keyDecls.values()) {
      if (k.df !== df || k.role === undefined || k.id === undefined) continue;
      const id = `${k.role}/${k.id}`;
      const other = seen.get(id);
      if (other) ctx.error(ctx.locOf(k.node, 'id'), 'duplicate-key-id', `${dfName(df)} has two ${k.role} keys with id ${hex2(k.id)}: ${other.name} and ${k.name}`, 'a key is found by type and id; give one another id');
      else seen.set(id, k);
    }
    df.pins = [];
    for (const c of df.children) if (c.kind === 'df') walk(c);
  };
  walk(mf);
}
