// prep's output folder: never written over, never half-written. prep refuses an --out that holds a
// batch (its scripts are the only record of what issued cards carry), builds the new one in a
// hidden sibling folder and renames it to --out at the end, so a failed or killed prep leaves
// nothing that looks like a batch (at most a `.NAME.prep-…` folder beside it, safe to delete).
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JOURNAL_FILE } from '../journal/journal.js';
import { BLOBS_FILE, CARD_DIGESTS_FILE, CARDS_FILE, MANIFEST_FILE, REJECTS_FILE } from '../sealed.js';
import { PrepError } from './errors.js';

/** Files whose presence means a folder holds a batch (prepared, or run). */
const BATCH_FILES = [MANIFEST_FILE, CARDS_FILE, CARD_DIGESTS_FILE, BLOBS_FILE, JOURNAL_FILE, 'audit.log'];

function refuseBatch(target: string): void {
  const found = BATCH_FILES.filter((f) => existsSync(join(target, f)));
  if (found.length > 0) {
    throw new PrepError(`prep: ${target} already holds a batch (${found.join(', ')}): prep never writes over one — its card scripts are the record of what the issued cards carry; give a new --out folder`);
  }
}

export class OutputFolder {
  private constructor(
    /** The --out folder, as resolved. */
    readonly target: string,
    /** Where prep writes: a new sibling of `target`. */
    readonly dir: string,
  ) {}

  /** Refuses a `target` that holds a batch (or is not a folder) and makes the staging folder. */
  static async open(target: string): Promise<OutputFolder> {
    if (existsSync(target) && !statSync(target).isDirectory()) throw new PrepError(`prep: --out ${target} is not a folder`);
    refuseBatch(target);
    const parent = dirname(target);
    await mkdir(parent, { recursive: true });
    const dir = join(parent, `.${basename(target)}.prep-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return new OutputFolder(target, dir);
  }

  /**
   * Moves what prep wrote into `target`: the whole folder when `target` is missing or empty, else
   * entry by entry with manifest.json last (a batch is not a batch without it). `only`: move just
   * these entries (an invalid batch's rejects.csv). A rejects.csv left in `target` by an earlier
   * failed prep is replaced or removed: it described input that is not this batch.
   */
  async publish(only?: readonly string[]): Promise<void> {
    refuseBatch(this.target); // again: another prep may have finished meanwhile
    await rm(join(this.target, REJECTS_FILE), { force: true });
    const entries = (only ?? readdirSync(this.dir)).filter((e) => existsSync(join(this.dir, e)));
    const st = existsSync(this.target) ? lstatSync(this.target) : undefined;
    if (!only && (!st || (st.isDirectory() && readdirSync(this.target).length === 0))) {
      if (st) await rmdir(this.target);
      await rename(this.dir, this.target);
      return;
    }
    await mkdir(this.target, { recursive: true });
    const ordered = [...entries.filter((e) => e !== MANIFEST_FILE), ...entries.filter((e) => e === MANIFEST_FILE)];
    for (const e of ordered) {
      if (existsSync(join(this.target, e))) throw new PrepError(`prep: ${join(this.target, e)} appeared while prep ran; prep does not write over it`, 'operation');
      await rename(join(this.dir, e), join(this.target, e));
    }
  }

  /** Removes the staging folder (a no-op once it was renamed to the target). */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
