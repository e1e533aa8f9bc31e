// cardsmith verify DIR [--reader NAME --keystore FILE [--record ID]] [--json]: checks a batch's
// cards against its journal (docs/runner.md, "cardsmith verify").
//   - without --reader: the journal's verification summary, one line per record (state, the
//     read-back verification recorded when it was issued, the chip serial); exit 1 when any issued
//     record has no passed verification;
//   - with --reader NAME: reads the card in that reader, finds its record (by the chip serial the
//     journal holds, or --record ID) and runs that record's `verify` steps again; exit 0 pass, 1 fail.
import type { CommandModule } from 'yargs';
import type { KeyRef } from '../../keys/types.js';
import { Journal, JournalError, normalizeChip, type JournalRecord } from '../../personalization/journal/index.js';
import { BatchInputError, loadBatch, reasonOf } from '../../personalization/runner/run.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { openTransport } from '../../readers/open.js';
import { chipSerialFromAtr } from '../../readers/stations/index.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, UsageError } from '../errors.js';
import { openStore, storeOptions, type StoreArgs } from './keys/common.js';

interface VerifyArgs extends Omit<StoreArgs, 'keystore'> {
  dir: string;
  keystore?: string;
  reader?: string;
  record?: string;
}

function openJournal(dir: string): Journal {
  if (!Journal.exists(dir)) throw new UsageError(`verify: ${dir} has no journal (run the batch with cardsmith run first)`);
  try {
    return Journal.open(dir);
  } catch (e) {
    if (e instanceof JournalError) throw new UsageError(`verify: ${e.message}`);
    throw e;
  }
}

function summaryLine(r: JournalRecord): string {
  const v = r.verification;
  const ver = v ? (v.ok ? `verification passed${v.checks !== undefined ? ` (${v.checks} checks)` : ''}` : `verification FAILED${v.failures?.length ? `: ${v.failures.join('; ')}` : ''}`) : 'no verification';
  const chip = r.chipSerial ? `chip ${r.chipSerial}` : 'no chip';
  const why = r.state === 'issued' ? '' : r.reason ? ` — ${r.reason}` : '';
  return `${r.id}: ${r.state}, ${r.state === 'issued' ? ver : 'not issued'}, ${chip}${why}`;
}

function summary(ctx: Ctx, a: VerifyArgs): void {
  const journal = openJournal(a.dir);
  try {
    let records = journal.records();
    if (a.record !== undefined) {
      records = records.filter((r) => r.id === a.record);
      if (records.length === 0) throw new UsageError(`verify: record ${a.record} is not in the journal of ${a.dir}`);
    }
    const bad = records.filter((r) => r.state === 'issued' && !r.verification?.ok);
    const counts = journal.counts();
    if (a.json) {
      ctx.io.out(
        JSON.stringify({
          format: 'cardsmith-verify',
          mode: 'journal',
          ok: bad.length === 0,
          counts,
          records: records.map((r) => ({ id: r.id, state: r.state, chipSerial: r.chipSerial, verification: r.verification, ...(r.state !== 'issued' && r.reason ? { reason: r.reason } : {}) })),
          unverified: bad.map((r) => r.id),
        }),
      );
    } else {
      for (const r of records) ctx.io.out(summaryLine(r));
      ctx.io.out(`${counts.issued} issued, ${counts.rejected} rejected of ${counts.total}; ${bad.length === 0 ? 'every issued record has a passed verification' : `${bad.length} issued record(s) without a passed verification: ${bad.map((r) => r.id).join(', ')}`}`);
    }
    if (bad.length > 0) ctx.exitCode = EXIT_FAILED;
  } finally {
    journal.close();
  }
}

async function onCard(ctx: Ctx, a: VerifyArgs & { reader: string }): Promise<void> {
  if (a.keystore === undefined) throw new UsageError('verify: --reader needs --keystore (the keys the verify steps authenticate with)');
  let batch;
  try {
    batch = loadBatch(a.dir);
  } catch (e) {
    if (e instanceof BatchInputError) throw new UsageError(`verify: ${e.message}`);
    throw e;
  }
  const journal = openJournal(a.dir);
  let issued: { recordId: string; chipSerial: string }[];
  let given: JournalRecord | undefined;
  try {
    issued = journal.issuedCards();
    if (a.record !== undefined) {
      given = journal.get(a.record);
      if (!given) throw new UsageError(`verify: record ${a.record} is not in the journal of ${a.dir}`);
    }
  } finally {
    journal.close();
  }
  const transport = await openTransport(a.reader);
  let outcome: { ok: boolean; recordId?: string; chipSerial?: string; checks?: number; reason?: string };
  try {
    const chip = chipSerialFromAtr(transport.atr());
    let recordId = a.record;
    let reason: string | undefined;
    if (recordId === undefined) {
      const hit = chip ? issued.find((c) => normalizeChip(c.chipSerial) === normalizeChip(chip)) : undefined;
      if (hit) recordId = hit.recordId;
      else reason = chip ? `no issued record of this batch has chip ${chip} (give --record ID to check the card against a record anyway)` : 'the chip serial cannot be read from this card\'s ATR: give --record ID';
    } else if (given!.state !== 'issued') {
      reason = `record ${recordId} is ${given!.state} in the journal, not issued`;
    } else if (chip && given!.chipSerial && normalizeChip(given!.chipSerial) !== normalizeChip(chip)) {
      reason = `record ${recordId} was issued on chip ${given!.chipSerial}, this card is chip ${chip}`;
    }
    if (reason !== undefined || recordId === undefined) {
      outcome = { ok: false, ...(recordId ? { recordId } : {}), ...(chip ? { chipSerial: chip } : {}), reason: reason ?? 'no record' };
    } else {
      const script = batch.scripts.get(recordId);
      if (!script) throw new UsageError(`verify: record ${recordId} has no card script in ${a.dir}/cards.jsonl`);
      const tk = batch.manifest.transportKey;
      const transportKey: KeyRef = tk.version !== undefined ? { label: tk.label, version: tk.version } : { label: tk.label };
      const provider = await openStore(ctx.io, { ...a, keystore: a.keystore }, false);
      try {
        const v = await verifyCard(transport, script, { provider, transportKey });
        outcome = { ok: true, recordId, ...(chip ? { chipSerial: chip } : {}), checks: v.checks };
      } catch (e) {
        outcome = { ok: false, recordId, ...(chip ? { chipSerial: chip } : {}), reason: reasonOf(e) };
      } finally {
        await provider.close();
      }
    }
  } finally {
    await transport.close();
  }
  if (a.json) {
    ctx.io.out(JSON.stringify({ format: 'cardsmith-verify', mode: 'card', reader: a.reader, ...outcome }));
  } else if (outcome.ok) {
    ctx.io.out(`${outcome.recordId}: the card${outcome.chipSerial ? ` (chip ${outcome.chipSerial})` : ''} passed its verify steps (${outcome.checks} checks)`);
  } else {
    ctx.io.out(`${outcome.recordId ?? 'card'}: verification FAILED${outcome.chipSerial ? ` (chip ${outcome.chipSerial})` : ''}: ${outcome.reason}`);
  }
  if (!outcome.ok) ctx.exitCode = EXIT_FAILED;
}

export function verifyCommand(ctx: Ctx): CommandModule {
  return {
    command: 'verify <dir>',
    describe: "check a batch's cards: the journal's verification summary, or re-verify the card in a reader",
    builder: (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the batch folder (with the journal of cardsmith run)' })
        .options({
          ...storeOptions,
          keystore: { ...storeOptions.keystore, demandOption: false, describe: 'the key store (needed with --reader): a FILE, or pkcs11:token=LABEL' },
          reader: { type: 'string', requiresArg: true, describe: 'read the card in this reader (PC/SC name or part of it, or a sim spec) and run its record\'s verify steps again' },
          record: { type: 'string', requiresArg: true, describe: 'the record to check (default: all in the summary; with --reader, the record whose chip serial the card has)' },
          json: { type: 'boolean', default: false, describe: 'one JSON object' },
        })
        .example('$0 verify batches/b1', 'per record: issued/rejected, the verification result, the chip serial; exit 1 if an issued record was not verified')
        .example('$0 verify batches/b1 --reader "OMNIKEY 5422" --keystore keys.cks --pass-file pass.txt', 'read the card in the reader back and check it against its record')
        .example('$0 verify batches/b1 --reader "Virtual PCD 00 00" --record 000123 --keystore keys.cks', 'check the card against a given record')
        .epilogue('Exit 0 verified, 1 a verification failed (or an issued record has none), 2 bad input. Passphrase: CARDSMITH_KEYSTORE_PASS or --pass-file.'),
    handler: async (argv) => {
      const a = argv as unknown as VerifyArgs;
      if (a.reader !== undefined) await onCard(ctx, { ...a, reader: a.reader });
      else summary(ctx, a);
    },
  };
}
