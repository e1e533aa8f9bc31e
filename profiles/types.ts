// The loaded profile: what `loadProfile` returns once every check has passed. Typed, validated and
// resolved — extends/includes merged, names resolved to objects, hex decoded to bytes, access
// conditions resolved to the key and PIN ids the card's COS uses, expressions parsed and
// type-checked — so data preparation can walk it without re-checking anything. Each part keeps
// `loc`, the place in the YAML it came from, for messages about a particular card.
// The profile holds no key bytes: keys are names in the key store (label + version) plus how to
// derive the card's key from them.
import type { DiversifyMethod, KeyType as GpKeyType } from '../crypto/diversify.js';
import type { FieldCodec, Encoding } from './codec.js';
import type { Diagnostic, Loc } from './errors.js';
import type { Expr } from './expr.js';

export type Cos = 'sscard' | 'globalplatform';
export type CardInterface = 'contact' | 'contactless';
/** ISO/IEC 7816-3 transmission protocols of the contact interface. */
export type ContactProtocol = 't0' | 't1';
export type KeyAlg = 'des3' | 'sm4' | 'aes';

export interface Profile {
  /** The `profile:` name. */
  name: string;
  title?: string | undefined;
  revision: string;
  /** A test profile: fixed PINs are allowed (and still warned about). */
  test: boolean;
  cos: Cos;
  interfaces: CardInterface[];
  /** EEPROM bytes for files (sscard), when the profile states it; the file tree was checked to fit. */
  memory?: number | undefined;
  /** Contact protocols the card offers (ISO/IEC 7816-3), when the profile states them. */
  protocols?: ContactProtocol[] | undefined;
  /**
   * Most command data bytes (Nc) in one APDU: 255 (the default) keeps every command short; more
   * lets prep write bigger chunks in extended-length APDUs (card.maxCommandData).
   */
  maxCommandData: number;
  /** Most response data bytes (Ne) one APDU asks for: 256 by default (short), up to 65536 (card.maxResponseLength). */
  maxResponseLength: number;
  /** Where it came from: the top file first, then every file it extends or includes. */
  files: string[];
  /** SHA-256 (hex) of the canonical JSON of the merged profile: same content ⇒ same hash, whatever the file layout. */
  hash: string;
  parameters: Readonly<Record<string, string | number>>;
  /** Keys in the key store that the profile names, by alias. */
  keyStore: Readonly<Record<string, KeyStoreRef>>;
  /** The key blank cards arrive with. */
  transport: TransportSpec;
  record: RecordSpec;
  /** Named values in an order where each comes after the values it uses. */
  values: NamedValue[];
  /** Serial counters besides the default `card` counter. */
  serials: Readonly<Record<string, SerialSpec>>;
  /** sscard: the file tree, rooted at the MF. */
  mf?: DfNode | undefined;
  /** globalplatform: the ISD with its key sets, load files and applets. */
  gp?: GpSpec | undefined;
  /** Every card key of the profile (DF keys, ISD keys, applet keys), in profile order. */
  keys: CardKeySpec[];
  /** Every PIN of the profile. */
  pins: PinSpec[];
  pki?: PkiSpec | undefined;
  face?: FaceSpec | undefined;
  /** Warnings that did not stop the profile from loading (fixed PINs in a test profile, …). */
  warnings: Diagnostic[];
}

/** A key the key store holds (master keys, the transport key, the CA key). Never its value. */
export interface KeyStoreRef {
  alias: string;
  label: string;
  /** Undefined: the newest active version at prep time (prep records the version it used). */
  version?: number | undefined;
  alg: KeyAlg | 'sm2';
  loc: Loc;
}

export interface TransportSpec {
  key: KeyStoreRef;
  /** Key version of the transport key on the card (sscard: MF key 00's version; GP: the initial key set, usually FF). */
  version: number;
  loc: Loc;
}

// ---------------------------------------------------------------------------------------------
// Records

export type FieldType = 'citizen-id' | 'card-number' | 'text' | 'digits' | 'region' | 'date' | 'enum' | 'file' | 'pan' | 'pin';

export interface FieldSpec {
  name: string;
  type: FieldType;
  required: boolean;
  description?: string | undefined;
  /** text: 'gbk' (any GBK character) or 'ascii'. */
  charset?: 'gbk' | 'ascii' | undefined;
  /** text/digits/pin: bounds in characters. */
  minLength?: number | undefined;
  maxLength?: number | undefined;
  /** text (gbk): bound of the GBK encoding in bytes; file: the largest file accepted. */
  maxBytes?: number | undefined;
  /** digits: numeric bounds. */
  min?: number | undefined;
  max?: number | undefined;
  /** enum: the allowed values. */
  values?: string[] | undefined;
  /** text: a regular expression the value must match (whole value). */
  pattern?: string | undefined;
  /** file: the expected format, checked by its magic bytes. */
  format?: 'jpeg' | 'png' | 'any' | undefined;
  /** date: refuse dates after the prep date. */
  past?: boolean | undefined;
  loc: Loc;
}

export interface RecordRule {
  /** The two expressions must give the same value for every record. */
  equal: [Expr, Expr];
  message: string;
  loc: Loc;
}

export interface RecordSpec {
  /** The field that identifies a cardholder: no two records of a batch may share it. */
  key?: string | undefined;
  fields: FieldSpec[];
  rules: RecordRule[];
}

export interface NamedValue {
  name: string;
  expr: Expr;
  loc: Loc;
}

export interface SerialSpec {
  name: string;
  /** First value of the counter in a fresh batch series (prep continues from its last allocation). */
  start: number;
  loc: Loc;
}

// ---------------------------------------------------------------------------------------------
// File system (sscard)

/** Access conditions in the vocabulary of the social-security COS (simulator/fs/access.ts). */
export type AccessSpec =
  | { kind: 'always' }
  | { kind: 'never' }
  /** PIN `id` verified; `pin` names the PIN in the profile. */
  | { kind: 'pin'; pin: string; id: number }
  /** External authentication with key `id`; `key` names the key. */
  | { kind: 'key'; key: string; id: number }
  /** Command MAC under line-protection key `id`. */
  | { kind: 'sm'; key: string; id: number };

export interface DfAccess {
  create: AccessSpec;
  keyWrite: AccessSpec;
}

export interface EfAccess {
  read: AccessSpec;
  update: AccessSpec;
  append: AccessSpec;
}

export interface DfNode {
  kind: 'df';
  name: string;
  /** Slash-separated names from the MF ('' for the MF itself, 'SSSE/EF05' below it). */
  path: string;
  fid?: number | undefined;
  /** The DF name (AID), 1–16 bytes. */
  aid?: Uint8Array | undefined;
  access: DfAccess;
  /** The A5 proprietary template of the FCI (built from `directory` for a PSE/PPSE). */
  fciProprietary?: Uint8Array | undefined;
  directory?: DirectoryEntry[] | undefined;
  /** Keys and PINs installed in this DF's key file. */
  keys: CardKeySpec[];
  pins: PinSpec[];
  children: FileNode[];
  loc: Loc;
}

export type EfStructure = 'transparent' | 'linear-fixed' | 'linear-variable' | 'cyclic';

export interface EfNode {
  kind: 'ef';
  name: string;
  path: string;
  fid: number;
  sfi?: number | undefined;
  structure: EfStructure;
  /** SIMPLE-TLV records: each record is tag ‖ length ‖ value and is addressed by its tag. */
  tlv: boolean;
  /** Internal EF (a private key): never readable. */
  internal: boolean;
  /** Transparent: bytes. */
  size: number;
  /** Record files: record length (maximum length for linear-variable) and number of records. */
  recordLength: number;
  maxRecords: number;
  access: EfAccess;
  /** What personalization writes into the file, in order. */
  elements: DataElement[];
  loc: Loc;
}

export type FileNode = DfNode | EfNode;

export interface DirectoryEntry {
  aid: Uint8Array;
  label?: string | undefined;
  priority?: number | undefined;
  loc: Loc;
}

export interface ElementPart extends FieldCodec {
  name: string;
  value: Expr;
  loc: Loc;
}

/**
 * One data element: where it goes, how it is encoded, and how its value is computed. Exactly one
 * of `value` and `parts` is set.
 */
export interface DataElement extends FieldCodec {
  name: string;
  /** SIMPLE-TLV record files: the record's tag (which is also how the card finds the record). */
  tag?: number | undefined;
  /** Record files without TLV: the record number (1-based). */
  record?: number | undefined;
  /** Transparent files: the byte offset. */
  offset?: number | undefined;
  value?: Expr | undefined;
  parts?: ElementPart[] | undefined;
  /** Leave the element out (no record written) when its value is empty. */
  skipEmpty: boolean;
  loc: Loc;
}

// ---------------------------------------------------------------------------------------------
// Keys and PINs

/** sscard key types (simulator/sscard/keys.ts) and GP secure-channel key usages. */
export type KeyRole =
  | 'master'
  | 'external-auth'
  | 'internal-auth'
  | 'pin-unblock'
  | 'pin-reload'
  | 'line-protection'
  | 'app-block'
  | 'card-block'
  | 'enc'
  | 'mac'
  | 'dek'
  | 'app';

export interface DerivationSpec {
  method: DiversifyMethod;
  master: KeyStoreRef;
  /** Diversification data: one expression per level (pboc: 1–3 levels of 8 bytes; others: one). */
  data: Expr[];
  /** emv, visa2, kdf3, cps11: which key of the set (t = 1 ENC, 2 MAC, 3 DEK). */
  keyType?: GpKeyType | undefined;
  /** 'run' when the data needs facts from the card (ATR, KDD): the key is derived at run time. */
  phase: 'prep' | 'run';
  loc: Loc;
}

export interface CardKeySpec {
  name: string;
  /** Where the key lives: a DF path (sscard), 'isd', or 'applet:NAME'. */
  owner: string;
  role: KeyRole;
  /** Key id within its DF's key file (sscard) or key set (GP). */
  id: number;
  version: number;
  alg: KeyAlg;
  /** Error counter limit (sscard, 1–15). */
  tries?: number | undefined;
  derive: DerivationSpec;
  loc: Loc;
}

export type PinSource =
  | { kind: 'random' }
  | { kind: 'record'; field: string }
  /** Test profiles only. */
  | { kind: 'fixed'; value: string };

export interface PinSpec {
  name: string;
  /** DF path that holds the PIN. */
  owner: string;
  id: number;
  minLength: number;
  maxLength: number;
  tries: number;
  initial: PinSource;
  /** Key names of the PIN's unblock (PUK) and reload keys, when it has them. */
  unblockKey?: string | undefined;
  reloadKey?: string | undefined;
  loc: Loc;
}

// ---------------------------------------------------------------------------------------------
// GlobalPlatform

export interface GpSpec {
  scp: 'scp02' | 'scp03';
  isdAid: Uint8Array;
  /** The issuer key set that replaces the transport keys (PUT KEY), ENC/MAC/DEK. */
  isdKeys: CardKeySpec[];
  /** Replace the transport key set (true) or add the issuer set beside it (false). */
  replaceTransportKeys: boolean;
  loadFiles: LoadFileSpec[];
  applets: AppletSpec[];
}

export interface LoadFileSpec {
  name: string;
  aid: Uint8Array;
  /** Absolute path of the CAP file. */
  cap: string;
  loc: Loc;
}

export interface AppletSpec {
  name: string;
  loadFile: string;
  module: Uint8Array;
  aid: Uint8Array;
  /** GP privileges, 3 bytes. */
  privileges: Uint8Array;
  privilegeNames: string[];
  /** The install parameters field (C9 …). */
  installParameters: Uint8Array;
  keys: CardKeySpec[];
  dgis: DgiSpec[];
  loc: Loc;
}

export interface DgiSpec {
  dgi: number;
  /** 8000–8FFF: sent encrypted under the session DEK. */
  secret: boolean;
  /** Wrap the elements in this BER-TLV template (e.g. 70 for a record). */
  template?: number | undefined;
  /** BER-TLV data objects, in order. */
  elements: DgiElement[];
  /** Or: the whole DGI from one expression (bytes). */
  value?: Expr | undefined;
  /** Or: card keys side by side (secret DGIs), or their KCVs (3 bytes each). */
  keys?: string[] | undefined;
  kcvs?: string[] | undefined;
  loc: Loc;
}

export interface DgiElement extends FieldCodec {
  name: string;
  tag: number;
  value: Expr;
  loc: Loc;
}

// ---------------------------------------------------------------------------------------------
// PKI and the card face

export interface KeyPairSpec {
  name: string;
  /** DF path where the card generates the pair (both EFs are in it). */
  df: string;
  publicKey: EfNode;
  privateKey: EfNode;
  certificate: EfNode;
  keyUsage: string[];
  loc: Loc;
}

export interface PkiSpec {
  ca: KeyStoreRef;
  /** The PIN verified before key generation, when the profile names one. */
  pin?: string | undefined;
  keyPairs: KeyPairSpec[];
  /** Subject attributes in order, e.g. [['C', CN], ['CN', record.name]]. */
  subject: { type: string; value: Expr }[];
  validityYears: number;
  loc: Loc;
}

export interface FaceText {
  kind: 'text';
  name: string;
  value: Expr;
  x: number;
  y: number;
  fontSize: number;
  font?: string | undefined;
  loc: Loc;
}

export interface FacePhoto {
  kind: 'photo';
  name: string;
  field: string;
  x: number;
  y: number;
  width: number;
  height: number;
  loc: Loc;
}

export interface FaceSpec {
  /** Card size in millimetres (ID-1: 85.6 × 54). */
  width: number;
  height: number;
  /** Font files for the face text, absolute (`face.fonts`, resolved against the profile file naming them); searched first. */
  fonts?: string[] | undefined;
  front: (FaceText | FacePhoto)[];
  back: (FaceText | FacePhoto)[];
}

export type { Encoding };
