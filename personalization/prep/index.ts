// Data preparation (docs/prep.md): streams a checked batch through a loaded
// profile and writes a batch folder (personalization/script.ts): manifest.json + cards.jsonl,
// one CardScript per accepted record, sealed (personalization/sealed.ts) and built beside --out
// before it is renamed into place (./output.ts). The records are read and checked here and go in
// chunks to the card builders (./workers.ts: threads, each with the profile's compiled script,
// ./card.ts); the lines come back in order to one writer (./writer.ts). Memory stays constant: a
// few chunks in flight, nothing per card kept. Secrets (transport key, prep-time card keys, PINs)
// leave this module only sealed under the batch transport key, bound to the record id.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { wipe, xor } from '../../bytes/index.js';
import { writePrivateFileSync } from '../../files/private.js';
import type { KeyRef, KeyStore } from '../../keys/types.js';
import type { Profile } from '../../profiles/types.js';
import { readBatch, todayUtc } from '../batch/check.js';
import { csvCell } from '../batch/csv.js';
import type { Reject } from '../batch/errors.js';
import { FONTS_DIR, MANIFEST_FORMAT, type BatchManifest, type SealedKey } from '../script.js';
import type { SerialRegistry } from '../serials/registry.js';
import { holderHasher, type IssuanceRegistry } from '../registry/index.js';
import { replacementOf } from '../batch/replacement.js';
import { CARD_DIGESTS_FILE, CARDS_FILE, manifestMac, REJECTS_FILE, writeManifestFile } from '../sealed.js';
import { InputFiles, versionIn, type CardJob, type CardLine, type PrepPlan } from './card.js';
import { PrepError, writeError } from './errors.js';
import { copyFonts } from './fonts.js';
import { OutputFolder } from './output.js';
import { inlineBuilders, workerBuilders, type CardBuilders } from './workers.js';
import { CardsWriter } from './writer.js';

export { PrepError } from './errors.js';
export { sealNonce } from './card.js';

/** Records per message to a card builder thread: enough to make the message cost small per card. */
const CHUNK = 64;

/** The default number of card builder threads: one per core, at most 8. */
export function defaultPrepWorkers(): number {
  return Math.min(8, availableParallelism());
}

/**
 * The card builders: `workers` threads (default one per core) when the store lends the keys a
 * card needs, else prep's own thread (a PKCS#11 store keeps them in the token).
 */
async function cardBuilders(plan: PrepPlan, store: KeyStore, workers = defaultPrepWorkers()): Promise<CardBuilders> {
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`prep: workers: expected an integer ≥ 0, got ${String(workers)}`);
  // Compiled here first: a profile whose script cannot be built fails the same with or without threads.
  const inline = inlineBuilders(plan, store);
  if (workers === 0 || !store.lend) return inline;
  const masters = plan.profile.keys.filter((k) => k.derive.phase === 'prep').map((k) => k.derive.master.label);
  const refs: Required<KeyRef>[] = [plan.sealKey, ...[...new Set(masters)].map((label) => ({ label, version: plan.versions.find(([l]) => l === label)?.[1] ?? 0 }))];
  const lent = await store.lend(refs);
  if (!lent) return inline;
  try {
    return workerBuilders(plan, lent, workers);
  } finally {
    for (const k of lent) wipe(k.value); // the workers got copies
  }
}

export interface PrepOptions {
  profile: Profile;
  /** How the profile is named in the manifest (as given on the command line). */
  profileFile: string;
  input: string;
  store: KeyStore;
  out: string;
  /** Seeds the random PINs: same inputs + seed ⇒ the same PINs and scripts. */
  seed?: number;
  skipInvalid?: boolean;
  /** ISO 8601; default now. Tests pass a fixed value. */
  createdAt?: string;
  /** The prep date YYYYMMDD (dates on the card, `past` checks); default createdAt's date. */
  today?: string;
  /** Label of the batch transport (seal) key in the store; default `batch-transport`. */
  sealKey?: string;
  /** First value of the `card` serial counter (default: the profile's, else 1). */
  serialStart?: number;
  /**
   * Takes every serial counter from this registry (cardsmith prep --serials), continuing from the
   * last batch of the same profile; the allocation is committed just before the manifest is
   * written, and given back when the run fails or the batch is invalid.
   */
  serials?: SerialRegistry;
  /**
   * The bureau's issuance registry: its counters give the card numbers (unless `serials` is given),
   * a cardholder who already has a live card of the product is rejected unless the record is a
   * replacement, and every script carries the keyed hash of its holder for the runner's checks.
   */
  registry?: IssuanceRegistry;
  /** Label of the key that keys the registry's hashes of cardholder IDs (default issuance-registry). */
  holderKey?: string;
  /**
   * Threads that build the cards' scripts (default: one per core, at most 8); 0 builds them on
   * the calling thread. The output is the same whatever the number.
   */
  workers?: number;
  onProgress?(p: PrepProgress): void;
}

export interface PrepProgress {
  records: number;
  cards: number;
  rejected: number;
}

export interface PrepResult {
  /** False when the batch had rejects and skipInvalid was not set, or no record was valid: no cards were written. */
  ok: boolean;
  manifest?: BatchManifest;
  rejects: Reject[];
  rejectsFile?: string;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const CSV_COLUMNS = ['line', 'column', 'field', 'code', 'problem', 'hint', 'masked'] as const;

export async function prepBatch(o: PrepOptions): Promise<PrepResult> {
  const starts: Record<string, number> = { card: o.serialStart ?? o.profile.serials['card']?.start ?? 1 };
  for (const [name, spec] of Object.entries(o.profile.serials)) if (name !== 'card') starts[name] = spec.start;
  const output = await OutputFolder.open(resolve(o.out));
  // Numbers are recorded just before the manifest is written; a failed or invalid run records none.
  const serials = o.serials ?? o.registry?.serials;
  const allocation = serials?.allocate(o.profile.name, starts);
  try {
    return await prepWith(o, allocation?.first ?? starts, (cards, out) => allocation?.commit(cards, out), output);
  } catch (e) {
    // Name the files where the user asked for them, not in the staging folder (it is gone).
    if (e instanceof PrepError) e.message = e.message.replaceAll(output.dir, output.target);
    throw e;
  } finally {
    allocation?.abort(); // a no-op once committed
    await output.discard();
  }
}

/** prepBatch with the serial counters' first values decided; `commit` runs just before the manifest is written. */
async function prepWith(o: PrepOptions, first: Readonly<Record<string, number>>, commit: (cards: number, out: string) => void, output: OutputFolder): Promise<PrepResult> {
  const { profile, store } = o;
  const createdAt = o.createdAt ?? new Date().toISOString();
  const today = o.today ?? createdAt.slice(0, 10).replaceAll('-', '') ?? todayUtc();
  const seed = o.seed ?? 0;
  const sealRef = { label: o.sealKey ?? 'batch-transport' };
  const sealInfo = await store.info(sealRef);
  if (!sealInfo.usage.includes('seal')) throw new PrepError(`key ${sealInfo.label} v${sealInfo.version} is not a seal (batch transport) key`);
  if (!sealInfo.usage.includes('mac')) {
    throw new PrepError(
      `key ${sealInfo.label} v${sealInfo.version} needs usage 'mac' as well as 'seal': random PINs are keyed with it, so that the seed in manifest.json alone cannot reproduce them (generate it with --usage seal,mac)`,
    );
  }
  const sealKey = { label: sealInfo.label, version: sealInfo.version };

  // Resolve every key-store reference once: the manifest records the versions used.
  const versions = new Map<string, number>();
  const manifestKeys: BatchManifest['keys'] = [];
  for (const ref of Object.values(profile.keyStore)) {
    const info = await store.info({ label: ref.label, ...(ref.version !== undefined ? { version: ref.version } : {}) });
    versions.set(ref.label, info.version);
    if (!manifestKeys.some((k) => k.label === info.label && k.version === info.version)) manifestKeys.push({ label: info.label, version: info.version, alg: info.alg, kcv: info.kcv });
  }

  // The card transport key goes into every script sealed, so its value is needed once here —
  // unless the store keeps it (created non-exportable, as on an HSM): then the scripts name it
  // and the runner has the store compute the EXTERNAL AUTHENTICATE cryptogram.
  const tRef = { label: profile.transport.key.label, version: versionIn(versions, profile.transport.key.label) };
  const tInfo = await store.info(tRef);
  if (tInfo.alg === 'sm2') throw new PrepError(`transport key ${tInfo.label} must be a symmetric key`);
  const tAlg: SealedKey['alg'] = tInfo.alg;
  let transportValue: Uint8Array | undefined;
  if (tInfo.exportable) {
    const exported = await store.exportComponents(tRef, 2);
    transportValue = xor(exported.components[0]!, exported.components[1]!);
    wipe(...exported.components);
  } else if (profile.cos !== 'sscard') {
    throw new PrepError(
      `transport key ${tInfo.label} v${tInfo.version} is not exportable, and a GlobalPlatform secure channel derives its session keys on the host from the key's value; use an exportable transport key set for ${profile.name}`,
    );
  }

  // PINs are reproducible from the seed, but only with the key store: the PIN key is a MAC under
  // the batch transport key, so the seed in manifest.json alone does not reveal any PIN.
  const pinKey = await store.mac(sealRef, new TextEncoder().encode(`cardsmith/prep/pin\0${seed}`));
  const idKey = await store.mac(sealRef, new TextEncoder().encode(`cardsmith/record-id\0${profile.name}`));
  const plan: PrepPlan = {
    profile,
    today,
    first: { ...first },
    sealKey,
    transport: transportValue ? { value: transportValue, alg: tAlg, kcv: tInfo.kcv } : { stored: { label: tInfo.label, version: tInfo.version }, alg: tAlg, kcv: tInfo.kcv },
    versions: [...versions],
    pinKey,
    idKey,
    inputDir: dirname(resolve(o.input)),
    // The card number the registry records: the profile's value named cardNumber, when it has one.
    numbered: profile.values.some((v) => v.name === 'cardNumber'),
  };

  // The registry's view of each cardholder: the keyed hash of the ID, refused when the holder has a live card.
  const hashHolder = o.registry && profile.record.key !== undefined ? await holderHasher(store, o.registry, o.holderKey) : undefined;
  const issuanceOf = async (record: Record<string, string>, line: number): Promise<CardJob['issuance'] | { reject: Reject }> => {
    const replacement = replacementOf(record);
    const rep = typeof replacement === 'object' ? { replacement } : {};
    if (!hashHolder) return rep;
    const holder = await hashHolder(record[profile.record.key!]!);
    const live = o.registry!.liveCardOf(profile.name, holder);
    if (live && (live.state === 'reserved' || !rep.replacement)) {
      const what = live.state === 'reserved' ? `has a card of ${profile.name} being written (batch ${live.batch})` : `already has a live card of ${profile.name} (card number ${live.cardNumber ?? 'none'}, batch ${live.batch}, issued ${live.issuedAt})`;
      return { reject: { line, field: profile.record.key!, code: 'already-issued', problem: `the cardholder ${what}`, hint: live.state === 'reserved' ? 'wait for that card, then prepare a replacement if one is needed' : 'to issue another card, fill the columns replacement and replacementReason' } };
    }
    return { holder, ...rep };
  };

  const out = output.dir;
  const cardsPath = join(out, CARDS_FILE);
  const tmpCards = join(out, '.cards.jsonl.partial');
  const writer = new CardsWriter(out, tmpCards, cardsPath);
  let builders: CardBuilders | undefined;
  const rejects: Reject[] = [];
  const progress: PrepProgress = { records: 0, cards: 0, rejected: 0 };
  let writing = true;
  let blobs: BatchManifest['files']['blobs'];
  let failed = true;
  // Chunks of jobs in flight, oldest first; their lines are written in this order.
  const inFlight: Promise<CardLine[]>[] = [];
  let maxInFlight = 2;
  let chunk: CardJob[] = [];
  let accepted = 0;
  // The files a record names (its photo) go into the pack here, in record order, before its card
  // is built: a builder then names them by offset and hands back a finished line.
  const fileFields = profile.record.fields.filter((f) => f.type === 'file').map((f) => f.name);
  const inputFiles = new InputFiles(plan.inputDir);
  const placeFiles = (record: Record<string, string>, line: number): CardJob['files'] => {
    let files: CardJob['files'];
    for (const field of fileFields) {
      const path = record[field];
      if (!path || files?.[path]) continue;
      const bytes = inputFiles.read(path, line);
      (files ??= {})[path] = { bytes, ref: writer.place(bytes) };
    }
    return files;
  };
  const writeOldest = async (): Promise<void> => {
    for (const line of await inFlight.shift()!) {
      writer.write(line);
      progress.cards++;
      o.onProgress?.(progress);
    }
  };
  const send = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const built = builders!.build(chunk);
    built.catch(() => undefined); // awaited in order by writeOldest; a failure must not surface as "unhandled" first
    inFlight.push(built);
    chunk = [];
    while (inFlight.length > maxInFlight) await writeOldest();
  };
  try {
    try {
      builders = await cardBuilders(plan, store, o.workers);
      maxInFlight = Math.max(2, 2 * builders.threads);
      for await (const item of readBatch(profile, o.input, { today, display: o.input })) {
        progress.records++;
        if (!item.ok) {
          progress.rejected++;
          rejects.push(...item.rejects);
          if (!o.skipInvalid) writing = false;
          o.onProgress?.(progress);
          continue;
        }
        // Checked for every record, so that the rejects list all the cardholders who already have a card.
        const issuance = await issuanceOf(item.record, item.line);
        if ('reject' in issuance) {
          progress.rejected++;
          rejects.push(issuance.reject);
          if (!o.skipInvalid) writing = false;
          o.onProgress?.(progress);
          continue;
        }
        if (!writing) continue;
        chunk.push({ line: item.line, index: accepted++, record: item.record, issuance, files: placeFiles(item.record, item.line) });
        if (chunk.length >= CHUNK) await send();
      }
      if (writing) {
        await send();
        while (inFlight.length > 0) await writeOldest();
      }
      failed = false;
    } finally {
      inFlight.length = 0;
      await builders?.close();
      blobs = writer.end(failed);
    }
  } finally {
    if (transportValue) wipe(transportValue);
    wipe(pinKey, idKey);
  }

  if (progress.cards === 0) writing = false; // every record rejected (--skip-invalid): nothing to run
  // A failed write (a full disk) says which file; the staging folder goes with it (prepBatch).
  const step = async (file: string, write: () => Promise<void>): Promise<void> => {
    try {
      await write();
    } catch (e) {
      throw writeError(e, file);
    }
  };
  let rejectsFile: string | undefined;
  let rejectsText: string | undefined;
  if (rejects.length > 0) {
    rejectsFile = join(output.target, REJECTS_FILE);
    const text = [CSV_COLUMNS.join(','), ...rejects.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
    rejectsText = text;
    await step(join(out, REJECTS_FILE), async () => writePrivateFileSync(join(out, REJECTS_FILE), text));
  }
  if (!writing) {
    // An invalid batch produces the rejects report and nothing else.
    await output.publish([REJECTS_FILE]);
    return { ok: false, rejects, ...(rejectsFile ? { rejectsFile } : {}) };
  }
  await rename(tmpCards, cardsPath);
  // The faces' fonts travel in the batch: the runner does not read the profile.
  const fonts = profile.face ? copyFonts(profile.face.fonts ?? [], join(out, FONTS_DIR)) : undefined;
  // The numbers are recorded as used before the batch becomes runnable (its manifest appears):
  // a crash in between leaves a visible gap in the registry, never a repeat.
  commit(progress.cards, output.target);
  const manifest: Omit<BatchManifest, 'mac'> = {
    format: MANIFEST_FORMAT,
    profile: { name: profile.name, file: o.profileFile, sha256: profile.hash, revision: profile.revision },
    input: { file: o.input, sha256: await sha256File(o.input), records: progress.records, rejected: progress.rejected },
    cards: progress.cards,
    transportKey: { label: sealKey.label, version: sealKey.version, kcv: sealInfo.kcv },
    keys: manifestKeys,
    seed,
    createdAt,
    serials: { first: { ...first }, ...(o.serials ?? o.registry ? { registry: (o.serials ?? o.registry)!.path } : {}) },
    files: {
      cards: { file: CARDS_FILE, lines: writer.digests.lines, root: writer.digests.root(), digests: CARD_DIGESTS_FILE },
      // Photos and other big data are in the pack (blobs); input-files/ is what earlier versions wrote.
      inputFiles: [],
      ...(blobs ? { blobs } : {}),
      ...(fonts ? { fonts } : {}),
      ...(rejectsText !== undefined ? { rejects: { file: REJECTS_FILE, sha256: createHash('sha256').update(rejectsText).digest('hex') } } : {}),
    },
  };
  const sealed: BatchManifest = { ...manifest, mac: await manifestMac(store, manifest) };
  await step(join(out, 'manifest.json'), async () => writeManifestFile(out, sealed));
  await output.publish();
  return { ok: true, manifest: sealed, rejects, ...(rejectsFile ? { rejectsFile } : {}) };
}
