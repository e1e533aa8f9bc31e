// The card image: everything persistent about one simulated card as JSON (format
// "cardsmith-card-image", version 1), so a card can be saved, loaded, diffed and handed to
// `cardsmith sim serve --state FILE`. Bytes are upper-case hex. The image holds the card's keys
// and PINs in clear, as the chip's EEPROM does: treat image files as secrets.
// Layout in docs/simulator.md "Card image".
import { fromHex, toHex } from '../../bytes/index.js';
import type { Cell, DfState, KeyAlg, KeyEntry, Lifecycle } from '../core/cells.js';
import type { JournalEntry, StoreSnapshot } from '../core/store.js';
import { CardImageError } from '../errors.js';
import { decodeAccess, encodeAccess, type AccessCondition } from '../fs/access.js';
import type { EfStructure, FileSpec } from '../fs/spec.js';

export const IMAGE_FORMAT = 'cardsmith-card-image';
export const IMAGE_VERSION = 1;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The JSON form (every value is plain JSON; bytes as hex strings). */
export interface CardImage {
  format: typeof IMAGE_FORMAT;
  version: typeof IMAGE_VERSION;
  kind: 'sscard';
  options: { t0: boolean };
  drbg: { seed: string; position: number };
  cells: { [id: string]: JsonValue };
  /** Present only when the image was taken after a power cut and before the power-on recovery. */
  journal?: { committed: boolean; entries: { id: string; value: JsonValue; torn?: boolean }[] };
}

export interface ImageContent {
  t0: boolean;
  seed: Uint8Array;
  position: number;
  snapshot: StoreSnapshot<Cell>;
}

// --- to JSON ---------------------------------------------------------------------------------

const hex = (b: Uint8Array) => toHex(b);

function acJson(ac: AccessCondition): string {
  return toHex(Uint8Array.of(encodeAccess(ac)));
}

function specJson(spec: FileSpec): JsonValue {
  if (spec.type === 'df') {
    const o: { [k: string]: JsonValue } = { type: 'df' };
    if (spec.fid !== undefined) o.fid = toHex(Uint8Array.of(spec.fid >> 8, spec.fid & 0xff));
    if (spec.name !== undefined) o.name = hex(spec.name);
    o.access = { create: acJson(spec.access.create), keyWrite: acJson(spec.access.keyWrite) };
    if (spec.fciProprietary !== undefined) o.fciProprietary = hex(spec.fciProprietary);
    return o;
  }
  const o: { [k: string]: JsonValue } = {
    type: 'ef',
    fid: toHex(Uint8Array.of(spec.fid >> 8, spec.fid & 0xff)),
    structure: spec.structure,
    tlv: spec.tlv,
    internal: spec.internal,
    size: spec.size,
    recordLength: spec.recordLength,
    maxRecords: spec.maxRecords,
    access: { read: acJson(spec.access.read), update: acJson(spec.access.update), append: acJson(spec.access.append) },
  };
  if (spec.sfi !== undefined) o.sfi = spec.sfi;
  return o;
}

export function cellToJson(cell: Cell): JsonValue {
  switch (cell.t) {
    case 'card':
      return { t: 'card', lifecycle: cell.lifecycle, nextNode: cell.nextNode, memoryUsed: cell.memoryUsed, memoryTotal: cell.memoryTotal, chipId: hex(cell.chipId) };
    case 'node':
      return { t: 'node', parent: cell.parent, spec: specJson(cell.spec) };
    case 'children':
      return { t: 'children', ids: [...cell.ids] };
    case 'binary':
      return { t: 'binary', data: hex(cell.data) };
    case 'recmeta':
      return { t: 'recmeta', count: cell.count, head: cell.head };
    case 'record':
      return { t: 'record', data: hex(cell.data) };
    case 'key': {
      const k = cell.key;
      return { t: 'key', key: { type: k.type, id: k.id, version: k.version, alg: k.alg, limit: k.limit, value: hex(k.value) } };
    }
    case 'tries':
      return { t: 'tries', left: cell.left };
    case 'dfstate':
      return { t: 'dfstate', state: cell.state };
    case 'torn':
      return { t: 'torn' };
  }
}

export function toImage(content: ImageContent): CardImage {
  const cells: { [id: string]: JsonValue } = {};
  for (const id of [...content.snapshot.cells.keys()].sort(compareIds)) cells[id] = cellToJson(content.snapshot.cells.get(id)!);
  const image: CardImage = {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    kind: 'sscard',
    options: { t0: content.t0 },
    drbg: { seed: hex(content.seed), position: content.position },
    cells,
  };
  const j = content.snapshot;
  if (j.journal.length > 0 || j.committed) {
    image.journal = {
      committed: j.committed,
      entries: j.journal.map((e) => {
        const entry: { id: string; value: JsonValue; torn?: boolean } = { id: e.id, value: e.value === null ? null : cellToJson(e.value) };
        if (e.torn) entry.torn = true;
        return entry;
      }),
    };
  }
  return image;
}

/** Cell ids in a stable, readable order: card first, then by kind and node number. */
function compareIds(a: string, b: string): number {
  const key = (id: string) => id.split('/').map((p) => (/^\d+$/.test(p) ? p.padStart(8, '0') : p)).join('/');
  if (a === 'card') return -1;
  if (b === 'card') return 1;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

// --- from JSON -------------------------------------------------------------------------------

class Reader {
  constructor(private readonly source: string) {}

  bad(path: string, what: string): never {
    throw new CardImageError(`card image ${this.source}: ${path}: ${what}; fix the field or start from a fresh card`, `${this.source}#${path}`);
  }

  obj(v: unknown, path: string): { [k: string]: unknown } {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(path, 'expected an object');
    return v as { [k: string]: unknown };
  }

  int(v: unknown, path: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.bad(path, `expected an integer ${min}..${max}`);
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.bad(path, 'expected true or false');
    return v;
  }

  bytes(v: unknown, path: string, min = 0, max = 0x10000): Uint8Array {
    if (typeof v !== 'string' || !/^([0-9A-Fa-f]{2})*$/.test(v)) this.bad(path, 'expected hex bytes');
    const b = fromHex(v);
    if (b.length < min || b.length > max) this.bad(path, `expected ${min}..${max} bytes`);
    return b;
  }

  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) this.bad(path, `expected one of ${options.join(', ')}`);
    return v as T;
  }

  ac(v: unknown, path: string): AccessCondition {
    const b = this.bytes(v, path, 1, 1);
    return decodeAccess(b[0]!) ?? this.bad(path, 'not an access condition byte (00, FF, 1x, 2x, 3x)');
  }

  fid(v: unknown, path: string): number {
    const b = this.bytes(v, path, 2, 2);
    return (b[0]! << 8) | b[1]!;
  }

  spec(v: unknown, path: string): FileSpec {
    const o = this.obj(v, path);
    const type = this.oneOf(o.type, `${path}.type`, ['df', 'ef'] as const);
    if (type === 'df') {
      const access = this.obj(o.access, `${path}.access`);
      return {
        type: 'df',
        fid: o.fid === undefined ? undefined : this.fid(o.fid, `${path}.fid`),
        name: o.name === undefined ? undefined : this.bytes(o.name, `${path}.name`, 1, 16),
        access: { create: this.ac(access.create, `${path}.access.create`), keyWrite: this.ac(access.keyWrite, `${path}.access.keyWrite`) },
        fciProprietary: o.fciProprietary === undefined ? undefined : this.bytes(o.fciProprietary, `${path}.fciProprietary`),
      };
    }
    const access = this.obj(o.access, `${path}.access`);
    return {
      type: 'ef',
      fid: this.fid(o.fid, `${path}.fid`),
      sfi: o.sfi === undefined ? undefined : this.int(o.sfi, `${path}.sfi`, 1, 30),
      structure: this.oneOf<EfStructure>(o.structure, `${path}.structure`, ['transparent', 'linear-fixed', 'linear-variable', 'cyclic']),
      tlv: this.bool(o.tlv, `${path}.tlv`),
      internal: this.bool(o.internal, `${path}.internal`),
      size: this.int(o.size, `${path}.size`, 0, 0x7fff),
      recordLength: this.int(o.recordLength, `${path}.recordLength`, 0, 255),
      maxRecords: this.int(o.maxRecords, `${path}.maxRecords`, 0, 254),
      access: {
        read: this.ac(access.read, `${path}.access.read`),
        update: this.ac(access.update, `${path}.access.update`),
        append: this.ac(access.append, `${path}.access.append`),
      },
    };
  }

  cell(v: unknown, path: string): Cell {
    const o = this.obj(v, path);
    const t = this.oneOf(o.t, `${path}.t`, ['card', 'node', 'children', 'binary', 'recmeta', 'record', 'key', 'tries', 'dfstate', 'torn'] as const);
    switch (t) {
      case 'card':
        return {
          t,
          lifecycle: this.oneOf<Lifecycle>(o.lifecycle, `${path}.lifecycle`, ['blank', 'personalized', 'blocked']),
          nextNode: this.int(o.nextNode, `${path}.nextNode`, 1, 0xffffff),
          memoryUsed: this.int(o.memoryUsed, `${path}.memoryUsed`, 0, 0x7fffffff),
          memoryTotal: this.int(o.memoryTotal, `${path}.memoryTotal`, 0, 0x7fffffff),
          chipId: this.bytes(o.chipId, `${path}.chipId`, 8, 8),
        };
      case 'node':
        return { t, parent: o.parent === null ? null : this.int(o.parent, `${path}.parent`, 0, 0xffffff), spec: this.spec(o.spec, `${path}.spec`) };
      case 'children': {
        if (!Array.isArray(o.ids)) this.bad(`${path}.ids`, 'expected an array of node numbers');
        return { t, ids: (o.ids as unknown[]).map((x, i) => this.int(x, `${path}.ids[${i}]`, 1, 0xffffff)) };
      }
      case 'binary':
      case 'record':
        return { t, data: this.bytes(o.data, `${path}.data`) };
      case 'recmeta':
        return { t, count: this.int(o.count, `${path}.count`, 0, 254), head: this.int(o.head, `${path}.head`, 0, 253) };
      case 'key': {
        const k = this.obj(o.key, `${path}.key`);
        const key: KeyEntry = {
          type: this.int(k.type, `${path}.key.type`, 0, 255),
          id: this.int(k.id, `${path}.key.id`, 0, 255),
          version: this.int(k.version, `${path}.key.version`, 0, 255),
          alg: this.oneOf<KeyAlg>(k.alg, `${path}.key.alg`, ['des3', 'sm4', 'pin']),
          limit: this.int(k.limit, `${path}.key.limit`, 1, 15),
          value: this.bytes(k.value, `${path}.key.value`, 1, 16),
        };
        return { t, key };
      }
      case 'tries':
        return { t, left: this.int(o.left, `${path}.left`, 0, 15) };
      case 'dfstate':
        return { t, state: this.oneOf<DfState>(o.state, `${path}.state`, ['active', 'blocked', 'terminated']) };
      case 'torn':
        return { t };
    }
  }
}

/** Checks and reads an image (parsed JSON). Throws CardImageError naming the bad field. */
export function fromImage(value: unknown, source = '(image)'): ImageContent {
  const r = new Reader(source);
  const o = r.obj(value, '$');
  if (o.format !== IMAGE_FORMAT) r.bad('$.format', `expected "${IMAGE_FORMAT}"`);
  if (o.version !== IMAGE_VERSION) r.bad('$.version', `this cardsmith reads image version ${IMAGE_VERSION}`);
  if (o.kind !== 'sscard') r.bad('$.kind', 'expected "sscard"');
  const options = r.obj(o.options, '$.options');
  const drbg = r.obj(o.drbg, '$.drbg');
  const cellsObj = r.obj(o.cells, '$.cells');
  const cells = new Map<string, Cell>();
  for (const [id, v] of Object.entries(cellsObj)) cells.set(id, r.cell(v, `$.cells["${id}"]`));
  const card = cells.get('card');
  if (!card || card.t !== 'card') r.bad('$.cells["card"]', 'missing the card cell');
  const mf = cells.get('node/0');
  if (!mf || mf.t !== 'node' || mf.spec.type !== 'df') r.bad('$.cells["node/0"]', 'missing the MF');
  const journal: JournalEntry<Cell>[] = [];
  let committed = false;
  if (o.journal !== undefined) {
    const j = r.obj(o.journal, '$.journal');
    committed = r.bool(j.committed, '$.journal.committed');
    if (!Array.isArray(j.entries)) r.bad('$.journal.entries', 'expected an array');
    (j.entries as unknown[]).forEach((e, i) => {
      const eo = r.obj(e, `$.journal.entries[${i}]`);
      if (typeof eo.id !== 'string') r.bad(`$.journal.entries[${i}].id`, 'expected a cell id');
      const entry: JournalEntry<Cell> = { id: eo.id as string, value: eo.value === null ? null : r.cell(eo.value, `$.journal.entries[${i}].value`) };
      if (eo.torn === true) entry.torn = true;
      journal.push(entry);
    });
  }
  return {
    t0: r.bool(options.t0, '$.options.t0'),
    seed: r.bytes(drbg.seed, '$.drbg.seed'),
    position: r.int(drbg.position, '$.drbg.position', 0, Number.MAX_SAFE_INTEGER),
    snapshot: { cells, journal, committed },
  };
}
