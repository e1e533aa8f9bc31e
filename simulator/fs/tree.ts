// ISO/IEC 7816-4 §5.3 file tree over the card's persistent cells: navigation (children, FID,
// SFI, DF name, ancestors) and file content (transparent bytes, records). Writes go through a
// transaction writer, so each command decides what is atomic. Records are stored one cell per
// slot plus a meta cell (count, head), so APPEND RECORD is a genuine two-write update.
import { startsWith } from './bytes.js';
import { CellId, MF_NODE, expectCell, type Cell, type DfState } from '../core/cells.js';
import type { Store, TransactionWriter } from '../core/store.js';
import { memoryCost, type DfSpec, type EfSpec, type FileSpec } from './spec.js';

type Reader = Pick<Store<Cell>, 'get'>;

export class FileTree {
  constructor(private readonly store: Reader) {}

  spec(n: number): FileSpec {
    return expectCell(this.store.get(CellId.node(n)), 'node', CellId.node(n)).spec;
  }

  df(n: number): DfSpec {
    const s = this.spec(n);
    if (s.type !== 'df') throw new Error(`simulator: node ${n} is not a DF`);
    return s;
  }

  ef(n: number): EfSpec {
    const s = this.spec(n);
    if (s.type !== 'ef') throw new Error(`simulator: node ${n} is not an EF`);
    return s;
  }

  parent(n: number): number | null {
    return expectCell(this.store.get(CellId.node(n)), 'node', CellId.node(n)).parent;
  }

  children(df: number): readonly number[] {
    const c = this.store.get(CellId.children(df));
    return c === undefined ? [] : expectCell(c, 'children', CellId.children(df)).ids;
  }

  /** The DF itself, its parent, … up to the MF. */
  chain(n: number): number[] {
    const out: number[] = [];
    for (let cur: number | null = n; cur !== null; cur = this.parent(cur)) out.push(cur);
    return out;
  }

  isStrictAncestor(a: number, of: number): boolean {
    if (a === of) return false;
    for (let cur: number | null = of; cur !== null; cur = this.parent(cur)) if (cur === a) return true;
    return false;
  }

  // Plain loops: SELECT and every command by SFI look children up, and a callback would be made per call.
  childByFid(df: number, fid: number): number | undefined {
    for (const c of this.children(df)) if (this.spec(c).fid === fid) return c;
    return undefined;
  }

  efBySfi(df: number, sfi: number): number | undefined {
    for (const c of this.children(df)) {
      const s = this.spec(c);
      if (s.type === 'ef' && s.sfi === sfi) return c;
    }
    return undefined;
  }

  /** Every node in tree order (pre-order, children in creation order). */
  preorder(from: number = MF_NODE): number[] {
    const out: number[] = [];
    const visit = (n: number) => {
      out.push(n);
      if (this.spec(n).type === 'df') for (const c of this.children(n)) visit(c);
    };
    visit(from);
    return out;
  }

  dfNames(): Uint8Array[] {
    const names: Uint8Array[] = [];
    for (const n of this.preorder()) {
      const s = this.spec(n);
      if (s.type === 'df' && s.name) names.push(s.name);
    }
    return names;
  }

  /** DFs whose name starts with `prefix` (ISO 7816-4 selection by right-truncated DF name), in tree order. */
  dfsByName(prefix: Uint8Array): number[] {
    return this.preorder().filter((n) => {
      const s = this.spec(n);
      return s.type === 'df' && s.name !== undefined && startsWith(s.name, prefix);
    });
  }

  dfState(df: number): DfState {
    const c = this.store.get(CellId.dfstate(df));
    return c === undefined ? 'active' : expectCell(c, 'dfstate', CellId.dfstate(df)).state;
  }

  /** The worst state among the DF and its ancestors: a blocked parent blocks its children. */
  effectiveState(n: number): DfState {
    let worst: DfState = 'active';
    // Walks up without building the chain: this runs for every command.
    for (let d: number | null = n; d !== null; d = this.parent(d)) {
      if (this.spec(d).type !== 'df') continue;
      const s = this.dfState(d);
      if (s === 'terminated') return s;
      if (s === 'blocked') worst = s;
    }
    return worst;
  }

  /** Memory used by a file and, for a DF, everything under it (FCP tag 81). */
  subtreeCost(n: number): number {
    const s = this.spec(n);
    let total = memoryCost(s);
    if (s.type === 'df') for (const c of this.children(n)) total += this.subtreeCost(c);
    return total;
  }

  // --- content -------------------------------------------------------------------------------

  binary(n: number): Uint8Array {
    return expectCell(this.store.get(CellId.binary(n)), 'binary', CellId.binary(n)).data;
  }

  recordCount(n: number): number {
    return this.meta(n).count;
  }

  /** Record `k` (1-based). Linear files: in order of creation. Cyclic: 1 is the most recent. */
  record(n: number, k: number): Uint8Array {
    const id = CellId.record(n, this.slotOf(n, k));
    return expectCell(this.store.get(id), 'record', id).data;
  }

  /** Record numbers (1-based) whose first byte is `tag`, in record order (SIMPLE-TLV files). */
  recordsWithTag(n: number, tag: number): number[] {
    const out: number[] = [];
    const count = this.recordCount(n);
    for (let k = 1; k <= count; k++) if (this.record(n, k)[0] === tag) out.push(k);
    return out;
  }

  private meta(n: number): { count: number; head: number } {
    return expectCell(this.store.get(CellId.recmeta(n)), 'recmeta', CellId.recmeta(n));
  }

  private slotOf(n: number, k: number): number {
    const spec = this.ef(n);
    const { head } = this.meta(n);
    if (spec.structure === 'cyclic') return (head - (k - 1) + spec.maxRecords * 2) % spec.maxRecords;
    return k - 1;
  }

  // --- writes (each call is one or more persistent writes in the caller's transaction) -------

  writeBinary(tx: TransactionWriter<Cell>, n: number, data: Uint8Array): void {
    tx.put(CellId.binary(n), { t: 'binary', data });
  }

  updateRecord(tx: TransactionWriter<Cell>, n: number, k: number, data: Uint8Array): void {
    tx.put(CellId.record(n, this.slotOf(n, k)), { t: 'record', data });
  }

  /** Linear files: a new last record. Cyclic: a new record 1, the oldest dropped when full. */
  appendRecord(tx: TransactionWriter<Cell>, n: number, data: Uint8Array): void {
    const spec = this.ef(n);
    const { count, head } = this.meta(n);
    if (spec.structure === 'cyclic') {
      const slot = count === 0 ? 0 : (head + 1) % spec.maxRecords;
      tx.put(CellId.record(n, slot), { t: 'record', data });
      tx.put(CellId.recmeta(n), { t: 'recmeta', count: Math.min(count + 1, spec.maxRecords), head: slot });
      return;
    }
    tx.put(CellId.record(n, count), { t: 'record', data });
    tx.put(CellId.recmeta(n), { t: 'recmeta', count: count + 1, head: 0 });
  }

  /**
   * Adds `spec` under DF `parent` as node `node`: node cell, initial content, the parent's
   * child list — three writes, plus whatever the caller adds (the card cell's bookkeeping).
   */
  create(tx: TransactionWriter<Cell>, parent: number, node: number, spec: FileSpec): void {
    tx.put(CellId.node(node), { t: 'node', parent, spec });
    if (spec.type === 'df') {
      tx.put(CellId.children(node), { t: 'children', ids: [] });
    } else if (spec.structure === 'transparent') {
      // New transparent content is all 00 (cardsmith choice; documented).
      tx.put(CellId.binary(node), { t: 'binary', data: new Uint8Array(spec.size) });
    } else {
      tx.put(CellId.recmeta(node), { t: 'recmeta', count: 0, head: 0 });
    }
    tx.put(CellId.children(parent), { t: 'children', ids: [...this.children(parent), node] });
  }
}
