// One card's line of cards.jsonl, built from the profile's compiled template: the work prep does
// per accepted record, the same on prep's own thread and in its workers (./workers.ts), given a
// plan that says everything the batch decided (key versions, serial starts, the keyed PIN and
// record-id secrets) and the few key operations a card needs. Big data (the photo) goes to the
// batch's pack: the line names it by hash with `"at":-1`, and the writer, which owns the pack,
// puts the offset in (./writer.ts); so a line does not depend on which thread built it.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { concat, clip, wipe } from '../../bytes/index.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import { createCardEvaluator } from '../../profiles/index.js';
import type { CardKeySpec, PinSpec, Profile } from '../../profiles/types.js';
import { realInside } from '../batch/fields.js';
import type { BlobRef } from '../blobs.js';
import { SCRIPT_FORMAT, type CardScript, type Sealed, type SealedKey, type StoredKey } from '../script.js';
import type { BlobSink, CardInputs } from './card-context.js';
import { PrepError } from './errors.js';
import { compileGp, type GpInputs } from './gp.js';
import type { RunContext } from './runparts.js';
import { compileSsCard, type SsCardInputs } from './sscard.js';
import type { ScriptTemplate } from './template.js';

/** What the batch decided before the first card; structured-cloneable (it goes to the workers). */
export interface PrepPlan {
  profile: Profile;
  /** The prep date, YYYYMMDD. */
  today: string;
  /** The first value of every serial counter. */
  first: Record<string, number>;
  sealKey: Required<KeyRef>;
  /** The transport key: its value, sealed into every script, or the store's reference to it. */
  transport: { value: Uint8Array; alg: SealedKey['alg']; kcv: string } | { stored: Required<KeyRef>; alg: SealedKey['alg']; kcv: string };
  /** The key-store version of every label the profile names. */
  versions: [string, number][];
  /** Keys the random PINs (a MAC under the seal key: the seed alone does not give them). */
  pinKey: Uint8Array;
  /** Keys the record ids (a MAC under the seal key). */
  idKey: Uint8Array;
  /** The batch input's folder: record file fields (photos) are read inside it. */
  inputDir: string;
  /** Whether the profile has a value named cardNumber (the registry's card number). */
  numbered: boolean;
}

/** One accepted record, as the prep loop hands it on. */
export interface CardJob {
  line: number;
  /** 0-based among the batch's cards: its serials are first + index. */
  index: number;
  record: Record<string, string>;
  issuance: { holder?: string; replacement?: { kind: string; reason: string } };
  /** The files the record names (its photo), read and put into the pack by prep's thread, by path. */
  files?: Record<string, { bytes: Uint8Array; ref: BlobRef }>;
}

/**
 * A built line: finished (its UTF-8 bytes with the newline, and the SHA-256 of the line without
 * it) when every blob it names was in the pack already, else its JSON and the big data the writer
 * still has to place (once each, by SHA-256).
 */
export type CardLine = { bytes: Uint8Array; digest: Uint8Array } | { json: string; blobs: { sha256: string; bytes: Uint8Array }[] };

/** The key operations a card needs: a KeyProvider, or the keys lent to a worker. */
export type CardKeys = Pick<KeyProvider, 'seal' | 'mac' | 'deriveCardKeys'>;

/** The key-store version prep resolved for a label of the profile's keyStore. */
export function versionIn(versions: ReadonlyMap<string, number>, label: string): number {
  const v = versions.get(label);
  if (v === undefined) throw new PrepError(`key ${label} is not in the profile's keyStore`);
  return v;
}

/** The files records name (photos), read from inside the batch input folder; its real path is looked up once. */
export class InputFiles {
  #real: string | undefined;

  constructor(private readonly dir: string) {}

  read(path: string, line: number): Uint8Array {
    const real = realInside(this.dir, path, (this.#real ??= realpathSync.native(this.dir)));
    if (real === undefined) throw new PrepError(`line ${line}: file ${clip(path)} is no longer inside the batch input folder`);
    // Its own buffer: a small file's Buffer is a view on a shared pool, which a message to a
    // builder thread would copy whole.
    return new Uint8Array(readFileSync(real));
  }
}

/** A blob's place in a line before the writer knows its offset in the pack. */
export const UNPLACED = -1;

const UTF8 = new TextEncoder();
const NONCE_LABEL = UTF8.encode('cardsmith/prep/nonce');

/**
 * The GCM nonce of a prep-time seal, SIV-style (docs/prep.md "Determinism"): the first 12 bytes of
 * the seal key's CMAC over "cardsmith/prep/nonce" ‖ len(context) (4 bytes, big-endian) ‖ context ‖
 * secret. The length prefix keeps (context, secret) pairs apart, so equal nonces mean equal
 * (context, secret) (up to a MAC collision) and a nonce is never reused for another message.
 */
export async function sealNonce(keys: Pick<KeyProvider, 'mac'>, sealKey: KeyRef, context: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, context.length);
  const input = concat(NONCE_LABEL, len, context, secret);
  try {
    return (await keys.mac(sealKey, input)).slice(0, 12);
  } finally {
    wipe(input);
  }
}

/** Deterministic PIN digits from the PIN key (HMAC-SHA256 stream, rejection sampling keeps them uniform). */
function seededPin(pinKey: Uint8Array, recordId: string, pin: PinSpec): string {
  const len = pin.maxLength;
  let out = '';
  for (let block = 0; out.length < len; block++) {
    const mac = createHmac('sha256', pinKey).update(`${recordId}\0${pin.owner}/${pin.name}\0${block}`).digest();
    for (const b of mac) if (b < 250 && out.length < len) out += String(b % 10);
  }
  return out;
}

/**
 * A keyed hash of the record key, not the key itself nor a plain hash of it: the record id goes
 * into logs, the journal and the registry, and a citizen ID has few enough possible values to be
 * found again from an unkeyed hash.
 */
function recordIdOf(idKey: Uint8Array, profile: Profile, record: Record<string, string>, line: number): string {
  const key = profile.record.key !== undefined ? record[profile.record.key] : undefined;
  if (!key) return `line-${line}`;
  return createHmac('sha256', idKey).update(key).digest('hex').slice(0, 32);
}

/** A card's blobs: the files already in the pack by their refs, others named by hash and left for the writer to place. */
class CardBlobs implements BlobSink {
  readonly list: { sha256: string; bytes: Uint8Array }[] = [];

  constructor(private readonly placed: readonly { bytes: Uint8Array; ref: BlobRef }[]) {}

  add(bytes: Uint8Array): BlobRef {
    const same = this.placed.find((p) => p.bytes === bytes);
    if (same) return same.ref;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const placed = this.placed.find((p) => p.ref.blob === sha256);
    if (placed) return placed.ref;
    if (!this.list.some((b) => b.sha256 === sha256)) this.list.push({ sha256, bytes });
    return { blob: sha256, at: UNPLACED, size: bytes.length };
  }
}

/** Profile faces are in millimetres (font sizes in points); scripts carry printer pixels at 300 dpi (script.ts `face`). */
const DPI = 300;
const mmToPx = (mm: number): number => Math.round((mm * DPI) / 25.4);
const ptToPx = (pt: number): number => Math.max(1, Math.round((pt * DPI) / 72));

type AnyInputs = SsCardInputs & GpInputs;

export class CardMaker {
  readonly #plan: PrepPlan;
  readonly #keys: CardKeys;
  readonly #steps: ScriptTemplate<AnyInputs>;
  readonly #verify: ScriptTemplate<AnyInputs>;
  readonly #versions: Map<string, number>;
  readonly #prepKeysByMaster = new Map<string, CardKeySpec[]>();
  readonly #fileFields: Set<string>;
  readonly #cardKeys: Map<string, CardKeySpec>;
  /** Files a job does not bring (it was not placed by prep's thread) are read here. */
  readonly #inputFiles: InputFiles;

  /** `perCardOnly`: build every step per card (the compiled template's reference, for tests). */
  constructor(plan: PrepPlan, keys: CardKeys, perCardOnly = false) {
    this.#plan = plan;
    this.#keys = keys;
    this.#versions = new Map(plan.versions);
    this.#inputFiles = new InputFiles(plan.inputDir);
    const p = plan.profile;
    const t = p.cos === 'sscard' ? compileSsCard(p, perCardOnly) : compileGp(p, (l) => this.#versionOf(l), perCardOnly);
    this.#steps = t.steps as ScriptTemplate<AnyInputs>;
    this.#verify = t.verify as ScriptTemplate<AnyInputs>;
    for (const k of p.keys.filter((k) => k.derive.phase === 'prep')) this.#prepKeysByMaster.set(k.derive.master.label, [...(this.#prepKeysByMaster.get(k.derive.master.label) ?? []), k]);
    this.#fileFields = new Set(p.record.fields.filter((f) => f.type === 'file').map((f) => f.name));
    this.#cardKeys = new Map(p.keys.map((k) => [k.name, k]));
  }

  #versionOf(label: string): number {
    return versionIn(this.#versions, label);
  }

  /** The card's line; throws PrepError (or the evaluator's error) for a record prep cannot build. */
  async make(job: CardJob): Promise<CardLine> {
    const plan = this.#plan;
    const { profile } = plan;
    const { record, line } = job;
    const recordId = recordIdOf(plan.idKey, profile, record, line);
    const context = UTF8.encode(recordId);
    const seal = async (secret: Uint8Array, kcv?: string): Promise<Sealed> => ({
      sealed: Buffer.from(await this.#keys.seal(plan.sealKey, secret, context, { nonce: await sealNonce(this.#keys, plan.sealKey, context, secret) })).toString('base64'),
      ...(kcv ? { kcv } : {}),
    });
    // Files the record names (its photo), read once: for the card's APDUs and its face.
    const files = new Map<string, Uint8Array>(Object.entries(job.files ?? {}).map(([path, f]) => [path, f.bytes]));
    const readFile = (_field: string, path: string): Uint8Array => {
      let bytes = files.get(path);
      if (!bytes) files.set(path, (bytes = this.#inputFiles.read(path, line)));
      return bytes;
    };
    const serials = (name: string): number => (plan.first[name] ?? 1) + job.index;
    const ev = createCardEvaluator(profile, { record, today: plan.today, serials: { card: serials('card') }, readFile });
    const run: RunContext = {
      profile,
      env: { record, params: profile.parameters, today: plan.today, fileFields: this.#fileFields, serial: serials, value: (name: string) => ev.value(name), readFile },
      keys: this.#cardKeys,
      versionOf: (l) => this.#versionOf(l),
    };

    // Prep-phase card keys: derived per card, grouped by master (one store lookup each).
    const prepKeys = new Map<string, { value: Uint8Array; kcv: string }>();
    const blobs = new CardBlobs(Object.values(job.files ?? {}));
    try {
      for (const [label, specs] of this.#prepKeysByMaster) {
        const got = await this.#keys.deriveCardKeys(
          { label, version: this.#versionOf(label) },
          specs.map((k) => ({ method: k.derive.method, data: concat(...k.derive.data.map((e) => bytesValue(ev.evaluate(e), k.name))), ...(k.derive.keyType ? { keyType: k.derive.keyType } : {}) })),
        );
        specs.forEach((k, i) => prepKeys.set(k.name, { value: got[i]!.value, kcv: got[i]!.kcv }));
      }
      const pins = new Map<string, string>();
      for (const p of profile.pins) {
        pins.set(p.name, p.initial.kind === 'record' ? (record[p.initial.field] ?? '') : p.initial.kind === 'fixed' ? p.initial.value : seededPin(plan.pinKey, recordId, p));
      }
      const t = plan.transport;
      const transport: SealedKey | StoredKey = 'value' in t ? { ...(await seal(t.value, t.kcv)), alg: t.alg } : { stored: t.stored, alg: t.alg, kcv: t.kcv };
      const subject: Record<string, string> = {};
      for (const s of profile.pki?.subject ?? []) subject[s.type] = String(ev.evaluate(s.value));
      const inputs: CardInputs & SsCardInputs = { ev, seal, prepKeys, blobs, memo: new Map(), run, transport, pins, subject };
      const card = inputs as AnyInputs; // a GP profile refused a stored transport key before the first card
      const steps = await this.#steps.json(card);
      const verify = await this.#verify.json(card);
      const issuance = job.issuance.holder || job.issuance.replacement ? { ...job.issuance, ...(plan.numbered ? { cardNumber: String(ev.value('cardNumber')) } : {}) } : undefined;
      const face = profile.face ? faceOf(profile, ev, record, readFile, blobs) : undefined;
      // The keys in CardScript's order (script.ts), as JSON.stringify of the script would give them.
      const head: Omit<CardScript, 'steps' | 'verify' | 'face'> = {
        format: SCRIPT_FORMAT,
        recordId,
        line,
        interface: profile.interfaces[0] ?? 'contact',
        ...(issuance ? { issuance } : {}),
      };
      const headJson = JSON.stringify(head);
      const json = `${headJson.slice(0, -1)},"steps":[${steps}],"verify":[${verify}]${face ? `,"face":${JSON.stringify(face)}` : ''}}`;
      if (blobs.list.length > 0) return { json, blobs: blobs.list };
      // Finished here, on the builder's thread: the writer only appends.
      const bytes = Buffer.from(`${json}\n`);
      return { bytes, digest: createHash('sha256').update(bytes.subarray(0, bytes.length - 1)).digest() };
    } finally {
      for (const k of prepKeys.values()) wipe(k.value);
    }
  }
}

function bytesValue(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new PrepError(`key ${what}: derivation data must be bytes`);
}

/** The card face in printer pixels; a photo's bytes go to the pack, where the runner reads them. */
function faceOf(profile: Profile, ev: ReturnType<typeof createCardEvaluator>, record: Record<string, string>, readFile: (field: string, path: string) => Uint8Array, blobs: BlobSink): NonNullable<CardScript['face']> {
  const face = profile.face!;
  const fields = [...face.front, ...face.back].map((f) => {
    if (f.kind === 'text') return { kind: 'text' as const, x: mmToPx(f.x), y: mmToPx(f.y), size: ptToPx(f.fontSize), value: String(ev.evaluate(f.value)) };
    const value = record[f.field] ?? '';
    return { kind: 'photo' as const, x: mmToPx(f.x), y: mmToPx(f.y), size: mmToPx(f.height), value, ...(value ? { blob: blobs.add(readFile(f.field, value)) } : {}) };
  });
  return { width: mmToPx(face.width), height: mmToPx(face.height), fields };
}
