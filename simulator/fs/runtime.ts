// Runtime state of the file system (ISO/IEC 7816-4 §5.3.2 "current file", §5.4.1 "security
// status"): what is selected and what has been proven since power-on. Volatile: it lives in RAM,
// starts fresh at every power-on and never enters the card image. Kept apart from the file
// model (fs/spec.ts, fs/tree.ts), as pySim keeps its runtime apart from its filesystem.
import { MF_NODE } from '../core/cells.js';
import type { FileTree } from './tree.js';

export class FsRuntime {
  currentDf = MF_NODE;
  currentEf: number | null = null;
  /** Current record number (1-based) in the current EF, for READ/UPDATE RECORD with P1 = 00. */
  currentRecord: number | null = null;
  /** Security status: entry name → the DF it was earned in. */
  private readonly granted = new Map<string, number>();

  /**
   * Makes `df` the current DF. The security status earned in DFs that are *strict ancestors*
   * of `df` survives; everything else is forgotten — also when the same DF is selected again
   * (cardsmith choice: re-selecting an application starts it afresh, the MF-level state stays).
   */
  selectDf(tree: FileTree, df: number): void {
    for (const [entry, node] of this.granted) if (!tree.isStrictAncestor(node, df)) this.granted.delete(entry);
    this.currentDf = df;
    this.currentEf = null;
    this.currentRecord = null;
  }

  /** Makes `ef` the current EF; its parent becomes the current DF if it was not already. */
  selectEf(tree: FileTree, ef: number): void {
    const parent = tree.parent(ef) ?? MF_NODE;
    if (parent !== this.currentDf) this.selectDf(tree, parent);
    if (this.currentEf !== ef) this.currentRecord = null;
    this.currentEf = ef;
  }

  grant(entry: string, df: number): void {
    this.granted.set(entry, df);
  }

  revoke(entry: string): void {
    this.granted.delete(entry);
  }

  has(entry: string): boolean {
    return this.granted.has(entry);
  }

  /** For tests and debugging: the entries held now (names only, never secrets). */
  entries(): string[] {
    return [...this.granted.keys()].sort();
  }
}

/** Security status entry names. */
export const Granted = Object.freeze({
  pin: (df: number, id: number) => `pin/${df}/${id}`,
  key: (df: number, id: number) => `key/${df}/${id}`,
});
