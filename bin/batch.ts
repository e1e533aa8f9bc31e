// What the commands that read a batch folder share (run, verify, report, script): the folder is
// checked against its sealed manifest first (exit 2 naming the file and line that differ), and the
// journal read must be this batch's own. Without a key store the manifest's MAC cannot be checked:
// the digests still are, and a note on stderr says what was not.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyProvider } from '../keys/types.js';
import { Journal, JOURNAL_FILE, JournalError } from '../personalization/journal/index.js';
import { AUDIT_LOG, BatchInputError, loadBatch, type Batch } from '../personalization/runner/run.js';
import { checkManifestMac } from '../personalization/sealed.js';
import type { Ctx } from './context.js';
import { prefixed, UsageError } from './errors.js';

/** loadBatch, and the manifest's MAC when a key store is given (else a note that it was not checked). */
export async function checkedBatch(ctx: Ctx, cmd: string, dir: string, provider: KeyProvider | undefined): Promise<Batch> {
  try {
    const batch = loadBatch(dir);
    if (provider) await checkManifestMac(dir, batch.manifest, provider);
    else macNotChecked(ctx, cmd, dir);
    return batch;
  } catch (e) {
    if (e instanceof BatchInputError) throw prefixed(e, cmd);
    throw e;
  }
}

export function macNotChecked(ctx: Ctx, cmd: string, dir: string): void {
  ctx.io.err(`${cmd}: note: ${dir}/manifest.json's MAC was not checked (no --keystore): the files match the manifest's digests, but only the key store proves the manifest itself is prep's`);
}

/**
 * Opens the journal of a checked batch for reading: refuses a missing journal (saying so when the
 * batch has run: its audit.log is there), an empty (0-byte) one and another batch's (Journal.open).
 */
export function openBatchJournal(cmd: string, batch: Batch): Journal {
  const path = join(batch.dir, JOURNAL_FILE);
  if (!existsSync(path)) {
    if (existsSync(join(batch.dir, AUDIT_LOG))) {
      throw new UsageError(`${cmd}: ${path} is missing, but ${AUDIT_LOG} shows this batch has run: the journal was deleted or moved, so what was issued is unknown; restore it from a backup`);
    }
    throw new UsageError(`${cmd}: ${batch.dir} has no journal (run the batch with cardsmith run first)`);
  }
  try {
    return Journal.open(batch.dir, { batchId: batch.id, manifestSha256: batch.manifestSha256 });
  } catch (e) {
    if (e instanceof JournalError) throw prefixed(e, cmd);
    throw e;
  }
}
