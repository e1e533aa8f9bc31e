// The runner: a batch folder (manifest.json + cards.jsonl) personalized on N stations, with the
// journal as the only record of what happened (docs/runner.md, "Runner loop").
//
//   1. add the records to the journal (idempotent), ask it for the plan: a finished batch does
//      nothing and says so; records left in progress by a run that died need `resume`;
//   2. recovery (resume): for each record in flight on our stations, read the card in that
//      station's encoder (verify steps) and let the journal decide (issued / blank / partial /
//      empty / unknown); then sweep stray cards: a card in an encoder whose chip the journal has
//      issued is ejected as good (the crash came between issue and eject), any other is rejected;
//   3. every station, concurrently: claim → load a card → setChip (before the first write) → the
//      script → its verify steps → journal.issue → print + eject; a failed card is journaled first,
//      then sent to the reject box. Station faults give the record back and pause the station;
//      K failed cards in a row pause it too (Station); the other stations carry on. A key fault
//      (key-fault.ts) pauses them all; a stop (signal) lets the card in each encoder finish.
//      One run per batch folder at a time (lock.ts).
//
// Every card event (claimed, loaded with its chip serial, issued with its KCVs, rejected with the
// reason, released, recovered, stray cards) is also appended to DIR/audit.log, the hash chain of
// keys/audit.ts (`cardsmith audit verify DIR/audit.log`). The journal decides; the log is the
// tamper-evident trail. It holds record ids, station names, chip serials, reasons and KCVs only.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { privateDirSync, writePrivateFileSync } from '../../files/private.js';
import { AuditLog, type AuditHash } from '../../keys/audit.js';
import { DoubleIssueError, Journal, StaleClaimError, type Claim, type InFlightRecord, type InspectResult, type JournalCounts } from '../journal/index.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import type { ProgressEvent } from '../progress/index.js';
import { faceFileName } from '../report/index.js';
import { SIM_OUTPUT_DIR, type Station } from '../../stations/index.js';
import { checkFaceWorkers, defaultFaceWorkers, defaultFonts, FacePool, type ScriptFace } from '../../faces/index.js';
import { BlobPack, scriptBlobs } from '../blobs.js';
import { INPUT_FILES_DIR, parseCardScript, ScriptFormatError, type BatchManifest, type CardScript } from '../script.js';
import { BatchInputError, batchFonts, CARDS_FILE, CardLinesCheck, checkManifestMac, checkOtherFiles, readManifest, splitLines } from '../sealed.js';
import { executeScript, StepError, verifyCard } from './executor.js';
import { RegistryConflictError, type CardReservation, type IssuanceRegistry } from '../registry/index.js';
import { keysOf, reservationFor } from '../registry/reservation.js';
import { reconcile } from '../registry/reconcile.js';
import { keyFaultMessage, nameKey, type NamedKey } from './key-fault.js';
import { lockBatch, type BatchLock } from './lock.js';
import { CardsmithError, faultOf, type ErrorKind } from '../../errors/index.js';

export { BatchInputError } from '../sealed.js';

/** The journal has records in progress from a run that did not end: run with resume. */
export class ResumeNeededError extends CardsmithError {
  override name = 'ResumeNeededError';
  readonly kind: ErrorKind = 'input';
}

export interface Batch {
  dir: string;
  manifest: BatchManifest;
  /** Scripts by record id, in batch order. */
  scripts: Map<string, CardScript>;
  /** Stable id of the batch (the journal refuses another batch's folder). */
  id: string;
  /** SHA-256 of manifest.json: the journal is bound to it too. */
  manifestSha256: string;
  /** DIR/blobs.pack when the manifest lists one (photos and other big data the scripts name); runBatch closes it at its end. */
  blobs?: BlobPack;
}

/**
 * Reads a batch folder and checks it against its manifest (schema, then every line of cards.jsonl
 * as it is parsed, input-files/, fonts/, the size of blobs.pack, rejects.csv): BatchInputError
 * names the first file and line that differ. Each blob is checked when it is read (blobs.ts). The manifest's MAC needs the key store: checkManifestMac (runBatch does it first).
 */
export function loadBatch(dir: string): Batch {
  const { manifest, sha256, id } = readManifest(dir);
  const check = new CardLinesCheck(dir, manifest);
  let cardsText: string;
  try {
    cardsText = readFileSync(join(dir, CARDS_FILE), 'utf8');
  } catch (e) {
    throw new BatchInputError(`${dir}/${CARDS_FILE}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}: the batch's card scripts are missing`);
  }
  const { lines, newline } = splitLines(cardsText);
  const scripts = new Map<string, CardScript>();
  for (const [i, line] of lines.entries()) {
    check.line(i + 1, line);
    let s: CardScript;
    try {
      s = parseCardScript(line, `${dir}/cards.jsonl:${i + 1}`);
    } catch (e) {
      if (e instanceof ScriptFormatError) throw new BatchInputError(e.message);
      throw e;
    }
    if (scripts.has(s.recordId)) throw new BatchInputError(`${dir}/cards.jsonl:${i + 1}: record id ${s.recordId} appears twice`);
    scripts.set(s.recordId, s);
  }
  check.end(lines.length, newline);
  checkOtherFiles(dir, manifest);
  if (scripts.size === 0) throw new BatchInputError(`${dir}/cards.jsonl: no card scripts`);
  const blobs = BlobPack.open(dir, manifest);
  return { dir, manifest, scripts, id, manifestSha256: sha256, ...(blobs ? { blobs } : {}) };
}

export interface RunBatchOptions {
  provider: KeyProvider;
  stations: Station[];
  /** Recover records left in progress by a run that died (else ResumeNeededError when there are). */
  resume?: boolean;
  onEvent?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Physical cards per record before it is rejected for good (journal default 3). */
  maxCardsPerRecord?: number;
  /** Keep rendered faces in DIR/faces/ (default true when scripts carry faces). */
  keepFaces?: boolean;
  /**
   * Worker threads drawing the card faces ahead of the cards (default: one per core, at most 4);
   * 0 draws each face on the runner's thread when its card is ejected.
   */
  faceWorkers?: number;
  /** Hash of a new DIR/audit.log (default sha256; an existing log keeps its own). */
  auditHash?: AuditHash;
  /** Simulated printers keep their cards in DIR/sim-output (hopper, reject bin, encoder; default true). */
  keepSimOutput?: boolean;
  /**
   * The bureau's issuance registry: checked before a card is loaded, written before the first
   * write to a chip and before the journal marks a card issued, so that no record or cardholder
   * gets a second card even when this batch's journal is lost (personalization/registry/).
   */
  registry?: IssuanceRegistry;
  /** The batch's run lock when the caller took it (before opening its stations); default: taken here. */
  lock?: BatchLock;
}

/** Faces drawn ahead of a claimed record's: the next records in batch order. */
const FACES_AHEAD = 4;

/** The batch's audit log: DIR/audit.log. */
export const AUDIT_LOG = 'audit.log';

type AuditDetail = Record<string, string | number | boolean>;

export interface RunResult {
  kind: 'nothing-to-do' | 'done';
  message: string;
  counts: JournalCounts;
  /** Stations paused at the end, with reasons. */
  paused: { station: string; reason: string }[];
  recovered: number;
  /** The batch key the cards refused (or the host could not use): every station was paused. */
  keyFault?: NamedKey & { message: string };
  /** The run was stopped (signal) before the batch was done. */
  stopped?: boolean;
}

/** A reason safe for the journal: no record id prefix, no long hex runs, short. */
export function reasonOf(e: unknown): string {
  let m = e instanceof StepError ? e.message.replace(/^record .*?: (steps|verify)\[/, '$1[') : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  m = m.replace(/[0-9a-f]{24,}/gi, '…').replace(/\s+/g, ' ').trim();
  return m.length > 300 ? `${m.slice(0, 297)}…` : m || 'unknown error';
}

/**
 * Where photo file names of the scripts are found: the batch folder's copy (prep wrote the very
 * bytes it put on the chip there), then — for batches prepared before prep kept copies — the
 * batch input's folder and the batch folder.
 */
function photoDirsOf(batch: Batch): string[] {
  const input = batch.manifest.input?.file;
  return [join(batch.dir, INPUT_FILES_DIR), ...(input ? [dirname(resolve(input))] : []), batch.dir];
}

export async function runBatch(batch: Batch, o: RunBatchOptions): Promise<RunResult> {
  // The manifest is prep's (its MAC), so are the files loadBatch checked against it: before the journal or any card.
  // Checked before the journal: the pool itself starts at the first face, after records are claimed.
  if (o.faceWorkers !== undefined) checkFaceWorkers(o.faceWorkers);
  await checkManifestMac(batch.dir, batch.manifest, o.provider);
  const emit = o.onEvent ?? (() => {});
  // Before the journal and the audit log: a run refused because another one is live writes neither.
  const lock = o.lock ? { release: () => {} } : lockBatch(batch.dir);
  let journal: Journal;
  try {
    journal = Journal.open(batch.dir, { create: true, batchId: batch.id, manifestSha256: batch.manifestSha256, ...(o.maxCardsPerRecord ? { maxCardsPerRecord: o.maxCardsPerRecord } : {}) });
  } catch (e) {
    lock.release();
    throw e;
  }
  const paused: { station: string; reason: string }[] = [];
  let faces: FacePool | undefined;
  try {
    journal.addRecords(batch.scripts.keys());
    const registry = o.registry;
    const settle = (when: string): void => {
      if (!registry) return;
      const r = reconcile(journal, registry, batch.id);
      // One line per kind (a lost journal of a big batch adopts thousands): the count and the first ids.
      const some = (ids: string[]) => `${ids.length} record(s) (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})`;
      if (r.adopted.length) emit({ type: 'message', level: 'warn', text: `registry: ${some(r.adopted)} issued in the issuance registry but not in this journal (${when}): taken as issued, not personalized again` });
      if (r.review.length) emit({ type: 'message', level: 'warn', text: `registry: ${some(r.review)} being written according to the issuance registry, unknown to this journal (${when}): held for review` });
    };
    settle('at start');
    // Movers that keep their output (simulated printers) keep it in the batch folder, and find the card left in their encoder after a crash.
    if (o.keepSimOutput ?? true) for (const st of o.stations) st.mover.keepOutput?.(join(batch.dir, SIM_OUTPUT_DIR));
    const simCardsLeft = o.stations.filter((st) => st.mover.holdsLeftCard?.() && !st.card).map((st) => st.name);
    const plan = journal.plan();
    if (plan.kind === 'nothing-to-do' && !(o.resume && simCardsLeft.length > 0)) {
      const note = simCardsLeft.length > 0 ? `; simulated printer(s) ${simCardsLeft.join(', ')} still hold a card in the encoder: run with --resume to move it` : '';
      return { kind: 'nothing-to-do', message: plan.message + note, counts: plan.counts, paused, recovered: 0 };
    }
    // Verified whole before the first append: a broken chain stops the run (AuditError) rather than being extended.
    const log = AuditLog.openOrCreate(join(batch.dir, AUDIT_LOG), o.auditHash ?? 'sha256', 'runner');
    const audit = (op: string, recordId: string | undefined, detail: AuditDetail): void => {
      const d: AuditDetail = {};
      for (const [k, v] of Object.entries(detail)) if (v !== undefined && v !== null) d[k] = v;
      log.append({ op, ...(recordId !== undefined ? { label: recordId } : {}), detail: d });
    };
    const transportKey: KeyRef = batch.manifest.transportKey.version !== undefined ? { label: batch.manifest.transportKey.label, version: batch.manifest.transportKey.version } : { label: batch.manifest.transportKey.label };
    // No abort signal: a stop lets the card in each encoder finish; only the claim of the next one stops.
    const exec = { provider: o.provider, transportKey, ...(batch.blobs ? { blobs: batch.blobs } : {}) };
    const byStation = new Map(o.stations.map((s) => [s.name, s]));
    const names = [...byStation.keys()];
    let recovered = 0;
    const inFlight = journal.inFlight({ stations: names });
    audit('run-start', undefined, { batch: batch.id, stations: names.join(','), resume: !!o.resume, inFlight: inFlight.length });
    if (inFlight.length > 0 && !o.resume) {
      throw new ResumeNeededError(`${inFlight.length} record(s) are still in progress from a run that did not end (${inFlight.slice(0, 3).map((r) => `${r.recordId} on ${r.station}`).join(', ')}${inFlight.length > 3 ? ', …' : ''}): run again with --resume so the cards in the encoders are inspected first`);
    }
    if (simCardsLeft.length > 0 && !o.resume) {
      throw new ResumeNeededError(`simulated printer(s) ${simCardsLeft.join(', ')} still have a card in the encoder from a run that did not end: run again with --resume so those cards are inspected first`);
    }
    // Faces: the batch's copies of the profile's face.fonts (the profile file is not read), then
    // CARDSMITH_FONTS and the system fonts; photo files where photoDirsOf finds them. Set up at
    // the first face, so a run with nothing to print never looks at fonts. Drawn on worker
    // threads from the claim on, a few records ahead (face-pool.ts).
    const facePool = (): FacePool => {
      const warn = (text: string) => emit({ type: 'message', level: 'warn', text });
      faces ??= new FacePool({ fonts: [...batchFonts(batch.dir, batch.manifest, warn), ...defaultFonts()], photoDirs: photoDirsOf(batch), warn, workers: o.faceWorkers ?? defaultFaceWorkers(availableParallelism()) });
      return faces;
    };
    let order: string[] | undefined;
    let orderOf: Map<string, number> | undefined;
    /** Starts the faces of a claimed record and of the records after it (claims follow the batch order). */
    const drawAhead = (id: string): void => {
      if (!batch.scripts.get(id)?.face) return;
      order ??= [...batch.scripts.keys()];
      orderOf ??= new Map(order.map((r, i) => [r, i]));
      const from = orderOf.get(id)!;
      try {
        const pool = facePool();
        for (let i = from; i < Math.min(order.length, from + 1 + FACES_AHEAD); i++) {
          const f = batch.scripts.get(order[i]!)!.face;
          if (!f) continue;
          let face: ScriptFace;
          try {
            face = withPhotos(f, batch.blobs);
          } catch {
            continue; // a photo the pack cannot give: faceOf warns about it, once
          }
          pool.drawAhead(order[i]!, face);
        }
      } catch {
        // Drawing ahead only saves time: a face that could not be started is drawn when its card
        // is ejected, where a failure is that card's (a record claimed here is never left hanging).
      }
    };
    const faceOf = async (id: string): Promise<Uint8Array | undefined> => {
      const f = batch.scripts.get(id)?.face;
      if (!f) return undefined;
      const warn = (text: string) => emit({ type: 'message', level: 'warn', text: `face of ${id}: ${text}; printed with an empty photo box` });
      const png = (await facePool().take(id, withPhotos(f, batch.blobs, warn))).png;
      if (o.keepFaces ?? true) {
        privateDirSync(join(batch.dir, 'faces'));
        writePrivateFileSync(join(batch.dir, 'faces', faceFileName(id)), png);
      }
      return png;
    };

    // 2. Recovery: the records our stations had in flight.
    if (o.resume) {
      const inspect = async (r: InFlightRecord): Promise<InspectResult> => {
        const st = byStation.get(r.station);
        const script = batch.scripts.get(r.recordId);
        if (!st || !script) return 'unknown';
        const card = await st.cardInEncoder();
        if (!card) return 'empty';
        try {
          const v = await verifyCard(card.transport, script, exec);
          return { state: 'issued', ...(card.chipSerial ? { chipSerial: card.chipSerial } : {}), verification: { ok: true, checks: v.checks }, detail: 'verify steps passed' };
        } catch (e) {
          // Nothing is written to a card before its chip serial is in the journal: without one the card is untouched.
          return { state: r.chipSerial === null ? 'blank' : 'partial', detail: reasonOf(e) };
        }
      };
      for (const out of await journal.recover(inspect, { stations: names })) {
        recovered++;
        const st = byStation.get(out.station)!;
        audit('card-recovered', out.recordId, { station: out.station, state: out.state, action: out.cardAction, reason: out.reason });
        emit({ type: 'message', level: 'info', text: `recovery: ${out.recordId} on ${out.station}: ${out.state} (${out.reason})` });
        try {
          if (out.cardAction === 'eject') await st.acceptCard(await faceOf(out.recordId));
          else if (out.cardAction === 'reject') await st.rejectCard(`recovery: ${out.reason}`);
          else if (out.cardAction === 'operator') st.pause(`recovery: ${out.recordId}: ${out.reason}`);
          // keep: the card stays in position and takes the next record; none: nothing to move.
        } catch (e) {
          st.pause(`recovery: ${reasonOf(e)}`);
        }
      }
      /**
       * A card in an encoder that the registry has in the making for a record of this batch, which
       * this journal does not know (the journal was lost): its verify steps decide — issued, or
       * rejected with the record back to pending. False when the registry knows nothing of it.
       */
      const registryCard = async (st: Station, card: NonNullable<Awaited<ReturnType<Station['cardInEncoder']>>>): Promise<boolean> => {
        const reg = registry && card.chipSerial ? registry.cardOnChip(card.chipSerial) : undefined;
        if (!reg || reg.state !== 'reserved' || reg.batch !== batch.id) return false;
        const rec = journal.get(reg.record);
        const script = batch.scripts.get(reg.record);
        if (!rec || !script || (rec.state !== 'review' && rec.state !== 'pending')) return false;
        try {
          const v = await verifyCard(card.transport, script, exec);
          registry!.issue(batch.id, reg.record, reg.chip);
          journal.adoptIssued(reg.record, reg.chip, `recovered from the encoder of ${st.name} with the issuance registry: verify steps passed (${v.checks} checks)`);
          audit('card-recovered', reg.record, { station: st.name, chip: reg.chip, state: 'issued', action: 'eject', reason: 'registry reservation, verify steps passed' });
          emit({ type: 'message', level: 'info', text: `recovery: ${st.name}: the card of ${reg.record} (in the registry, not in the journal) passed its verify steps: issued and ejected` });
          await st.acceptCard(await faceOf(reg.record));
        } catch (e) {
          const reason = `recovery: card of an unknown state (registry reservation, not in the journal): ${reasonOf(e)}`;
          registry!.void(batch.id, reg.record, reg.chip, reason);
          if (rec.state === 'review') journal.requeue(reg.record, reason);
          audit('card-recovered', reg.record, { station: st.name, chip: reg.chip, state: 'partial', action: 'reject', reason });
          emit({ type: 'message', level: 'info', text: `recovery: ${st.name}: the card of ${reg.record} (in the registry, not in the journal) failed its verify steps: rejected, the record goes back to pending` });
          await st.rejectCard(reason);
        }
        return true;
      };
      // Stray cards: in an encoder with no record in flight.
      const issuedChips = new Map(journal.issuedCards().map((c) => [c.chipSerial.toUpperCase(), c.recordId]));
      for (const st of o.stations) {
        if (st.paused || st.card) continue;
        try {
          const card = await st.cardInEncoder();
          if (!card) continue;
          if (await registryCard(st, card)) continue;
          const rec = card.chipSerial ? issuedChips.get(card.chipSerial.toUpperCase()) : undefined;
          audit(rec ? 'stray-card-ejected' : 'stray-card-rejected', rec, { station: st.name, ...(card.chipSerial ? { chip: card.chipSerial } : {}) });
          if (rec) {
            emit({ type: 'message', level: 'info', text: `recovery: ${st.name}: the card of ${rec} (issued) was still in the encoder: ejected` });
            await st.acceptCard(await faceOf(rec));
          } else {
            emit({ type: 'message', level: 'info', text: `recovery: ${st.name}: a card of unknown history was in the encoder: rejected` });
            await st.rejectCard('recovery: card of unknown history found in the encoder');
          }
        } catch (e) {
          if (faultOf(e) === 'pause') st.pause(`recovery: ${reasonOf(e)}`);
          else await st.rejectCard(`recovery: ${reasonOf(e)}`).catch(() => {});
        }
      }
    }

    if (o.resume) settle('after recovery');
    const counts0 = journal.counts();
    emit({ type: 'start', total: counts0.total, done: counts0.issued + counts0.rejected, stations: names });

    const keysUsed = keysOf(batch.manifest);
    const reservationOf = (script: CardScript, station: string, chip: string): CardReservation => reservationFor(batch.manifest, batch.id, script, chip, station, keysUsed);
    /** Records whose holder's card is being written elsewhere: pending, not claimed again in this run. */
    const heldBack = new Set<string>();
    /** The registry refused the record before anything was written: the record ends, the card (if any) stays for the next one. */
    const registryRefused = (st: Station, claim: Claim, e: RegistryConflictError): void => {
      const reason = `registry: ${e.message}`;
      if (e.conflict === 'holder-in-progress') {
        // That card may still fail: decide when it is settled (a later run).
        heldBack.add(claim.recordId);
        journal.release(claim, reason);
        audit('card-released', claim.recordId, { station: st.name, reason });
        emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'released', reason });
        return;
      }
      const holder = e.conflict === 'holder-live';
      // A cardholder with a card is a final no; a record the registry has a card for needs an operator's look.
      if (holder) journal.rejectCard(claim, reason, { retry: false });
      else journal.markReview(claim, reason);
      audit(holder ? 'card-rejected' : 'record-review', claim.recordId, { station: st.name, reason, final: true });
      emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: holder ? 'rejected' : 'review', reason });
    };

    // 3. The stations. A key fault stops them all (halt): every card would refuse the same key.
    let halt: RunResult['keyFault'];
    // Issued cards prove the batch keys: after one, a card that refuses them is that card's fault.
    let keyProven = counts0.issued > 0;
    const stopForKeyFault = async (st: Station, claim: Claim, chip: string, e: StepError): Promise<'stop'> => {
      if (!halt) {
        const key = nameKey(e, batch.manifest);
        halt = { ...key, message: keyFaultMessage(e, key) };
        audit('key-fault', undefined, { station: st.name, key: key.text, side: e.keyFault!.side, ...(key.label !== undefined ? { keyLabel: key.label } : {}), ...(key.version !== undefined ? { keyVersion: key.version } : {}), ...(key.kcv ? { kcv: key.kcv } : {}), ...(e.sw ? { sw: e.sw } : {}) });
        emit({ type: 'message', level: 'warn', text: halt.message });
        for (const other of o.stations) other.pause(halt.message);
      }
      const reason = `key fault: ${reasonOf(e)}`;
      try {
        journal.release(claim, reason);
      } catch (je) {
        if (!(je instanceof StaleClaimError)) throw je;
      }
      registry?.void(batch.id, claim.recordId, chip, reason);
      audit('card-released', claim.recordId, { station: st.name, chip, reason });
      emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'released', reason });
      await st.rejectCard(`key fault: ${halt.text}`).catch(() => {});
      st.pause(halt.message);
      return 'stop';
    };
    const runStation = async (st: Station): Promise<void> => {
      for (;;) {
        // A macrotask turn per card: with zero-latency stations the loop never leaves the microtask
        // queue otherwise, and SIGINT / SIGTERM handlers would wait for the end of the batch.
        await new Promise((r) => setImmediate(r));
        if (st.paused || o.signal?.aborted || halt) break;
        const claim = journal.claimNext(st.name, { skip: heldBack });
        if (!claim) break;
        audit('card-claimed', claim.recordId, { station: st.name });
        drawAhead(claim.recordId);
        const outcome = await oneCard(st, claim);
        faces?.drop(claim.recordId);
        if (outcome === 'stop') break;
      }
    };
    const oneCard = async (st: Station, claim: Claim): Promise<'next' | 'stop'> => {
      const script = batch.scripts.get(claim.recordId)!;
      // Before a card is loaded: a record or cardholder the registry already gave a card gets none.
      if (registry) {
        try {
          registry.check(reservationOf(script, st.name, ''));
        } catch (e) {
          if (!(e instanceof RegistryConflictError)) throw e;
          registryRefused(st, claim, e);
          return 'next';
        }
      }
      // Before a card is loaded: the blobs its script names must check, else no card is spent on it.
      const bad = blobProblem(script, batch.blobs);
      if (bad !== undefined) {
        const reason = `bad batch: ${bad}`;
        journal.rejectCard(claim, reason, { retry: false });
        audit('card-rejected', claim.recordId, { station: st.name, reason, final: true });
        emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'rejected', reason });
        return 'next';
      }
      let card = st.card;
      if (!card) {
        try {
          card = await st.loadCard(o.signal);
        } catch (e) {
          const reason = reasonOf(e);
          if (faultOf(e) === 'pause' || st.paused || o.signal?.aborted) {
            journal.release(claim, reason);
            audit('card-released', claim.recordId, { station: st.name, reason });
            emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'released', reason });
            return 'stop';
          }
          const state = journal.rejectCard(claim, reason);
          audit('card-rejected', claim.recordId, { station: st.name, reason, final: state !== 'pending' });
          emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: state === 'pending' ? 'retry' : 'rejected', reason });
          await st.rejectCard(reason).catch((x: unknown) => st.pause(reasonOf(x)));
          return 'next';
        }
      }
      if (!card.chipSerial) {
        journal.release(claim, 'the encoder cannot read a chip serial of this card');
        audit('card-released', claim.recordId, { station: st.name, reason: 'the encoder cannot read a chip serial of this card' });
        st.fault('no chip serial: configure how the station reads the chip serial of these cards');
        return 'stop';
      }
      const chip = card.chipSerial;
      try {
        journal.setChip(claim, chip);
        audit('card-loaded', claim.recordId, { station: st.name, chip });
      } catch (e) {
        if (e instanceof StaleClaimError) return 'stop';
        const reason = e instanceof DoubleIssueError ? `chip ${chip} already carries an issued record; card not written` : reasonOf(e);
        const state = journal.rejectCard(claim, reason);
        audit('card-rejected', claim.recordId, { station: st.name, chip, reason, final: state !== 'pending' });
        emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: state === 'pending' ? 'retry' : 'rejected', reason });
        await st.rejectCard(reason).catch((x: unknown) => st.pause(reasonOf(x)));
        return 'next';
      }
      // Before the first write to the chip: the registry holds the card as being written.
      if (registry) {
        try {
          registry.reserve(reservationOf(script, st.name, chip));
        } catch (e) {
          if (!(e instanceof RegistryConflictError)) throw e;
          if (e.conflict === 'chip-known') {
            // A card the registry knows (issued elsewhere): it must not be written; the record takes another card.
            const reason = `registry: ${e.message}; card not written`;
            const state = journal.rejectCard(claim, reason);
            audit('card-rejected', claim.recordId, { station: st.name, chip, reason, final: state !== 'pending' });
            emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: state === 'pending' ? 'retry' : 'rejected', reason });
            await st.rejectCard(reason).catch((x: unknown) => st.pause(reasonOf(x)));
            return 'next';
          }
          // The card is still blank: it stays in the encoder for the next record.
          registryRefused(st, claim, e);
          return 'next';
        }
      }
      let result;
      try {
        result = await executeScript(card.transport, script, exec);
      } catch (e) {
        // A key fault stops every station, until an issued card has proven the batch keys: after
        // that, a card that refuses them is that card's fault and is rejected like any other.
        if (faultOf(e) === 'stop' && e instanceof StepError && !keyProven) return stopForKeyFault(st, claim, chip, e);
        const reason = reasonOf(e);
        const retry = e instanceof StepError ? e.cardFault : true;
        let state: 'pending' | 'rejected';
        try {
          state = journal.rejectCard(claim, reason, { retry });
        } catch (je) {
          if (je instanceof StaleClaimError) return 'stop';
          throw je;
        }
        registry?.void(batch.id, claim.recordId, chip, reason);
        audit('card-rejected', claim.recordId, { station: st.name, chip, reason, final: state !== 'pending' });
        emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: state === 'pending' ? 'retry' : 'rejected', reason });
        try {
          await st.rejectCard(reason);
        } catch (x) {
          st.pause(reasonOf(x));
        }
        if (faultOf(e) === 'pause' && !st.paused) st.fault(reason);
        return st.paused ? 'stop' : 'next';
      }
      if (registry) {
        try {
          registry.issue(batch.id, claim.recordId, chip);
        } catch (e) {
          // Another station issued the holder a card meanwhile: this one must not leave the printer.
          const reason = `registry: ${e instanceof Error ? e.message : String(e)}; the written card goes to the reject box`;
          journal.markReview(claim, reason);
          registry.void(batch.id, claim.recordId, chip, reason);
          audit('card-rejected', claim.recordId, { station: st.name, chip, reason, final: true });
          emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'rejected', reason });
          await st.rejectCard(reason).catch((x: unknown) => st.pause(reasonOf(x)));
          return 'next';
        }
      }
      keyProven = true;
      journal.issue(claim, { verification: { ok: true, checks: result.checks, ...(Object.keys(result.kcvs).length ? { kcvs: result.kcvs } : {}) } });
      audit('card-issued', claim.recordId, { station: st.name, chip, checks: result.checks, ...Object.fromEntries(Object.entries(result.kcvs).map(([k, v]) => [`kcv.${k}`, v])) });
      emit({ type: 'card', station: st.name, recordId: claim.recordId, outcome: 'issued' });
      try {
        await st.acceptCard(await faceOf(claim.recordId), o.signal);
      } catch (e) {
        // Issued and verified; the eject failed (jam at the exit): the card is in the printer, the station paused.
        emit({ type: 'message', level: 'warn', text: `${st.name}: ${claim.recordId} is issued but the eject failed (${reasonOf(e)}): take the card out of the printer` });
        if (!st.paused) st.pause(reasonOf(e));
        return 'stop';
      }
      return 'next';
    };
    await Promise.all(o.stations.map((st) => runStation(st)));
    // A station that was loading when the fault came may have left 'paused' for 'encoding'.
    if (halt) for (const st of o.stations) if (!st.paused) st.pause(halt.message);
    for (const st of o.stations) if (st.paused) paused.push({ station: st.name, reason: st.pausedReason ?? '' });
    emit({ type: 'end' });
    const counts = journal.counts();
    audit('run-end', undefined, { issued: counts.issued, rejected: counts.rejected, pending: counts.pending, inProgress: counts.inProgress, review: counts.review, paused: paused.map((p) => p.station).join(',') });
    const left = counts.pending + counts.inProgress;
    const stopped = left > 0 && !!o.signal?.aborted;
    const held = heldBack.size ? `${heldBack.size} held back: the cardholder's card is being written in another batch; run again when that batch is done` : '';
    const why = halt
      ? `all stations paused: ${halt.message}`
      : stopped
        ? 'the cards in the encoders were finished; run again to go on'
        : paused.length
          ? `stations paused: ${paused.map((p) => `${p.station}: ${p.reason}`).join('; ')}; fix and run again with --resume`
          : held || 'stopped; run again with --resume';
    const message = (stopped ? `stopped${typeof o.signal?.reason === 'string' ? ` (${o.signal.reason})` : ''}: ` : '') + `${counts.issued} issued, ${counts.rejected} rejected` + (counts.review ? `, ${counts.review} for review` : '') + (left ? `, ${left} not done (${why})` : '') + ` of ${counts.total}`;
    return { kind: 'done', message, counts, paused, recovered, ...(halt ? { keyFault: halt } : {}), ...(stopped ? { stopped } : {}) };
  } finally {
    try {
      await faces?.close();
    } finally {
      batch.blobs?.close();
      journal.close();
      lock.release();
    }
  }
}

/** Why the blobs a script's steps name cannot be used (no pack, or bytes that do not check), or undefined. */
function blobProblem(script: CardScript, pack: BlobPack | undefined): string | undefined {
  const refs = scriptBlobs(script);
  if (refs.length === 0) return undefined;
  if (!pack) return `the script names ${refs.length} blob(s) of blobs.pack, but the batch has none`;
  try {
    for (const r of refs) pack.verify(r);
  } catch (e) {
    if (e instanceof BatchInputError) return e.message;
    throw e;
  }
  return undefined;
}

/**
 * A script's face for the face pool (faces/ reads no batch files but photos by name): each photo
 * kept in blobs.pack as its bytes. A photo the pack cannot give (changed bytes) is a warning and
 * an empty photo box with `warn`, as a missing photo file is; without `warn` it throws.
 */
export function withPhotos(face: NonNullable<CardScript['face']>, blobs: BlobPack | undefined, warn?: (text: string) => void): ScriptFace {
  if (!face.fields.some((f) => f.kind === 'photo' && f.blob)) return face;
  const fields = face.fields.map((f, i): ScriptFace['fields'][number] => {
    const { blob, ...field } = f;
    if (f.kind !== 'photo' || !blob) return field;
    try {
      if (!blobs) throw new BatchInputError('the photo is in blobs.pack, but the batch has none');
      return { ...field, value: blobs.read(blob) };
    } catch (e) {
      if (!warn || !(e instanceof BatchInputError)) throw e;
      warn(`fields[${i}] (photo ${f.value}): ${e.message}`);
      return { ...field, value: '' };
    }
  });
  return { ...face, fields };
}
