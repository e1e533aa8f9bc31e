// Data preparation (docs/prep.md): streams a checked batch through a loaded
// profile and writes a batch folder (personalization/script.ts): manifest.json + cards.jsonl,
// one CardScript per accepted record, sealed (personalization/sealed.ts) and built beside --out
// before it is renamed into place (./output.ts). Memory stays constant: one record at a time,
// written with back-pressure. Secrets (transport key, prep-time card keys, PINs) leave this
// module only sealed under the batch transport key, bound to the record id.
import { createHash, createHmac } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { clip, concat, wipe, xor } from '../../bytes/index.js';
import { writePrivateFileSync } from '../../files/private.js';
import type { KeyProvider, KeyRef, KeyStore } from '../../keys/types.js';
import { createCardEvaluator, type CardEvaluator } from '../../profiles/index.js';
import type { CardKeySpec, PinSpec, Profile } from '../../profiles/types.js';
import { readBatch, todayUtc } from '../batch/check.js';
import { csvCell } from '../batch/csv.js';
import type { Reject } from '../batch/errors.js';
import { realInside } from '../batch/fields.js';
import { FONTS_DIR, INPUT_FILES_DIR, MANIFEST_FORMAT, SCRIPT_FORMAT, type BatchManifest, type CardScript, type Sealed, type SealedKey, type StoredKey } from '../script.js';
import type { SerialRegistry } from '../serials/registry.js';
import { holderHasher, type IssuanceRegistry } from '../registry/index.js';
import { replacementOf } from '../batch/replacement.js';
import { CARD_DIGESTS_FILE, CardDigests, CARDS_FILE, inputFileDigests, manifestMac, REJECTS_FILE, writeManifestFile } from '../sealed.js';
import { PrepError, writeError } from './errors.js';
import { copyFonts } from './fonts.js';
import { OutputFolder } from './output.js';
import { gpScript } from './gp.js';
import type { RunContext } from './runparts.js';
import { ssCardScript } from './sscard.js';

export { PrepError } from './errors.js';

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

/** Deterministic PIN digits from a key-store-bound seed key (HMAC-SHA256 stream, rejection sampling keeps them uniform). */
function seededPin(seedKey: Uint8Array, recordId: string, pin: PinSpec): string {
  const len = pin.maxLength;
  let out = '';
  for (let block = 0; out.length < len; block++) {
    const mac = createHmac('sha256', seedKey).update(`${recordId}\0${pin.owner}/${pin.name}\0${block}`).digest();
    for (const b of mac) if (b < 250 && out.length < len) out += String(b % 10);
  }
  return out;
}

const NONCE_LABEL = new TextEncoder().encode('cardsmith/prep/nonce');

/**
 * The GCM nonce of a prep-time seal, SIV-style (docs/prep.md "Determinism"): the first 12 bytes of
 * the seal key's CMAC over "cardsmith/prep/nonce" ‖ len(context) (4 bytes, big-endian) ‖ context ‖
 * secret. The length prefix keeps (context, secret) pairs apart, so equal nonces mean equal
 * (context, secret) (up to a MAC collision) and a nonce is never reused for another message.
 */
export async function sealNonce(store: KeyProvider, sealKey: KeyRef, context: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, context.length);
  const input = concat(NONCE_LABEL, len, context, secret);
  try {
    return (await store.mac(sealKey, input)).slice(0, 12);
  } finally {
    wipe(input);
  }
}

/** `done` settles when the stream ends or fails: a write error (a full disk) must not leave this waiting for 'drain'. */
/**
 * A file written line by line with back-pressure. A write error (a full disk) becomes the PrepError
 * naming `shown`, and ends `done` instead of leaving a `drain` wait that never returns.
 */
class LineFile {
  readonly done: Promise<void>;
  readonly #stream: WriteStream;

  constructor(path: string, shown: string) {
    this.#stream = createWriteStream(path, { mode: 0o600 });
    this.done = new Promise<void>((ok, fail) => {
      this.#stream.on('finish', ok);
      this.#stream.on('error', (e) => fail(writeError(e, shown)));
    });
    void this.done.catch(() => undefined); // awaited by the caller; an early error must not end the process as "unhandled"
  }

  async write(line: string): Promise<void> {
    if (!this.#stream.write(line)) await Promise.race([new Promise<void>((ok) => this.#stream.once('drain', ok)), this.done]);
  }

  /** Ends the file; resolves when it is written (rejects with the write error). */
  end(): Promise<void> {
    if (!this.#stream.writableEnded) this.#stream.end();
    return this.done;
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A keyed hash of the record key, not the key itself nor a plain hash of it: the record id goes
 * into logs, the journal and the registry, and a citizen ID has few enough possible values to be
 * found again from an unkeyed hash. `idKey` is a MAC under the batch transport key (one key-store
 * call per batch, as for the PINs).
 */
function recordIdOf(idKey: Uint8Array, profile: Profile, record: Record<string, string>, line: number): string {
  const key = profile.record.key !== undefined ? record[profile.record.key] : undefined;
  if (!key) return `line-${line}`;
  return createHmac('sha256', idKey).update(key).digest('hex').slice(0, 32);
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
  const versionOf = (label: string): number => {
    const v = versions.get(label);
    if (v === undefined) throw new PrepError(`key ${label} is not in the profile's keyStore`);
    return v;
  };

  // The card transport key goes into every script sealed, so its value is needed once here —
  // unless the store keeps it (created non-exportable, as on an HSM): then the scripts name it
  // and the runner has the store compute the EXTERNAL AUTHENTICATE cryptogram.
  const tRef = { label: profile.transport.key.label, version: versionOf(profile.transport.key.label) };
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

  const cardKeys: CardKeySpec[] = profile.keys;
  const keysByName = new Map(cardKeys.map((k) => [k.name, k]));
  const prepKeySpecs = cardKeys.filter((k) => k.derive.phase === 'prep');
  // PINs are reproducible from the seed, but only with the key store: the PIN key is a MAC under
  // the batch transport key, so the seed in manifest.json alone does not reveal any PIN.
  const seedKey = await store.mac(sealRef, new TextEncoder().encode(`cardsmith/prep/pin\0${seed}`));
  const idKey = await store.mac(sealRef, new TextEncoder().encode(`cardsmith/record-id\0${profile.name}`));
  // The card number the registry records: the profile's value named cardNumber, when it has one.
  const numbered = profile.values.some((v) => v.name === 'cardNumber');

  // The registry's view of each cardholder: the keyed hash of the ID, refused when the holder has a live card.
  const hashHolder = o.registry && profile.record.key !== undefined ? await holderHasher(store, o.registry, o.holderKey) : undefined;
  const issuanceOf = async (record: Record<string, string>, line: number): Promise<{ holder?: string; replacement?: { kind: string; reason: string } } | { reject: Reject }> => {
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
  const cardsPath = join(out, 'cards.jsonl');
  const tmpCards = join(out, '.cards.jsonl.partial');
  const tmpPhotos = join(out, `.${INPUT_FILES_DIR}.partial`);
  const madeDirs = new Set<string>();
  const cardsFile = new LineFile(tmpCards, cardsPath);
  // cards.sha256 is written as the cards are: nothing per card stays in memory.
  const digestsFile = new LineFile(join(out, CARD_DIGESTS_FILE), join(out, CARD_DIGESTS_FILE));
  const rejects: Reject[] = [];
  const digests = new CardDigests();
  const progress: PrepProgress = { records: 0, cards: 0, rejected: 0 };
  const batchDir = dirname(resolve(o.input));
  let writing = true;
  try {
    for await (const item of readBatch(profile, o.input, { today, display: o.input })) {
      progress.records++;
      if (!item.ok) {
        progress.rejected++;
        rejects.push(...item.rejects);
        if (!o.skipInvalid) writing = false;
        o.onProgress?.(progress);
        continue;
      }
      const record = item.record;
      // Checked for every record, so that the rejects list all the cardholders who already have a card.
      const issuance = await issuanceOf(record, item.line);
      if ('reject' in issuance) {
        progress.rejected++;
        rejects.push(issuance.reject);
        if (!o.skipInvalid) writing = false;
        o.onProgress?.(progress);
        continue;
      }
      if (!writing) continue;
      const recordId = recordIdOf(idKey, profile, record, item.line);
      const context = new TextEncoder().encode(recordId);
      const seal = async (secret: Uint8Array, kcv?: string): Promise<Sealed> => ({
        sealed: Buffer.from(await store.seal(sealKey, secret, context, { nonce: await sealNonce(store, sealKey, context, secret) })).toString('base64'),
        ...(kcv ? { kcv } : {}),
      });
      const serial = first['card']! + progress.cards;
      // Files the record names (its photo), read once: for the card's APDUs and the batch's copy.
      const files = new Map<string, Uint8Array>();
      const readFile = (_field: string, path: string): Uint8Array => {
        let bytes = files.get(path);
        if (!bytes) {
          const real = realInside(batchDir, path);
          if (real === undefined) throw new PrepError(`line ${item.line}: file ${clip(path)} is no longer inside the batch input folder`);
          files.set(path, (bytes = new Uint8Array(readFileSync(real))));
        }
        return bytes;
      };
      const ev: CardEvaluator = createCardEvaluator(profile, { record, today, serials: { card: serial }, readFile });
      const env = {
        record,
        params: profile.parameters,
        today,
        fileFields: new Set(profile.record.fields.filter((f) => f.type === 'file').map((f) => f.name)),
        serial: (name: string) => (first[name] ?? 1) + progress.cards,
        value: (name: string) => ev.value(name),
        readFile,
      };
      const run: RunContext = { profile, env, keys: keysByName, versionOf };

      // Prep-phase card keys: derived per card, grouped by master (one store lookup each).
      const prepKeys = new Map<string, { value: Uint8Array; kcv: string }>();
      const byMaster = new Map<string, CardKeySpec[]>();
      for (const k of prepKeySpecs) byMaster.set(k.derive.master.label, [...(byMaster.get(k.derive.master.label) ?? []), k]);
      for (const [label, specs] of byMaster) {
        const got = await store.deriveCardKeys(
          { label, version: versionOf(label) },
          specs.map((k) => ({ method: k.derive.method, data: concat(...k.derive.data.map((e) => bytesValue(ev.evaluate(e), k.name))), ...(k.derive.keyType ? { keyType: k.derive.keyType } : {}) })),
        );
        specs.forEach((k, i) => prepKeys.set(k.name, { value: got[i]!.value, kcv: got[i]!.kcv }));
      }
      const pins = new Map<string, string>();
      for (const p of profile.pins) {
        pins.set(p.name, p.initial.kind === 'record' ? record[p.initial.field] ?? '' : p.initial.kind === 'fixed' ? p.initial.value : seededPin(seedKey, recordId, p));
      }
      const transport: SealedKey | StoredKey = transportValue
        ? { ...(await seal(transportValue, tInfo.kcv)), alg: tAlg }
        : { stored: { label: tInfo.label, version: tInfo.version }, alg: tAlg, kcv: tInfo.kcv };
      const subject: Record<string, string> = {};
      for (const s of profile.pki?.subject ?? []) subject[s.type] = String(ev.evaluate(s.value));

      const body =
        profile.cos === 'sscard'
          ? await ssCardScript({ profile, ev, run, seal, transport, prepKeys, pins, subject })
          : await gpScript({ profile, ev, seal, transport: transport as SealedKey /* a stored one was refused above */, prepKeys, versionOf });
      for (const k of prepKeys.values()) wipe(k.value);
      const script: CardScript = {
        format: SCRIPT_FORMAT,
        recordId,
        line: item.line,
        interface: profile.interfaces[0] ?? 'contact',
        ...(issuance.holder || issuance.replacement ? { issuance: { ...issuance, ...(numbered ? { cardNumber: String(ev.value('cardNumber')) } : {}) } } : {}),
        steps: body.steps,
        verify: body.verify,
        ...(profile.face ? { face: faceOf(profile, ev, record) } : {}),
      };
      if (script.face) copyPhotos(script.face, readFile, tmpPhotos, madeDirs);
      const json = JSON.stringify(script);
      await digestsFile.write(`${digests.add(json)}\n`);
      await cardsFile.write(json + '\n');
      progress.cards++;
      o.onProgress?.(progress);
    }
  } catch (e) {
    // The staging folder goes with everything in it (prepBatch); the files only need closing.
    await cardsFile.end().catch(() => undefined);
    await digestsFile.end().catch(() => undefined);
    throw e;
  } finally {
    if (transportValue) wipe(transportValue);
    wipe(seedKey, idKey);
    await cardsFile.end();
    await digestsFile.end();
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
  await rename(tmpPhotos, join(out, INPUT_FILES_DIR)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e; // no card had a photo
  });
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
      cards: { file: CARDS_FILE, lines: digests.lines, root: digests.root(), digests: CARD_DIGESTS_FILE },
      inputFiles: inputFileDigests(join(out, INPUT_FILES_DIR)),
      ...(fonts ? { fonts } : {}),
      ...(rejectsText !== undefined ? { rejects: { file: REJECTS_FILE, sha256: createHash('sha256').update(rejectsText).digest('hex') } } : {}),
    },
  };
  const sealed: BatchManifest = { ...manifest, mac: await manifestMac(store, manifest) };
  await step(join(out, 'manifest.json'), async () => writeManifestFile(out, sealed));
  await output.publish();
  return { ok: true, manifest: sealed, rejects, ...(rejectsFile ? { rejectsFile } : {}) };
}

function bytesValue(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new PrepError(`key ${what}: derivation data must be bytes`);
}

/**
 * Copies the photos a card's face names into the batch folder (DIR/input-files/, under their
 * names relative to the batch input), so that a batch folder moved to the personalization
 * machine prints the very photo prep wrote to the chip, without the batch input.
 */
function copyPhotos(face: NonNullable<CardScript['face']>, readFile: (field: string, path: string) => Uint8Array, dir: string, made: Set<string>): void {
  for (const f of face.fields) {
    if (f.kind !== 'photo' || !f.value) continue;
    const to = resolve(dir, f.value);
    if (!to.startsWith(resolve(dir) + sep)) throw new PrepError(`photo ${f.value}: not a file name inside the batch input folder`);
    // Synchronous: a few KB into the page cache costs less than two trips through the thread pool.
    // The folder is new for every prep, so a file already there was copied by an earlier record.
    if (existsSync(to)) continue;
    const parent = dirname(to);
    const bytes = readFile('photo', f.value);
    try {
      if (!made.has(parent)) {
        mkdirSync(parent, { recursive: true, mode: 0o700 });
        made.add(parent);
      }
      writeFileSync(to, bytes, { mode: 0o600 });
    } catch (e) {
      throw writeError(e, to);
    }
  }
}

/** Profile faces are in millimetres (font sizes in points); scripts carry printer pixels at 300 dpi (script.ts `face`). */
const DPI = 300;
const mmToPx = (mm: number): number => Math.round((mm * DPI) / 25.4);
const ptToPx = (pt: number): number => Math.max(1, Math.round((pt * DPI) / 72));

function faceOf(profile: Profile, ev: CardEvaluator, record: Record<string, string>): NonNullable<CardScript['face']> {
  const face = profile.face!;
  const fields = [...face.front, ...face.back].map((f) =>
    f.kind === 'text'
      ? { kind: 'text' as const, x: mmToPx(f.x), y: mmToPx(f.y), size: ptToPx(f.fontSize), value: String(ev.evaluate(f.value)) }
      : { kind: 'photo' as const, x: mmToPx(f.x), y: mmToPx(f.y), size: mmToPx(f.height), value: record[f.field] ?? '' },
  );
  return { width: mmToPx(face.width), height: mmToPx(face.height), fields };
}


