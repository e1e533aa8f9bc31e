// The personalization script of one card: the contract between data preparation (which writes
// a batch folder) and the runner (which executes it on a card). Everything that can be computed
// at prep time is; what needs the card's own answers (challenges, session keys, on-card key
// pairs) is computed at run time from sealed material. No key, PIN or other secret appears in
// clear: secrets are sealed with AES-256-GCM under the batch transport key in the key store,
// with the record id as associated data, so a sealed value cannot be replayed onto another card.
//
// Batch folder (sealed: manifest.json holds the digest of every other file prep wrote and a MAC
// under the batch transport key; personalization/sealed.ts checks them):
//   manifest.json   BatchManifest (below; schemas/batch-manifest.schema.json)
//   cards.jsonl     one CardScript per line, in batch order (schemas/card-script.schema.json)
//   cards.sha256    the SHA-256 of each line of cards.jsonl, one per line (hex)
//   blobs.pack      the batch's photos and other big data, each blob once (personalization/blobs.ts):
//                   scripts name a blob by SHA-256, offset and size instead of carrying it in hex
//   journal.sqlite  written by the runner (personalization/journal/)
//   rejects.csv     (prep --skip-invalid) the records left out, with reasons
//   input-files/    (batches of earlier versions) the photos the faces name, by their names
//                   relative to the batch input; today's batches keep them in blobs.pack
//   fonts/          copies of the profile's face.fonts, in search order: the batch folder prints
//                   without the profile

import type { BlobRef, BlobSlice } from './blobs.js';
import { cardScriptProblem } from './schemas.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export const SCRIPT_FORMAT = 'cardsmith-script/1';
/** The batch folder's copy of the input files the faces name (photos). */
export const INPUT_FILES_DIR = 'input-files';
/** The batch folder's copy of the profile's face fonts. */
export const FONTS_DIR = 'fonts';
export const MANIFEST_FORMAT = 'cardsmith-batch/2';

/** A key in the key store, looked up at run time (the runner never sees master-key bytes). */
export interface KeyRefSpec {
  label: string;
  version?: number;
}

/**
 * A secret sealed for this card: base64 of the key provider's seal() output under the batch's
 * transport key, bound to the record id. `kcv` identifies keys in logs (absent for PINs/data).
 */
export interface Sealed {
  sealed: string;
  kcv?: string;
}

export interface SealedKey extends Sealed {
  alg: 'des3' | 'aes' | 'sm4';
}

/**
 * A key that stays in the key store: the runner asks the store to compute with it (a token key
 * that cannot leave the HSM). `kcv` is checked against the store's before the key is used.
 */
export interface StoredKey {
  stored: { label: string; version: number };
  alg: SealedKey['alg'];
  kcv: string;
}

/** Hex status words the step accepts; `X` matches any digit (e.g. "63CX"). Default ["9000"]. */
export type ExpectedSw = string[];

/** A static command. */
export interface ApduStep {
  op: 'apdu';
  /** The whole command APDU in hex. */
  apdu: string;
  sw?: ExpectedSw;
  /** For logs: what this command does ("create EF05"). */
  note?: string;
}

/** A command whose data field is secret (a plain WRITE KEY during personalization, a PIN). */
export interface SealedApduStep {
  op: 'sealed-apdu';
  /** CLA INS P1 P2 in hex; Lc is computed from the unsealed data. */
  header: string;
  data: Sealed;
  le?: number;
  sw?: ExpectedSw;
  note?: string;
}

/**
 * Native social-security COS line protection (the PBOC-style COS, JR/T 0025): GET CHALLENGE, then optionally
 * encrypt the data under `encryptKey` (ISO 9797-1 padding 2, ECB), then append the 4-byte PBOC MAC
 * under `macKey` over header ‖ Lc ‖ data with IV = challenge ‖ zeros. Used for 84 D4 WRITE KEY,
 * 04 D6 / 04 DC UPDATE with MAC, 84 1E/18/16 BLOCK commands. The exact byte layout is the one
 * docs/simulator.md documents for the card.
 */
export interface MacApduStep {
  op: 'mac-apdu';
  header: string;
  /** Clear data (hex) or sealed data. */
  data?: string | Sealed;
  macKey: SealedKey;
  encryptKey?: SealedKey;
  challengeLength?: 4 | 8 | 16;
  sw?: ExpectedSw;
  note?: string;
}

/** Authentication or a secure channel; wrapped steps follow until `close`. */
export type OpenStep =
  | {
      op: 'open';
      /** Native COS: GET CHALLENGE, then EXTERNAL AUTHENTICATE with the key `keyId` (docs/simulator.md). */
      protocol: 'ssc-ext-auth';
      keyId: number;
      /** Sealed for this card, or (a transport key the store will not export) kept in the store. */
      key: SealedKey | StoredKey;
      challengeLength?: 8 | 16;
      note?: string;
    }
  | {
      op: 'open';
      protocol: 'scp02' | 'scp03';
      /** Static ENC/MAC/DEK sealed for this card, or a master in the key store diversified with the card's KDD. */
      keys: { enc: SealedKey; mac: SealedKey; dek: SealedKey } | { master: KeyRefSpec; div: 'emv' | 'visa2' | 'kdf3' };
      keyVersion?: number;
      securityLevel: number;
      scp02i?: number;
      /** The security domain to SELECT first (hex AID); the ISD when absent. */
      sdAid?: string;
      note?: string;
    };

export interface CloseStep {
  op: 'close';
}

/** GP PUT KEY under the open channel's DEK; the runner checks the KCVs the card returns. */
export interface PutKeyStep {
  op: 'put-key';
  keyVersion: number;
  /** Replace this key version (P1); absent = add a new key set. */
  replaceVersion?: number;
  keys: { enc: SealedKey; mac: SealedKey; dek: SealedKey };
  note?: string;
}

/** GP/CPS STORE DATA of DGIs; sensitive ones (8000–8FFF) are sealed here and encrypted under the session DEK at run time. */
export interface StoreDataStep {
  op: 'store-data';
  dgis: { dgi: number; data?: string; sealed?: Sealed }[];
  note?: string;
}

/**
 * On-card key generation, then the card CA issues a certificate for the returned public key,
 * written back with UPDATE BINARY in chunks and read back with READ BINARY. The runner encodes
 * both with iso7816's encoder: a chunk above 255 (write) or 256 (read) bytes goes out as an
 * extended-length APDU, so prep sets them only as large as the card takes (card.maxCommandData,
 * card.maxResponseLength).
 */
export interface KeygenCertStep {
  op: 'keygen-cert';
  /** The key generation command (hex), e.g. 80 40 00 00 08 C0020012 C2020013. */
  generate: string;
  /** FID (hex) of the certificate EF to write, under the currently selected DF. */
  certificateFile: string;
  /** Subject fields, e.g. { CN: "张三", serialNumber: "…" } (personal data, not secret). */
  subject: Record<string, string>;
  ca: KeyRefSpec;
  /** Bytes per UPDATE BINARY (default 200). */
  chunk?: number;
  /** Bytes per READ BINARY of the read-back (default: `chunk`, at most 256). */
  readChunk?: number;
  note?: string;
}

/** Read back and compare: verification after personalization. */
export interface CheckStep {
  op: 'check';
  apdu: string;
  /** Expected response data (hex); absent = only the SW is checked. */
  expect?: string;
  /** Expected response data: these bytes of blobs.pack (not with `expect`). */
  expectBlob?: BlobSlice;
  sw?: ExpectedSw;
  what: string;
}


// ---------------------------------------------------------------------------------------------
// Added by data preparation. The built-in sscard profile diversifies its keys
// with the card's ATR and its EF05 card identification code carries a MAC over the chip id, and
// the GP profile rotates the ISD keys to keys diversified with the KDD: none of these can be
// computed, hence sealed, at prep. These additions let a script name them as recipes that the
// runner completes with facts read from the card and masters looked up in the key store.

/** A fact only the card in the encoder knows (profiles/expr.ts CARD_FACTS). */
export type CardFact = 'atr' | 'chipId' | 'kdd' | 'csn';

/**
 * A piece of data completed at run time: constant bytes, a slice of a card fact (`from` < 0
 * counts from the end, as `right(card.atr, 8)` = { from: -8, length: 8 }), a run-time derived
 * key's value, a 4-byte PBOC MAC (IV zero, ISO 9797-1 padding 2) under such a key, or bytes of
 * blobs.pack (a photo chunk: { blob, at, size, from, length }).
 */
export type RunPart =
  | { hex: string }
  | { fact: CardFact; from?: number; length?: number }
  | { key: RunKey }
  | { mac: { key: RunKey; data: RunPart[] } }
  | BlobSlice;

/**
 * A card key derived at run time: KeyProvider.deriveCardKey(master, { method, data, keyType })
 * with data = the concatenation of the levels (pboc: 1–3 levels of 8 bytes).
 */
export interface RunKey {
  alg: 'des3' | 'aes' | 'sm4';
  master: KeyRefSpec;
  method: 'pboc' | 'emv' | 'visa2' | 'kdf3' | 'cps11' | 'emv-option-a';
  levels: RunPart[][];
  keyType?: 'enc' | 'mac' | 'dek';
  /** The profile's name for the key, for logs. */
  name?: string;
}

/** A command whose data field is completed at run time (WRITE KEY of a run-derived key, a record with a MAC over the chip id). */
export interface RunApduStep {
  op: 'run-apdu';
  /** CLA INS P1 P2 in hex; Lc is computed from the completed data. */
  header: string;
  data: RunPart[];
  le?: number;
  sw?: ExpectedSw;
  note?: string;
}

/** GP PUT KEY of a key set diversified from `master` with the card's KDD (read at INITIALIZE UPDATE). */
export interface PutDerivedKeyStep {
  op: 'put-derived-key';
  keyVersion: number;
  replaceVersion?: number;
  master: KeyRefSpec;
  div: 'emv' | 'visa2' | 'kdf3';
  note?: string;
}

export type Step = ApduStep | SealedApduStep | MacApduStep | OpenStep | CloseStep | PutKeyStep | StoreDataStep | KeygenCertStep | CheckStep | RunApduStep | PutDerivedKeyStep;

export interface CardScript {
  format: typeof SCRIPT_FORMAT;
  /** Unique within the batch: the record's key field (e.g. the social security number's hash) or its line. */
  recordId: string;
  /** 1-based position in the input batch, for people. */
  line: number;
  /** Which interface the encoder uses. */
  interface: 'contact' | 'contactless';
  /** Personalization steps. */
  steps: Step[];
  /** Verification steps, run after `steps` (and again by `cardsmith verify`). */
  verify: Step[];
  /**
   * The card face, from the profile's layout (personal data, not secret), in printer pixels at 300
   * dpi (x, y: top-left; size: text line height or photo box height). A photo's `value` is its file
   * name; with `blob` its bytes are in blobs.pack (the name is then for messages).
   */
  face?: { width: number; height: number; fields: { kind: 'text' | 'photo'; x: number; y: number; size?: number; value: string; blob?: BlobRef }[] };
  /**
   * What the issuance registry records of this card: the keyed hash of the holder's ID (never the
   * ID), the card number, and why it replaces the holder's earlier card.
   */
  issuance?: { holder?: string; cardNumber?: string; replacement?: { kind: string; reason: string } };
}

export interface BatchManifest {
  format: typeof MANIFEST_FORMAT;
  profile: { name: string; file: string; sha256: string; revision: string };
  input: { file: string; sha256: string; records: number; rejected: number };
  cards: number;
  /** The key that sealed every secret in cards.jsonl. */
  transportKey: KeyRefSpec & { kcv: string };
  /** Keys the scripts refer to, with KCVs (no key bytes). */
  keys: (KeyRefSpec & { alg: string; kcv: string })[];
  seed: number;
  createdAt: string;
  /** The first value of every serial counter in this batch (card i gets first + i − 1), and the registry they came from, if any. */
  serials?: { first: Record<string, number>; registry?: string };
  /** The digest of every file prep wrote (personalization/sealed.ts). */
  files: {
    /** `root`: SHA-256 of the lines' SHA-256 digests (listed in `digests`), concatenated in order. */
    cards: { file: 'cards.jsonl'; lines: number; root: string; digests: 'cards.sha256' };
    /** Every file under input-files/, by name (relative, '/'-separated), in name order. */
    inputFiles: { name: string; size: number; sha256: string }[];
    /**
     * The profile's face.fonts as copied under fonts/, in search order (a collection's member by its
     * PostScript name). Written when the profile has a face; a batch with faces without it was
     * prepared by an earlier cardsmith, whose runner read the fonts from the profile file.
     */
    fonts?: { name: string; size: number; sha256: string; member?: string }[];
    rejects?: { file: 'rejects.csv'; sha256: string };
    /** blobs.pack, when a script names a blob: its size is checked at load, each blob's SHA-256 when it is read. */
    blobs?: { file: 'blobs.pack'; size: number; count: number };
  };
  /** The key store's MAC under `transportKey` over the canonical manifest without this field (hex). */
  mac: string;
}

/** Thrown when a script or manifest line is not what this version of cardsmith writes. */
export class ScriptFormatError extends CardsmithError {
  override name = 'ScriptFormatError';
  readonly kind: ErrorKind = 'input';
}

const OPS = new Set(['apdu', 'sealed-apdu', 'mac-apdu', 'open', 'close', 'put-key', 'store-data', 'keygen-cert', 'check', 'run-apdu', 'put-derived-key']);

/** Parses one line of cards.jsonl; `where` (file:line) goes into errors. Checks the shape, not the card semantics. */
export function parseCardScript(line: string, where: string): CardScript {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new ScriptFormatError(`${where}: not JSON (${(e as Error).message})`);
  }
  const s = value as Partial<CardScript>;
  if (typeof s !== 'object' || s === null || s.format !== SCRIPT_FORMAT) {
    throw new ScriptFormatError(`${where}: not a ${SCRIPT_FORMAT} card script`);
  }
  if (typeof s.recordId !== 'string' || s.recordId === '') throw new ScriptFormatError(`${where}: recordId missing`);
  for (const list of ['steps', 'verify'] as const) {
    const steps = s[list];
    if (!Array.isArray(steps)) throw new ScriptFormatError(`${where}: "${list}" is not a list`);
    steps.forEach((step, i) => {
      if (typeof step !== 'object' || step === null || !OPS.has((step as { op?: string }).op ?? '')) {
        throw new ScriptFormatError(`${where}: ${list}[${i}] has an unknown op`);
      }
    });
  }
  const problem = cardScriptProblem(s);
  if (problem !== undefined) throw new ScriptFormatError(`${where}: not a valid card script (schemas/card-script.schema.json): ${problem}`);
  return s as CardScript;
}
