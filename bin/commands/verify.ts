// cardsmith verify DIR [--reader NAME | --sim] [--keystore FILE] [--record ID] [--json]: checks a
// batch's cards against its journal (docs/runner.md, "cardsmith verify"). First the batch folder
// against its sealed manifest (the MAC with --keystore) and the journal's binding to the batch.
//   - without --reader: the journal's verification summary, one line per record (state, the
//     read-back verification recorded when it was issued, the chip serial); exit 1 when any issued
//     record has no passed verification;
//   - with --reader NAME: reads the card in that reader, finds its record (by the chip serial the
//     journal holds, or --record ID) and runs that record's `verify` steps again; exit 0 pass, 1 fail;
//   - with --sim: every card the simulated printers kept (DIR/sim-output/hopper) is loaded, matched
//     to its record by chip serial and checked with that record's `verify` steps; issued records
//     with no card in the hopper, hopper cards whose record is not issued, several cards for one
//     record and issued cards in the reject bin are failures too; exit 0 when all is well, 1 otherwise.
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import { normalizeChip, type Journal, type JournalRecord } from '../../personalization/journal/index.js';
import { reasonOf, type Batch } from '../../personalization/runner/run.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { openTransport } from '../../transport/open.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { chipSerialFromAtr } from '../../stations/index.js';
import { readSimOutput, SIM_OUTPUT_DIR, type KeptCard } from '../../stations/index.js';
import { simCards, ssCardStock } from '../../simulator/index.js';
import { checkedBatch, openBatchJournal } from '../batch.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, UsageError } from '../errors.js';
import { openStore, storeOptions, type StoreArgs } from './keys/common.js';
import { existsSync } from 'node:fs';
import { compare, type Disagreement } from '../../personalization/registry/reconcile.js';
import { openRegistry, registryOptions, registryPath } from './registry-file.js';

interface VerifyArgs extends Omit<StoreArgs, 'keystore'> {
  dir: string;
  keystore?: string;
  reader?: string;
  sim: boolean;
  record?: string;
  registry?: string;
}

/** The key store (when --keystore is given) and the batch checked against its manifest with it, before any card is read. */
async function openChecked(ctx: Ctx, a: VerifyArgs): Promise<{ batch: Batch; provider: KeyProvider | undefined }> {
  const provider = a.keystore === undefined ? undefined : await openStore(ctx.io, { ...a, keystore: a.keystore }, false);
  try {
    return { batch: await checkedBatch(ctx, 'verify', a.dir, provider), provider };
  } catch (e) {
    await provider?.close();
    throw e;
  }
}

function summaryLine(r: JournalRecord): string {
  const v = r.verification;
  const ver = v ? (v.ok ? `verification passed${v.checks !== undefined ? ` (${v.checks} checks)` : ''}` : `verification FAILED${v.failures?.length ? `: ${v.failures.join('; ')}` : ''}`) : 'no verification';
  const chip = r.chipSerial ? `chip ${r.chipSerial}` : 'no chip';
  const why = r.reason ? ` — ${r.reason}` : '';
  return `${r.id}: ${r.state}, ${r.state === 'issued' ? ver : 'not issued'}, ${chip}${why}`;
}

async function summary(ctx: Ctx, a: VerifyArgs): Promise<void> {
  const { batch, provider } = await openChecked(ctx, a);
  batch.blobs?.close();
  await provider?.close();
  const journal = openBatchJournal('verify', batch);
  try {
    let records = journal.records();
    if (a.record !== undefined) {
      records = records.filter((r) => r.id === a.record);
      if (records.length === 0) throw new UsageError(`verify: record ${a.record} is not in the journal of ${a.dir}`);
    }
    const bad = records.filter((r) => r.state === 'issued' && !r.verification?.ok);
    const counts = journal.counts();
    const reg = registryAgreement(a, journal);
    if (a.json) {
      ctx.io.out(
        JSON.stringify({
          format: 'cardsmith-verify',
          mode: 'journal',
          ok: bad.length === 0,
          counts,
          records: records.map((r) => ({ id: r.id, state: r.state, chipSerial: r.chipSerial, verification: r.verification, ...(r.state !== 'issued' && r.reason ? { reason: r.reason } : {}) })),
          unverified: bad.map((r) => r.id),
          registry: reg,
        }),
      );
    } else {
      for (const r of records) ctx.io.out(summaryLine(r));
      ctx.io.out(`${counts.issued} issued, ${counts.rejected} rejected of ${counts.total}; ${bad.length === 0 ? 'every issued record has a passed verification' : `${bad.length} issued record(s) without a passed verification: ${bad.map((r) => r.id).join(', ')}`}`);
      for (const d of reg.disagreements) ctx.io.out(`${d.record}: the journal says ${d.journal}, the issuance registry ${d.registry}`);
      ctx.io.out(
        reg.checked
          ? `issuance registry ${reg.path}: ${reg.disagreements.length === 0 ? 'agrees with the journal' : `${reg.disagreements.length} record(s) disagree with the journal`}`
          : `issuance registry: not checked (${reg.why})`,
      );
    }
    if (bad.length > 0 || reg.disagreements.length > 0) ctx.exitCode = EXIT_FAILED;
  } finally {
    journal.close();
  }
}

/** The journal against the bureau's issuance registry, when this command can tell where that is. */
function registryAgreement(a: VerifyArgs, journal: Journal): { checked: boolean; path?: string; why?: string; disagreements: Disagreement[] } {
  let path: string;
  try {
    path = registryPath(a);
  } catch {
    return { checked: false, why: 'give --registry FILE or --keystore, or set CARDSMITH_REGISTRY', disagreements: [] };
  }
  if (!existsSync(path)) return { checked: false, path, why: `${path} does not exist`, disagreements: [] };
  const batch = journal.meta()['batch_id'];
  if (batch === undefined) return { checked: false, path, why: 'the journal names no batch', disagreements: [] };
  const registry = openRegistry({ registry: path });
  try {
    return { checked: true, path, disagreements: compare(journal, registry, batch) };
  } finally {
    registry.close();
  }
}

async function onCard(ctx: Ctx, a: VerifyArgs & { reader: string }): Promise<void> {
  if (a.keystore === undefined) throw new UsageError('verify: --reader needs --keystore (the keys the verify steps authenticate with)');
  const { batch, provider } = await openChecked(ctx, a);
  try {
    await onCardWith(ctx, a, batch, provider!);
  } finally {
    batch.blobs?.close();
    await provider!.close();
  }
}

async function onCardWith(ctx: Ctx, a: VerifyArgs & { reader: string }, batch: Batch, provider: KeyProvider): Promise<void> {
  const journal = openBatchJournal('verify', batch);
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
  const transport = await openTransport(a.reader, { simCards });
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
      try {
        const v = await verifyCard(transport, script, { provider, transportKey, blobs: batch.blobs });
        outcome = { ok: true, recordId, ...(chip ? { chipSerial: chip } : {}), checks: v.checks };
      } catch (e) {
        outcome = { ok: false, recordId, ...(chip ? { chipSerial: chip } : {}), reason: reasonOf(e) };
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

/** One card of the output hopper, checked against its record. */
interface SimCardResult {
  file: string;
  chipSerial?: string;
  recordId?: string;
  /** The record's journal state, when it is not issued. */
  state?: string;
  ok: boolean;
  checks?: number;
  reason?: string;
  face?: string;
}

async function onSimOutput(ctx: Ctx, a: VerifyArgs): Promise<void> {
  if (a.keystore === undefined) throw new UsageError('verify: --sim needs --keystore (the keys the verify steps authenticate with)');
  const { batch, provider } = await openChecked(ctx, a);
  try {
    await simOutputWith(ctx, a, batch, provider!);
  } finally {
    batch.blobs?.close();
    await provider!.close();
  }
}

async function simOutputWith(ctx: Ctx, a: VerifyArgs, batch: Batch, provider: KeyProvider): Promise<void> {
  const journal = openBatchJournal('verify', batch);
  let records: JournalRecord[];
  let issued: { recordId: string; chipSerial: string }[];
  let attempts: { recordId: string; chipSerial: string | null }[];
  let counts;
  try {
    records = journal.records();
    issued = journal.issuedCards();
    attempts = journal.attempts();
    counts = journal.counts();
  } finally {
    journal.close();
  }
  if (a.record !== undefined && !records.some((r) => r.id === a.record)) throw new UsageError(`verify: record ${a.record} is not in the journal of ${a.dir}`);
  const out = readSimOutput(a.dir, ssCardStock);
  if (!out) throw new UsageError(`verify: ${a.dir} has no ${SIM_OUTPUT_DIR}/ folder: only batches run on simulated printers (cardsmith run --sim N, simulated stations, cardsmith demo) keep their cards`);

  const chipKey = (c: string) => normalizeChip(c);
  const issuedByChip = new Map(issued.map((c) => [chipKey(c.chipSerial), c.recordId]));
  const issuedByRecord = new Map(issued.map((c) => [c.recordId, chipKey(c.chipSerial)]));
  // Chips journaled for attempts that did not end issued: to name the record of a card that should not be in the hopper.
  const attemptByChip = new Map(attempts.filter((x) => x.chipSerial).map((x) => [chipKey(x.chipSerial!), x.recordId]));
  const byId = new Map(records.map((r) => [r.id, r]));
  const recordOf = (k: KeptCard) => (k.chipSerial ? (issuedByChip.get(chipKey(k.chipSerial)) ?? attemptByChip.get(chipKey(k.chipSerial))) : undefined);
  const wanted = (id: string | undefined) => a.record === undefined || id === a.record;

  const tk = batch.manifest.transportKey;
  const transportKey: KeyRef = tk.version !== undefined ? { label: tk.label, version: tk.version } : { label: tk.label };
  const cards: SimCardResult[] = [];
  for (const k of out.hopper) {
    const recordId = recordOf(k);
    if (!wanted(recordId)) continue;
    const r: SimCardResult = { file: k.file, ...(k.chipSerial ? { chipSerial: k.chipSerial } : {}), ...(recordId ? { recordId } : {}), ok: false, ...(k.face ? { face: k.face } : {}) };
    cards.push(r);
    const rec = recordId ? byId.get(recordId) : undefined;
    if (k.error !== undefined || !k.card) r.reason = `the card image cannot be loaded: ${k.error ?? 'unknown error'}`;
    else if (!k.chipSerial) r.reason = "no chip serial in the card's ATR";
    else if (!recordId || !rec) r.reason = `no record of this batch was personalized on chip ${k.chipSerial}`;
    else if (rec.state !== 'issued') {
      r.state = rec.state;
      r.reason = `record ${recordId} is ${rec.state} in the journal, not issued: this card should not be in the hopper`;
    } else if (issuedByRecord.get(recordId) !== chipKey(k.chipSerial)) {
      r.reason = `record ${recordId} was issued on chip ${issuedByRecord.get(recordId)}, not on this card`;
    } else {
      const script = batch.scripts.get(recordId);
      if (!script) throw new UsageError(`verify: record ${recordId} has no card script in ${a.dir}/cards.jsonl`);
      const transport = new SimulatorTransport(k.card, { name: `${SIM_OUTPUT_DIR}:${k.chipSerial}` });
      try {
        const v = await verifyCard(transport, script, { provider, transportKey, blobs: batch.blobs });
        r.ok = true;
        r.checks = v.checks;
      } catch (e) {
        r.reason = reasonOf(e);
      } finally {
        await transport.close();
      }
    }
  }

  // Several cards for one record.
  const perRecord = new Map<string, SimCardResult[]>();
  for (const c of cards) if (c.recordId) perRecord.set(c.recordId, [...(perRecord.get(c.recordId) ?? []), c]);
  const duplicates = [...perRecord].filter(([, cs]) => cs.length > 1).map(([recordId, cs]) => ({ recordId, files: cs.map((c) => c.file) }));
  // Issued records with no card of theirs in the hopper, and where their card is instead.
  const inHopper = new Set(cards.filter((c) => c.chipSerial && c.recordId && issuedByRecord.get(c.recordId) === chipKey(c.chipSerial)).map((c) => c.recordId!));
  const placeOf = (chip: string): string => {
    const bin = out.rejectBin.find((k) => k.chipSerial && chipKey(k.chipSerial) === chip);
    if (bin) return `in the reject bin (${bin.file})`;
    const enc = out.encoders.find((k) => k.chipSerial && chipKey(k.chipSerial) === chip);
    if (enc) return `still in the encoder of ${enc.station} (run the batch again with --resume)`;
    return 'not kept anywhere';
  };
  const missing = issued.filter((c) => wanted(c.recordId) && !inHopper.has(c.recordId)).map((c) => ({ recordId: c.recordId, chipSerial: c.chipSerial, where: placeOf(chipKey(c.chipSerial)) }));
  const rejectedIssued = out.rejectBin.filter((k) => k.chipSerial && issuedByChip.has(chipKey(k.chipSerial)) && wanted(issuedByChip.get(chipKey(k.chipSerial)))).map((k) => ({ recordId: issuedByChip.get(chipKey(k.chipSerial!))!, file: k.file }));
  const inEncoders = out.encoders.map((k) => ({ station: k.station ?? '?', ...(k.chipSerial ? { chipSerial: k.chipSerial } : {}), ...(recordOf(k) ? { recordId: recordOf(k)! } : {}) }));
  const failed = cards.filter((c) => !c.ok);
  const ok = failed.length === 0 && missing.length === 0 && duplicates.length === 0 && rejectedIssued.length === 0;

  if (a.json) {
    ctx.io.out(
      JSON.stringify({
        format: 'cardsmith-verify',
        mode: 'sim',
        ok,
        counts,
        cards,
        missing,
        duplicates,
        notIssued: cards.filter((c) => c.state !== undefined || (!c.ok && !c.recordId)).map((c) => ({ file: c.file, ...(c.chipSerial ? { chipSerial: c.chipSerial } : {}), ...(c.recordId ? { recordId: c.recordId } : {}), ...(c.state ? { state: c.state } : {}) })),
        rejectBin: { cards: out.rejectBin.length, issued: rejectedIssued },
        inEncoders,
      }),
    );
  } else {
    for (const c of cards) {
      const chip = c.chipSerial ? `chip ${c.chipSerial}` : 'no chip serial';
      if (c.ok) ctx.io.out(`${c.recordId}: passed its verify steps (${chip}, ${c.checks} checks) — ${c.file}`);
      else ctx.io.out(`${c.recordId ?? `card ${c.file}`}: FAILED (${chip}): ${c.reason} — ${c.file}`);
    }
    for (const d of duplicates) ctx.io.out(`${d.recordId}: ${d.files.length} cards in the hopper for one record: ${d.files.join(', ')}`);
    for (const m of missing) ctx.io.out(`${m.recordId}: issued on chip ${m.chipSerial}, but its card is not in the hopper: ${m.where}`);
    for (const x of rejectedIssued) ctx.io.out(`${x.recordId}: the card of this issued record is in the reject bin (${x.file})`);
    for (const e of inEncoders) if (!e.recordId || !issuedByRecord.has(e.recordId)) ctx.io.out(`note: a card is still in the encoder of ${e.station}${e.chipSerial ? ` (chip ${e.chipSerial}${e.recordId ? `, record ${e.recordId}` : ''})` : ''}`);
    const passed = cards.length - failed.length;
    const verdict = ok ? "every issued record's card is in the hopper and passed its verify steps" : 'do not ship this batch as it is';
    ctx.io.out(
      `${cards.length} card(s) in the hopper: ${passed} passed, ${failed.length} failed; ${missing.length} issued record(s) without a card in the hopper; ${duplicates.length} record(s) with more than one card; reject bin: ${out.rejectBin.length} card(s)${rejectedIssued.length ? `, ${rejectedIssued.length} of them issued` : ''}; ${verdict}`,
    );
  }
  if (!ok) ctx.exitCode = EXIT_FAILED;
}

export function verifyCommand(ctx: Ctx): CommandModule {
  return {
    ...about('verify'),
    builder: (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the batch folder (with the journal of cardsmith run)' })
        .options({
          ...storeOptions,
          keystore: { ...storeOptions.keystore, demandOption: false, describe: "the key store (needed with --reader and --sim; without it the batch's digests are checked but not its manifest's MAC): a FILE, or pkcs11:token=LABEL" },
          reader: { type: 'string', requiresArg: true, describe: 'read the card in this reader (PC/SC name or part of it, or a sim spec) and run its record\'s verify steps again' },
          sim: { type: 'boolean', default: false, describe: `run the verify steps on every card the simulated printers kept (DIR/${SIM_OUTPUT_DIR}/hopper), each against the record of its chip serial` },
          record: { type: 'string', requiresArg: true, describe: 'the record to check (default: all in the summary and with --sim; with --reader, the record whose chip serial the card has)' },
          ...registryOptions,
          json: { type: 'boolean', default: false, describe: 'one JSON object' },
        })
        .example('$0 verify batches/b1 --registry bureau/issuance-registry.sqlite', 'also check that the issuance registry holds the same cards as the journal')
        .example('$0 verify batches/b1', 'per record: issued/rejected, the verification result, the chip serial; exit 1 if an issued record was not verified')
        .example('$0 verify batches/b1 --reader "OMNIKEY 5422" --keystore keys.cks --pass-file pass.txt', 'read the card in the reader back and check it against its record')
        .example('$0 verify batches/b1 --reader "Virtual PCD 00 00" --record 000123 --keystore keys.cks', 'check the card against a given record')
        .example('$0 verify demo/batch --sim --keystore demo/keys.store --pass-file demo/demo-passphrase', 'after cardsmith run --sim N (or cardsmith demo): re-verify every card in the simulated output hopper')
        .epilogue(
          'Exit 0 verified, 1 a verification failed (or an issued record has none; or the journal and the issuance registry disagree; with --sim also: an issued record without its card in the hopper, a hopper card whose record is not issued, two cards for one record), 2 bad input. Passphrase: CARDSMITH_KEYSTORE_PASS or --pass-file.',
        ),
    handler: async (argv) => {
      const a = argv as unknown as VerifyArgs;
      if (a.reader !== undefined && a.sim) throw new UsageError('verify: give --reader NAME or --sim, not both');
      if (a.reader !== undefined) await onCard(ctx, { ...a, reader: a.reader });
      else if (a.sim) await onSimOutput(ctx, a);
      else await summary(ctx, a);
    },
  };
}
