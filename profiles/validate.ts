// From a merged, schema-checked YAML tree to a typed Profile — and every check that needs more than
// one value at a time: duplicate FIDs, SFIs, AIDs and tags, records longer than their file, data
// past the end of a file, references to keys, PINs, fields, parameters and files that do not
// exist, keys the card would not find from where they are used, expressions whose type or length
// does not fit their encoding, diversification data of the wrong size, fixed PINs outside test
// profiles. The builder reads the tree defensively (the schema may already have found the shape
// wrong) so one run reports every problem it can see.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve as resolvePath, dirname } from 'node:path';
import { clip, equal, fromHex, toHex } from '../bytes/index.js';
import { DIVERSIFY_METHODS, type DiversifyMethod, type KeyType as GpKeyType } from '../crypto/diversify.js';
import { buildTlv, encodeGbk, encodeTag, MAX_EXTENDED_DATA, MAX_EXTENDED_LE, MAX_SHORT_DATA, MAX_SHORT_LE, parseTlv } from '../iso7816/index.js';
import { ALLOWED_PADS, type Encoding } from './codec.js';
import type { Diagnostic, Loc } from './errors.js';
import { sortDiagnostics } from './errors.js';
import { bytesType, compileExpr, constantText, describeType, textType, type Expr, type ExprScope, type ExprType, type Phase } from './expr.js';
import { resolveSources } from './merge.js';
import { checkSchema } from './schema-check.js';
import { entry, toPlain, type LMap, type LNode, type LScalar } from './source.js';
import { didYouMean } from './suggest.js';
import type {
  AccessSpec,
  AppletSpec,
  CardKeySpec,
  ContactProtocol,
  DataElement,
  DerivationSpec,
  DfNode,
  DgiElement,
  DgiSpec,
  DirectoryEntry,
  EfNode,
  EfStructure,
  ElementPart,
  FacePhoto,
  FaceSpec,
  FaceText,
  FieldSpec,
  FieldType,
  FileNode,
  GpSpec,
  KeyAlg,
  KeyPairSpec,
  KeyRole,
  KeyStoreRef,
  LoadFileSpec,
  NamedValue,
  PinSource,
  PinSpec,
  PkiSpec,
  Profile,
  RecordRule,
  SerialSpec,
} from './types.js';

export interface ValidateOptions {
  /** Profile text to use instead of reading `file` (the file name is still used in messages). */
  text?: string;
  /** Name to show for the top file in messages (default: `file` as given). */
  display?: string;
}

export interface ValidationResult {
  ok: boolean;
  /** Present when there is no error. */
  profile?: Profile;
  /** Errors and warnings, sorted by place. */
  diagnostics: Diagnostic[];
  files: string[];
}

/** Reads, merges and checks a profile; never throws for anything wrong in the profile itself. */
export function validateProfile(file: string, options: ValidateOptions = {}): ValidationResult {
  const resolved = resolveSources(file, { ...(options.text !== undefined ? { text: options.text } : {}), display: options.display ?? file });
  const diagnostics = [...resolved.diagnostics];
  // When a file could not be read, parsed or merged, whatever else is "missing" follows from that.
  const fatal = new Set(['yaml-syntax', 'include-cycle', 'include-missing', 'file-unreadable', 'empty-profile', 'not-a-mapping']);
  if (!resolved.root || diagnostics.some((d) => d.severity === 'error' && fatal.has(d.code))) {
    return { ok: false, diagnostics: sortDiagnostics(diagnostics), files: resolved.files };
  }
  diagnostics.push(...checkSchema(resolved.root));
  const builder = new Builder(resolved.root as LMap, resolved.files, resolved.displayNames);
  const profile = builder.build();
  diagnostics.push(...builder.diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  const ok = !sorted.some((d) => d.severity === 'error');
  if (ok) profile.warnings = sorted.filter((d) => d.severity === 'warning');
  return { ok, ...(ok ? { profile } : {}), diagnostics: sorted, files: resolved.files };
}

// ---------------------------------------------------------------------------------------------

const ROLE_CODES: Readonly<Record<string, number>> = {
  master: 0x01,
  'external-auth': 0x02,
  'internal-auth': 0x03,
  'pin-unblock': 0x04,
  'pin-reload': 0x05,
  'line-protection': 0x06,
  'app-block': 0x07,
  'card-block': 0x08,
};
const SSCARD_ROLES = new Set(Object.keys(ROLE_CODES));
const GP_ROLES = new Set(['enc', 'mac', 'dek']);

/** Bytes of card memory a file costs, as the social-security COS counts it (simulator/fs/spec.ts memoryCost). */
const DF_COST = 64;
const EF_OVERHEAD = 32;

const PRIVILEGES: readonly string[] = [
  'security-domain', 'dap-verification', 'delegated-management', 'card-lock', 'card-terminate', 'card-reset', 'cvm-management', 'mandated-dap',
  'trusted-path', 'authorized-management', 'token-verification', 'global-delete', 'global-lock', 'global-registry', 'final-application', 'global-service',
  'receipt-generation', 'ciphered-load-file-data-block', 'contactless-activation', 'contactless-self-activation',
];

/** Subject attribute types keys/ca.ts accepts (a test keeps the two lists equal). */
export const SUBJECT_ATTRIBUTES: readonly string[] = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber', 'title', 'surname', 'givenName', 'emailAddress'];

const PPSE = new TextEncoder().encode('2PAY.SYS.DDF01');
const PSE = new TextEncoder().encode('1PAY.SYS.DDF01');
const GP_ISD_AID = fromHex('A000000151000000');

interface KeyDecl {
  name: string;
  owner: string;
  /** The DF holding it (sscard), for lookup-order checks. */
  df?: DfNode | undefined;
  node: LMap;
  role?: KeyRole | undefined;
  id?: number | undefined;
  spec?: CardKeySpec | undefined;
  phase?: Phase | 'checking' | undefined;
}

interface PinDecl {
  name: string;
  df: DfNode;
  node: LMap;
  id?: number | undefined;
}

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  private readonly keyDecls = new Map<string, KeyDecl>();
  private readonly pinDecls = new Map<string, PinDecl>();
  private readonly fieldTypes = new Map<string, ExprType>();
  private readonly fields = new Map<string, FieldSpec>();
  private readonly params = new Map<string, string | number>();
  private readonly valueNodes = new Map<string, LScalar>();
  private readonly valueState = new Map<string, { type: ExprType; phase: Phase; expr: Expr } | 'checking' | 'failed'>();
  private readonly valueOrder: NamedValue[] = [];
  private readonly serials = new Map<string, SerialSpec>([['card', { name: 'card', start: 1, loc: { file: '', line: 1, col: 1 } }]]);
  private keyStore: Record<string, KeyStoreRef> = {};
  private readonly usedAliases = new Set<string>();
  private cos: 'sscard' | 'globalplatform' = 'sscard';
  private keyAlgorithm: KeyAlg = 'des3';
  private scp: 'scp02' | 'scp03' = 'scp03';
  private test = false;
  private interfaces: ('contact' | 'contactless')[] = ['contact'];
  private readonly filesByPath = new Map<string, FileNode>();
  /** The YAML mapping each file node was built from (kept apart so the Profile stays plain data). */
  private readonly srcOf = new WeakMap<FileNode, LMap>();
  readonly scope: ExprScope;

  constructor(
    readonly root: LMap,
    readonly files: string[],
    readonly displayNames: Map<string, string>,
  ) {
    this.scope = {
      field: (n) => this.fieldTypes.get(n),
      fieldNames: () => this.fieldTypes.keys(),
      param: (n) => {
        const v = this.params.get(n);
        if (v === undefined) return undefined;
        return typeof v === 'number' ? { t: 'int', constant: v } : constantText(v);
      },
      paramNames: () => this.params.keys(),
      value: (n) => this.valueOf(n),
      valueNames: () => this.valueNodes.keys(),
      key: (n) => this.keyPhase(n),
      keyNames: () => this.keyDecls.keys(),
      serial: (n) => this.serials.has(n),
      serialNames: () => this.serials.keys(),
    };
  }

  // -- reporting -------------------------------------------------------------------------------

  error(loc: Loc, code: string, message: string, hint?: string): void {
    this.diagnostics.push({ severity: 'error', code, message, hint, loc });
  }

  warn(loc: Loc, code: string, message: string, hint?: string): void {
    this.diagnostics.push({ severity: 'warning', code, message, hint, loc });
  }

  // -- tolerant readers ------------------------------------------------------------------------

  map(node: LNode | undefined): LMap | undefined {
    return node?.kind === 'map' ? node : undefined;
  }

  get(map: LNode | undefined, key: string): LNode | undefined {
    return entry(map, key)?.value;
  }

  str(map: LNode | undefined, key: string): string | undefined {
    const v = this.get(map, key);
    return v?.kind === 'scalar' && typeof v.value === 'string' ? v.value : undefined;
  }

  num(map: LNode | undefined, key: string): number | undefined {
    const v = this.get(map, key);
    return v?.kind === 'scalar' && typeof v.value === 'number' ? v.value : undefined;
  }

  bool(map: LNode | undefined, key: string): boolean | undefined {
    const v = this.get(map, key);
    return v?.kind === 'scalar' && typeof v.value === 'boolean' ? v.value : undefined;
  }

  hex(map: LNode | undefined, key: string): Uint8Array | undefined {
    const s = this.str(map, key);
    if (s === undefined || !/^([0-9A-Fa-f]{2})+$/.test(s)) return undefined;
    return fromHex(s);
  }

  hexNum(map: LNode | undefined, key: string): number | undefined {
    const b = this.hex(map, key);
    if (!b) return undefined;
    return b.reduce((n, x) => n * 256 + x, 0);
  }

  locOf(map: LNode | undefined, key: string, fallback?: Loc): Loc {
    const e = entry(map, key);
    return e?.value.loc ?? e?.keyLoc ?? map?.keyLoc ?? map?.loc ?? fallback ?? { file: this.displayName(this.files[0]!), line: 1, col: 1 };
  }

  keyLocOf(map: LNode | undefined, key: string): Loc {
    const e = entry(map, key);
    return e?.keyLoc ?? map?.keyLoc ?? map?.loc ?? { file: this.displayName(this.files[0]!), line: 1, col: 1 };
  }

  entries(node: LNode | undefined): { key: string; keyLoc: Loc; value: LNode }[] {
    return node?.kind === 'map' ? node.entries : [];
  }

  displayName(abs: string): string {
    return this.displayNames.get(abs) ?? abs;
  }

  absOf(display: string): string {
    for (const [abs, name] of this.displayNames) if (name === display) return abs;
    return resolvePath(display);
  }

  // -- expressions ------------------------------------------------------------------------------

  /** Compiles the string at `key` of `map`; issues become diagnostics at their exact column. */
  expr(map: LNode | undefined, key: string, what: string): Expr | undefined {
    const node = this.get(map, key);
    if (!node) return undefined;
    return this.exprNode(node, what);
  }

  exprNode(node: LNode, what: string): Expr | undefined {
    if (node.kind !== 'scalar') return undefined;
    const source = typeof node.value === 'string' ? node.value : typeof node.value === 'number' ? String(node.value) : undefined;
    if (source === undefined) return undefined;
    const { expr, issues } = compileExpr(source, this.scope);
    for (const i of issues) {
      const loc = node.at ? node.at(i.offset) : node.loc;
      this.error(loc, i.code, `${what}: ${i.message}`, i.hint);
    }
    return expr;
  }

  valueOf(name: string): { type: ExprType; phase: Phase } | 'cycle' | undefined {
    const state = this.valueState.get(name);
    if (state === 'checking') return 'cycle';
    if (state === 'failed') return { type: textType(0, 0, 'digits'), phase: 'prep' };
    if (state) return state;
    const node = this.valueNodes.get(name);
    if (!node) return undefined;
    this.valueState.set(name, 'checking');
    const expr = this.exprNode(node, `value ${name}`);
    if (!expr) {
      this.valueState.set(name, 'failed');
      // Reported already; callers treat the value as usable so one mistake is not reported twice.
      return { type: textType(0, 0, 'digits'), phase: 'prep' };
    }
    const done = { type: expr.type, phase: expr.phase, expr };
    this.valueState.set(name, done);
    this.valueOrder.push({ name, expr, loc: node.loc });
    return done;
  }

  keyPhase(name: string): Phase | undefined {
    const decl = this.keyDecls.get(name);
    if (!decl) return undefined;
    if (decl.phase === 'checking') return 'run';
    if (decl.phase) return decl.phase;
    decl.phase = 'checking';
    const spec = this.cardKey(decl);
    decl.spec = spec;
    decl.phase = spec?.derive.phase ?? 'prep';
    return decl.phase;
  }

  // -- the profile ------------------------------------------------------------------------------

  build(): Profile {
    const r = this.root;
    const card = this.map(this.get(r, 'card'));
    this.cos = this.str(card, 'cos') === 'globalplatform' ? 'globalplatform' : 'sscard';
    this.scp = this.str(card, 'scp') === 'scp02' ? 'scp02' : 'scp03';
    this.test = this.bool(r, 'test') === true;
    const ifs = this.get(card, 'interfaces');
    if (ifs?.kind === 'seq') {
      this.interfaces = ifs.items.flatMap((i) => (i.kind === 'scalar' && (i.value === 'contact' || i.value === 'contactless') ? [i.value] : []));
    }
    const ka = this.str(r, 'keyAlgorithm');
    this.keyAlgorithm = ka ? normAlg(ka) : this.cos === 'globalplatform' ? (this.scp === 'scp02' ? 'des3' : 'aes') : 'des3';
    if (card && this.cos === 'globalplatform' && this.str(card, 'scp') === undefined) {
      this.error(this.keyLocOf(r, 'card'), 'missing-key', "card needs 'scp' for a globalplatform card", 'scp02 or scp03');
    }

    const limits = this.readApduLimits(card);

    this.readParameters();
    this.readKeyStore();
    const transport = this.readTransport();
    this.readRecord();
    this.readSerials();
    for (const e of this.entries(this.get(r, 'values'))) if (e.value.kind === 'scalar') this.valueNodes.set(e.key, e.value);

    // Key and PIN declarations first: expressions anywhere may name keys (mac(key.IRK, …)).
    let mf: DfNode | undefined;
    const mfNode = this.map(this.get(r, 'mf'));
    if (this.cos === 'sscard') {
      if (!mfNode) this.error(this.keyLocOf(r, 'card'), 'missing-key', "an sscard profile needs 'mf', the file tree", 'mf: { keys: …, files: … }');
      else mf = this.declareDf(mfNode, 'MF', '', undefined);
      for (const k of ['isd', 'loadFiles', 'applets']) {
        if (entry(r, k)) this.error(this.keyLocOf(r, k), 'cos-mismatch', `'${clip(k)}' is for globalplatform cards; this profile's cos is sscard`);
      }
    } else {
      if (mfNode) this.error(this.keyLocOf(r, 'mf'), 'cos-mismatch', "'mf' (a file tree) is for sscard cards; a globalplatform card has applets", 'use isd:, loadFiles: and applets:');
      if (!entry(r, 'isd')) this.error(this.keyLocOf(r, 'card'), 'missing-key', "a globalplatform profile needs 'isd' with the issuer key set");
      this.declareGpKeys();
    }

    // Values, keys, then everything that uses them.
    for (const name of this.valueNodes.keys()) this.valueOf(name);
    const rules = this.readRules();
    if (mf) {
      this.completeDf(mf);
      this.checkMemory(mf, card);
    }
    const keys: CardKeySpec[] = [];
    for (const decl of this.keyDecls.values()) {
      this.keyPhase(decl.name);
      if (decl.spec) keys.push(decl.spec);
    }
    if (mf) this.checkKeyFiles(mf);
    const pins = this.readPins();
    const gp = this.cos === 'globalplatform' ? this.readGp() : undefined;
    const pki = this.readPki();
    const face = this.readFace();
    this.checkUnused();

    const plain = toPlain(r);
    const hash = createHash('sha256').update(canonicalJson(plain)).digest('hex');
    return {
      name: this.str(r, 'profile') ?? '',
      title: this.str(r, 'title'),
      revision: this.str(r, 'revision') ?? '1',
      test: this.test,
      cos: this.cos,
      interfaces: this.interfaces,
      memory: this.num(card, 'memory'),
      protocols: limits.protocols,
      maxCommandData: limits.maxCommandData,
      maxResponseLength: limits.maxResponseLength,
      files: this.files,
      hash,
      parameters: Object.fromEntries(this.params),
      keyStore: this.keyStore,
      transport: transport ?? { key: { alias: '', label: '', alg: 'des3', loc: r.loc }, version: 0, loc: r.loc },
      record: { key: this.str(this.get(r, 'record'), 'key'), fields: [...this.fields.values()], rules },
      values: this.valueOrder,
      serials: Object.fromEntries(this.serials),
      mf,
      gp,
      keys,
      pins,
      pki,
      face,
      warnings: [],
    };
  }

  /**
   * card.protocols, card.maxCommandData and card.maxResponseLength. The schema checks the ranges;
   * here: extended lengths need a protocol that carries them on the interface prep writes
   * scripts for (interfaces[0]): T=1 on contact (T=0 carries short APDUs only, ISO/IEC 7816-3
   * §12.2), or contactless (ISO/IEC 14443-4).
   */
  readApduLimits(card: LMap | undefined): { protocols: ContactProtocol[] | undefined; maxCommandData: number; maxResponseLength: number } {
    const int = (key: string, max: number, dflt: number): number => {
      const v = this.num(card, key);
      return v !== undefined && Number.isInteger(v) && v >= 1 && v <= max ? v : dflt;
    };
    const maxCommandData = int('maxCommandData', MAX_EXTENDED_DATA, MAX_SHORT_DATA);
    const maxResponseLength = int('maxResponseLength', MAX_EXTENDED_LE, MAX_SHORT_LE);
    const ps = this.get(card, 'protocols');
    const protocols =
      ps?.kind === 'seq' ? ps.items.flatMap((i): ContactProtocol[] => (i.kind === 'scalar' && (i.value === 't0' || i.value === 't1') ? [i.value] : [])) : undefined;
    const extendedKey = maxCommandData > MAX_SHORT_DATA ? 'maxCommandData' : maxResponseLength > MAX_SHORT_LE ? 'maxResponseLength' : undefined;
    if (extendedKey) {
      const value = extendedKey === 'maxCommandData' ? maxCommandData : maxResponseLength;
      const short = extendedKey === 'maxCommandData' ? MAX_SHORT_DATA : MAX_SHORT_LE;
      if (this.cos === 'globalplatform') {
        this.warn(
          this.locOf(card, extendedKey),
          'apdu-length',
          `card.${extendedKey} ${value} has no effect on a globalplatform card: every personalization command goes through the secure channel, which cardsmith sends as short APDUs`,
          `leave ${extendedKey} out (default ${short})`,
        );
      } else if (this.interfaces[0] === 'contact' && protocols !== undefined && !protocols.includes('t1')) {
        this.error(
          this.locOf(card, extendedKey),
          'apdu-length',
          `card.${extendedKey} ${value} needs extended-length APDUs, but the contact interface (the first in card.interfaces, the one scripts are written for) offers only T=0, which carries short APDUs (Nc ≤ ${MAX_SHORT_DATA}, Ne ≤ ${MAX_SHORT_LE})`,
          `lower ${extendedKey} to ${short} or less, add t1 to card.protocols if the card offers it, or list contactless first in card.interfaces`,
        );
      }
    }
    return { protocols, maxCommandData, maxResponseLength };
  }

  readParameters(): void {
    for (const e of this.entries(this.get(this.root, 'parameters'))) {
      if (e.value.kind === 'scalar' && (typeof e.value.value === 'string' || typeof e.value.value === 'number')) this.params.set(e.key, e.value.value);
    }
  }

  readKeyStore(): void {
    for (const e of this.entries(this.get(this.root, 'keyStore'))) {
      const label = this.str(e.value, 'label');
      const alg = this.str(e.value, 'algorithm');
      if (label === undefined || alg === undefined) continue;
      this.keyStore[e.key] = { alias: e.key, label, version: this.num(e.value, 'version'), alg: alg === 'sm2' ? 'sm2' : normAlg(alg), loc: e.keyLoc };
    }
    const labels = new Map<string, Loc>();
    for (const ref of Object.values(this.keyStore)) {
      const id = `${ref.label}#${ref.version ?? 'newest'}`;
      const seen = labels.get(id);
      if (seen) this.warn(ref.loc, 'duplicate-label', `key store label ${ref.label} is named by two aliases`, 'two aliases for one key work, but usually one of them should name another key');
      labels.set(id, ref.loc);
    }
  }

  /** The key store entry an alias names; reports unknown aliases and wrong algorithms. */
  alias(map: LNode | undefined, key: string, want?: readonly (KeyAlg | 'sm2')[], what = 'key'): KeyStoreRef | undefined {
    const name = this.str(map, key);
    if (name === undefined) return undefined;
    const ref = this.keyStore[name];
    const loc = this.locOf(map, key);
    if (!ref) {
      if (entry(this.get(this.root, 'keyStore'), name)) return undefined; // malformed entry, reported by the schema
      this.error(loc, 'unknown-keystore-alias', `${what} '${clip(name)}' is not declared under keyStore`, didYouMean(name, Object.keys(this.keyStore)) ?? 'add it to keyStore: with its label and algorithm');
      return undefined;
    }
    this.usedAliases.add(name);
    if (want && !want.includes(ref.alg)) {
      this.error(loc, 'keystore-algorithm', `${what} '${clip(name)}' is ${showAlg(ref.alg)}, here ${want.map(showAlg).join(' or ')} is needed`);
    }
    return ref;
  }

  readTransport(): { key: KeyStoreRef; version: number; loc: Loc } | undefined {
    const t = this.map(this.get(this.root, 'transport'));
    if (!t) return undefined;
    const want: (KeyAlg | 'sm2')[] = this.cos === 'globalplatform' ? [this.scp === 'scp02' ? 'des3' : 'aes'] : ['des3', 'sm4'];
    const key = this.alias(t, 'key', want, 'transport key');
    const version = this.num(t, 'version') ?? (this.cos === 'globalplatform' ? 0xff : 0);
    return key ? { key, version, loc: t.keyLoc ?? t.loc } : undefined;
  }

  // -- record -----------------------------------------------------------------------------------

  readRecord(): void {
    const rec = this.map(this.get(this.root, 'record'));
    for (const e of this.entries(this.get(rec, 'fields'))) {
      const f = this.readField(e.key, e.value, e.keyLoc);
      if (!f) continue;
      this.fields.set(e.key, f);
      const t = fieldExprType(f);
      if (t) this.fieldTypes.set(e.key, t);
    }
    const key = this.str(rec, 'key');
    if (key !== undefined && !this.fields.has(key)) {
      this.error(this.locOf(rec, 'key'), 'unknown-field', `record key '${clip(key)}' is not one of the record's fields`, didYouMean(key, this.fields.keys()) ?? 'name the field that identifies a cardholder, e.g. ssn');
    } else if (key !== undefined && this.fields.get(key)!.required === false) {
      this.error(this.locOf(rec, 'key'), 'optional-key-field', `record key '${clip(key)}' is optional; a key field must be required`);
    }
  }

  readField(name: string, node: LNode, keyLoc: Loc): FieldSpec | undefined {
    const type = this.str(node, 'type') as FieldType | undefined;
    if (!type) return undefined;
    const f: FieldSpec = {
      name,
      type,
      required: this.bool(node, 'required') ?? true,
      description: this.str(node, 'description'),
      charset: this.str(node, 'charset') as 'gbk' | 'ascii' | undefined,
      minLength: this.num(node, 'minLength') ?? this.num(node, 'length'),
      maxLength: this.num(node, 'maxLength') ?? this.num(node, 'length'),
      maxBytes: this.num(node, 'maxBytes'),
      min: this.num(node, 'min'),
      max: this.num(node, 'max'),
      values: (() => {
        const v = this.get(node, 'values');
        return v?.kind === 'seq' ? v.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : undefined;
      })(),
      pattern: this.str(node, 'pattern'),
      format: this.str(node, 'format') as FieldSpec['format'],
      past: this.bool(node, 'past'),
      loc: keyLoc,
    };
    const allowed: Record<FieldType, string[]> = {
      'citizen-id': ['past'],
      'card-number': [],
      text: ['charset', 'length', 'minLength', 'maxLength', 'maxBytes', 'pattern'],
      digits: ['length', 'minLength', 'maxLength', 'min', 'max', 'pattern'],
      region: [],
      date: ['past'],
      enum: ['values'],
      file: ['maxBytes', 'format'],
      pan: [],
      pin: ['length', 'minLength', 'maxLength'],
    };
    const common = ['type', 'required', 'description'];
    const known = new Set(Object.values(allowed).flat());
    for (const e of this.entries(node)) {
      // Keys the schema does not know are reported by it ("unknown key"); here only misplaced known ones.
      if (known.has(e.key) && !common.includes(e.key) && !allowed[type].includes(e.key)) {
        this.error(e.keyLoc, 'field-option', `'${clip(e.key)}' does not apply to a ${type} field`, allowed[type].length ? `${type} fields take: ${allowed[type].join(', ')}` : `a ${type} field takes no options besides required and description`);
      }
    }
    if (type === 'text' && f.maxLength === undefined && f.maxBytes === undefined) {
      this.error(keyLoc, 'field-length', `text field '${clip(name)}' needs maxLength or maxBytes`, 'say how long the text may be, e.g. maxBytes: 30 for a GBK name');
    }
    if (type === 'text' && f.charset === undefined) f.charset = 'gbk';
    if (type === 'file' && f.maxBytes === undefined) this.error(keyLoc, 'field-length', `file field '${clip(name)}' needs maxBytes`, 'the largest file accepted, e.g. maxBytes: 8192');
    if (type === 'digits' && f.maxLength === undefined) this.error(keyLoc, 'field-length', `digits field '${clip(name)}' needs length or maxLength`);
    if (type === 'enum' && (!f.values || f.values.length === 0)) this.error(keyLoc, 'field-values', `enum field '${clip(name)}' needs values`, "values: ['1', '2']");
    if (f.minLength !== undefined && f.maxLength !== undefined && f.minLength > f.maxLength) {
      this.error(keyLoc, 'field-length', `field '${clip(name)}': minLength ${f.minLength} is more than maxLength ${f.maxLength}`);
    }
    if (f.pattern !== undefined) {
      try {
        new RegExp(f.pattern, 'u');
      } catch (e) {
        this.error(this.locOf(node, 'pattern'), 'bad-pattern', `field '${clip(name)}': the pattern is not a regular expression (${(e as Error).message})`);
      }
    }
    return f;
  }

  readRules(): RecordRule[] {
    const out: RecordRule[] = [];
    const rules = this.get(this.get(this.root, 'record'), 'rules');
    if (rules?.kind !== 'seq') return out;
    for (const r of rules.items) {
      const eq = this.get(r, 'equal');
      if (eq?.kind !== 'seq' || eq.items.length !== 2) continue;
      const a = this.exprNode(eq.items[0]!, 'rule');
      const b = this.exprNode(eq.items[1]!, 'rule');
      if (!a || !b) continue;
      for (const [x, n] of [[a, eq.items[0]!], [b, eq.items[1]!]] as const) {
        if (x.type.t !== 'text') this.error(n.loc, 'expr-type', `rule: compares text; this side is ${describeType(x.type)}`);
        if (x.phase === 'run') this.error(n.loc, 'expr-phase', 'rule: uses facts known only with the card in the encoder; rules are checked when the batch is read');
      }
      out.push({ equal: [a, b], message: this.str(r, 'message') ?? 'rule failed', loc: r.loc });
    }
    return out;
  }

  readSerials(): void {
    for (const e of this.entries(this.get(this.root, 'serials'))) {
      this.serials.set(e.key, { name: e.key, start: this.num(e.value, 'start') ?? 1, loc: e.keyLoc });
    }
  }

  // -- file tree (sscard) -----------------------------------------------------------------------

  /** First pass over a DF: builds nodes and declares keys and PINs (names must exist before expressions). */
  declareDf(node: LMap, name: string, path: string, parent: DfNode | undefined): DfNode {
    const isMf = parent === undefined;
    const fid = this.hexNum(node, 'fid') ?? (isMf ? 0x3f00 : undefined);
    let aid = this.hex(node, 'aid');
    const aidText = this.str(node, 'aidText');
    if (aidText !== undefined) {
      if (aid) this.error(this.keyLocOf(node, 'aidText'), 'aid-twice', `DF ${name} gives both aid and aidText`, 'keep one');
      try {
        aid = encodeGbk(aidText);
        if (aid.length > 16) {
          this.error(this.locOf(node, 'aidText'), 'aid-length', `DF name '${clip(aidText)}' is ${aid.length} bytes in GBK; a DF name holds at most 16`);
          aid = undefined;
        }
      } catch (e) {
        this.error(this.locOf(node, 'aidText'), 'aid-text', `DF name: ${(e as Error).message}`);
      }
    }
    const df: DfNode = {
      kind: 'df',
      name,
      path,
      fid,
      aid,
      access: { create: { kind: 'never' }, keyWrite: { kind: 'never' } },
      keys: [],
      pins: [],
      children: [],
      loc: node.keyLoc ?? node.loc,
    };
    this.filesByPath.set(path, df);
    if (isMf && fid !== 0x3f00) this.error(this.locOf(node, 'fid'), 'mf-fid', `the MF's FID is 3F00, not ${hex4(fid ?? 0)}`, 'leave fid out of mf:');
    if (!isMf && fid === undefined && aid === undefined) {
      this.error(df.loc, 'df-identity', `DF ${name} has neither fid nor aid`, 'a DF is selected by FID or by name (aid); give at least one');
    }
    if (!isMf && fid !== undefined && [0x3f00, 0x3fff, 0xffff].includes(fid)) {
      this.error(this.locOf(node, 'fid'), 'reserved-fid', `FID ${hex4(fid)} is reserved (ISO/IEC 7816-4: 3F00 is the MF, 3FFF and FFFF are reserved)`);
    }
    for (const e of this.entries(this.get(node, 'keys'))) this.declareKey(e.key, e.value, e.keyLoc, path === '' ? 'MF' : path, df);
    for (const e of this.entries(this.get(node, 'pins'))) {
      const m = this.map(e.value);
      if (!m) continue;
      if (this.keyDecls.has(e.key) || this.pinDecls.has(e.key)) {
        this.error(e.keyLoc, 'duplicate-key-name', `the name ${e.key} is used for a key or PIN already`, 'key and PIN names are unique across the profile, since access conditions and expressions name them');
        continue;
      }
      this.pinDecls.set(e.key, { name: e.key, df, node: m, id: this.hexNum(m, 'id') });
    }
    for (const e of this.entries(this.get(node, 'files'))) {
      const m = this.map(e.value);
      if (!m) continue;
      const childPath = path === '' ? e.key : `${path}/${e.key}`;
      const isEf = this.str(m, 'type') === 'ef' || ['structure', 'sfi', 'size', 'recordLength', 'records', 'tlv', 'internal', 'data'].some((k) => entry(m, k));
      if (isEf) df.children.push(this.declareEf(m, e.key, childPath));
      else df.children.push(this.declareDf(m, e.key, childPath, df));
    }
    this.srcOf.set(df, node);
    return df;
  }

  declareEf(node: LMap, name: string, path: string): EfNode {
    const structure = (this.str(node, 'structure') ?? 'transparent') as EfStructure;
    const ef: EfNode = {
      kind: 'ef',
      name,
      path,
      fid: this.hexNum(node, 'fid') ?? 0,
      sfi: this.num(node, 'sfi'),
      structure,
      tlv: this.bool(node, 'tlv') ?? false,
      internal: this.bool(node, 'internal') ?? false,
      size: this.num(node, 'size') ?? 0,
      recordLength: this.num(node, 'recordLength') ?? 0,
      maxRecords: this.num(node, 'records') ?? 0,
      access: { read: { kind: 'never' }, update: { kind: 'never' }, append: { kind: 'never' } },
      elements: [],
      loc: node.keyLoc ?? node.loc,
    };
    this.filesByPath.set(path, ef);
    this.srcOf.set(ef, node);
    const loc = ef.loc;
    if ([0x3f00, 0x3fff, 0xffff].includes(ef.fid)) {
      this.error(this.locOf(node, 'fid'), 'reserved-fid', `FID ${hex4(ef.fid)} is reserved (ISO/IEC 7816-4: 3F00 is the MF, 3FFF and FFFF are reserved)`, 'choose another FID');
    }
    if (structure === 'transparent') {
      if (entry(node, 'size') === undefined) this.error(loc, 'ef-size', `transparent EF ${name} needs size`, 'size: bytes of the file');
      for (const k of ['recordLength', 'records', 'tlv']) {
        if (entry(node, k)) this.error(this.keyLocOf(node, k), 'ef-shape', `'${clip(k)}' is for record files; EF ${name} is transparent`);
      }
    } else {
      for (const k of ['recordLength', 'records']) {
        if (entry(node, k) === undefined) this.error(loc, 'ef-size', `record EF ${name} needs ${k}`, k === 'records' ? 'records: how many records the file holds' : 'recordLength: bytes of one record (the maximum for linear-variable)');
      }
      if (entry(node, 'size')) this.error(this.keyLocOf(node, 'size'), 'ef-shape', `'size' is for transparent files; EF ${name} is ${structure} (give recordLength and records)`);
      if (ef.internal) this.error(this.keyLocOf(node, 'internal'), 'ef-shape', `only transparent EFs can be internal (EF ${name} is ${structure})`);
      if (ef.tlv && ef.recordLength === 1) this.error(this.locOf(node, 'recordLength'), 'ef-shape', 'a SIMPLE-TLV record needs at least 2 bytes (tag and length)');
    }
    return ef;
  }

  declareKey(name: string, node: LNode, keyLoc: Loc, owner: string, df?: DfNode): void {
    const m = this.map(node);
    if (!m) return;
    if (this.keyDecls.has(name) || this.pinDecls.has(name)) {
      this.error(keyLoc, 'duplicate-key-name', `the name ${name} is used for a key or PIN already`, 'key and PIN names are unique across the profile, since access conditions and expressions name them');
      return;
    }
    const role = this.str(m, 'type') as KeyRole | undefined;
    const decl: KeyDecl = { name, owner, df, node: m, role, id: this.hexNum(m, 'id') };
    this.keyDecls.set(name, decl);
    if (df && role !== undefined && !SSCARD_ROLES.has(role)) {
      this.error(this.locOf(m, 'type'), 'key-role', `key type '${clip(role)}' is not one of the social-security COS's key types`, `use ${[...SSCARD_ROLES].join(', ')}`);
    }
  }

  /** Second pass: access conditions, directory, data elements; recursively. */
  completeDf(df: DfNode): void {
    const node = this.srcOf.get(df)!;
    const access = this.map(this.get(node, 'access'));
    const isMf = df.path === '';
    if (isMf && !access) {
      // The MF exists on the blank card; its conditions are the chip's: key 00 of the MF.
      const mk = [...this.keyDecls.values()].find((k) => k.df === df && k.role === 'master' && k.id === 0);
      if (mk) df.access = { create: { kind: 'key', key: mk.name, id: 0 }, keyWrite: { kind: 'key', key: mk.name, id: 0 } };
    } else {
      df.access = { create: this.access(access, 'create', df, df), keyWrite: this.access(access, 'keyWrite', df, df) };
    }
    this.readDirectory(df, node);
    this.checkSiblings(df);
    for (const c of df.children) {
      if (c.kind === 'df') this.completeDf(c);
      else this.completeEf(c, df);
    }
  }

  checkSiblings(df: DfNode): void {
    const fids = new Map<number, FileNode>();
    const sfis = new Map<number, EfNode>();
    for (const c of df.children) {
      const src = this.srcOf.get(c);
      if (c.fid !== undefined && c.fid !== 0) {
        const other = fids.get(c.fid);
        if (other) {
          this.error(this.locOf(src, 'fid'), 'duplicate-fid', `FID ${hex4(c.fid)} is used twice in ${dfName(df)}: by ${other.name} and ${c.name}`, `FIDs must be unique within a DF; ${other.name} is at ${at(other.loc)}`);
        } else fids.set(c.fid, c);
      }
      if (c.kind === 'ef' && c.sfi !== undefined) {
        const other = sfis.get(c.sfi);
        if (other) {
          this.error(this.locOf(src, 'sfi'), 'duplicate-sfi', `SFI ${c.sfi} is used twice in ${dfName(df)}: by ${other.name} and ${c.name}`, `SFIs must be unique within a DF; ${other.name} is at ${at(other.loc)}`);
        } else sfis.set(c.sfi, c);
      }
    }
    // DF names (AIDs) are unique on the whole card (SELECT by name must find one DF).
    if (df.path === '') {
      const seen = new Map<string, DfNode>();
      const walk = (d: DfNode): void => {
        if (d.aid) {
          const k = toHex(d.aid);
          const other = seen.get(k);
          const src = this.srcOf.get(d);
          if (other) {
            this.error(this.locOf(src, entry(src, 'aid') ? 'aid' : 'aidText'), 'duplicate-aid', `DF name ${k} is used by ${dfName(other)} and ${dfName(d)}`, 'DF names (AIDs) must be unique on the card');
          } else seen.set(k, d);
        }
        for (const c of d.children) if (c.kind === 'df') walk(c);
      };
      walk(df);
    }
  }

  readDirectory(df: DfNode, node: LMap): void {
    const dir = this.get(node, 'directory');
    if (dir?.kind !== 'seq') return;
    const entries: DirectoryEntry[] = [];
    for (const item of dir.items) {
      const aid = this.hex(item, 'aid');
      if (!aid) continue;
      const label = this.str(item, 'label');
      if (label !== undefined && !/^[\x20-\x7e]*$/.test(label)) this.error(this.locOf(item, 'label'), 'label-charset', 'an application label (tag 50) is ASCII text');
      entries.push({ aid, label, priority: this.num(item, 'priority'), loc: item.loc });
    }
    df.directory = entries;
    const isDir = df.aid && (equal(df.aid, PPSE) || equal(df.aid, PSE));
    if (!isDir) {
      this.warn(this.keyLocOf(node, 'directory'), 'directory-name', `DF ${df.name} has a directory but is not named 1PAY.SYS.DDF01 (PSE) or 2PAY.SYS.DDF01 (PPSE)`, 'terminals look for the directory under those names');
    }
    if (df.aid && equal(df.aid, PPSE) && !this.interfaces.includes('contactless')) {
      this.error(this.keyLocOf(node, 'directory'), 'ppse-contact-only', 'a PPSE lists applications for the contactless interface, and this card has none', 'add contactless to card.interfaces, or remove the PPSE');
    }
    const apps = entries.map((e) => {
      const parts = [buildTlv(0x4f, e.aid)];
      if (e.label !== undefined) parts.push(buildTlv(0x50, new TextEncoder().encode(e.label)));
      if (e.priority !== undefined) parts.push(buildTlv(0x87, Uint8Array.of(e.priority)));
      return buildTlv(0x61, parts);
    });
    df.fciProprietary = buildTlv(0xbf0c, apps);
  }

  /** Resolves `pin(X)`, `auth(X)` and `mac(X)` and checks the card would find X from `df`. */
  access(map: LMap | undefined, op: string, df: DfNode, from: DfNode): AccessSpec {
    const text = this.str(map, op);
    if (text === undefined) return { kind: 'never' };
    if (text === 'always' || text === 'never') return { kind: text };
    const m = /^(pin|auth|mac)\(([A-Za-z_][A-Za-z0-9_-]*)\)$/.exec(text);
    if (!m) return { kind: 'never' }; // reported by the schema
    const [, kind, name] = m as unknown as [string, 'pin' | 'auth' | 'mac', string];
    const scalarNode = this.get(map, op) as LScalar;
    const nameLoc: Loc = scalarNode.at ? scalarNode.at(kind.length + 1) : scalarNode.loc;
    const chain: DfNode[] = [];
    for (let p = from.path; ; ) {
      const d = this.filesByPath.get(p);
      if (d && d.kind === 'df') chain.push(d);
      if (p === '') break;
      p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    }
    if (kind === 'pin') {
      const pin = this.pinDecls.get(name);
      if (!pin) {
        this.error(nameLoc, 'unknown-pin', `${op}: PIN '${clip(name)}' is not defined`, didYouMean(name, this.pinDecls.keys()) ?? 'define it under pins: of this DF or a DF above it');
        return { kind: 'never' };
      }
      if (!chain.includes(pin.df)) {
        this.error(nameLoc, 'key-not-visible', `${op}: PIN ${name} is in ${dfName(pin.df)}, which is not ${dfName(df)} or above it`, 'the card looks a PIN up in the current DF and then in the DFs above it');
      } else if (pin.id !== undefined) {
        const first = chain.map((d) => [...this.pinDecls.values()].find((p) => p.df === d && p.id === pin.id)).find((p) => p !== undefined);
        if (first && first !== pin) this.error(nameLoc, 'key-shadowed', `${op}: the card would use PIN ${first.name} (id ${hex2(pin.id)} in ${dfName(first.df)}), not ${name}`, 'give the PINs different ids');
      }
      return { kind: 'pin', pin: name, id: pin.id ?? 0 };
    }
    const key = this.keyDecls.get(name);
    if (!key) {
      this.error(nameLoc, 'unknown-key-ref', `${op}: key '${clip(name)}' is not defined`, didYouMean(name, this.keyDecls.keys()) ?? 'define it under keys: of this DF or a DF above it');
      return { kind: 'never' };
    }
    const types = kind === 'auth' ? ['external-auth', 'master'] : ['line-protection'];
    if (key.role !== undefined && !types.includes(key.role)) {
      this.error(nameLoc, 'key-role', `${op}: ${kind}(${name}) needs ${kind === 'auth' ? 'an external-auth or master key' : 'a line-protection key'}, and ${name} is ${key.role}`);
    }
    if (!key.df || !chain.includes(key.df)) {
      this.error(nameLoc, 'key-not-visible', `${op}: key ${name} is in ${key.df ? dfName(key.df) : key.owner}, which is not ${dfName(df)} or above it`, 'the card looks a key up in the current DF and then in the DFs above it');
    } else if (key.id !== undefined) {
      // The simulator's lookup: DF by DF upward, and in each DF the types in order.
      let first: KeyDecl | undefined;
      for (const d of chain) {
        for (const t of types) {
          first = [...this.keyDecls.values()].find((k) => k.df === d && k.role === t && k.id === key.id);
          if (first) break;
        }
        if (first) break;
      }
      if (first && first !== key) {
        this.error(nameLoc, 'key-shadowed', `${op}: the card would use key ${first.name} (${first.role} id ${hex2(key.id)} in ${dfName(first.df!)}), not ${name}`, `use ${kind}(${first.name}), or give the keys different ids`);
      }
    }
    return { kind: kind === 'auth' ? 'key' : 'sm', key: name, id: key.id ?? 0 };
  }

  completeEf(ef: EfNode, df: DfNode): void {
    const node = this.srcOf.get(ef)!;
    const access = this.map(this.get(node, 'access'));
    ef.access = { read: this.access(access, 'read', df, df), update: this.access(access, 'update', df, df), append: this.access(access, 'append', df, df) };
    const data = this.get(node, 'data');
    const byTag = new Map<number, DataElement>();
    const byRecord = new Map<number, DataElement>();
    let nextOffset = 0;
    const ranges: { from: number; to: number; el: DataElement }[] = [];
    for (const e of this.entries(data)) {
      const el = this.element(e.key, e.value, e.keyLoc, ef);
      if (!el) continue;
      const src = this.map(e.value)!;
      if (ef.structure === 'transparent') {
        for (const k of ['tag', 'record']) if (entry(src, k)) this.error(this.keyLocOf(src, k), 'element-place', `'${clip(k)}' is for record files; ${ef.name} is transparent (use offset)`);
        el.offset = this.num(src, 'offset') ?? nextOffset;
        nextOffset = el.offset + el.length;
        if (el.offset + el.length > ef.size && ef.size > 0) {
          this.error(el.loc, 'data-past-end', `element ${el.name} (${el.length} bytes at offset ${el.offset}) runs past the end of ${ef.name}, which is ${ef.size} bytes`, 'make the file larger or the element shorter');
        }
        const clash = ranges.find((r) => el.offset! < r.to && r.from < el.offset! + el.length);
        if (clash) this.error(el.loc, 'element-overlap', `element ${el.name} overlaps ${clash.el.name} in ${ef.name}`, 'give each element its own offset range');
        ranges.push({ from: el.offset, to: el.offset + el.length, el });
      } else if (ef.tlv) {
        if (entry(src, 'offset')) this.error(this.keyLocOf(src, 'offset'), 'element-place', `'offset' is for transparent files; in ${ef.name} each element is one TLV record`);
        if (entry(src, 'record')) this.error(this.keyLocOf(src, 'record'), 'element-place', `${ef.name} is a SIMPLE-TLV file: records are found by tag, not by number`, 'give tag: instead of record:');
        const tag = this.hexNum(src, 'tag');
        if (tag === undefined) {
          if (!entry(src, 'tag')) this.error(el.loc, 'element-place', `element ${el.name} of SIMPLE-TLV file ${ef.name} needs a tag`, "tag: '01' … 'FE'");
          continue;
        }
        if (tag === 0x00 || tag === 0xff) this.error(this.locOf(src, 'tag'), 'element-place', `tag ${hex2(tag)} cannot start a SIMPLE-TLV record (00 and FF are padding)`);
        el.tag = tag;
        const other = byTag.get(tag);
        if (other) this.error(this.locOf(src, 'tag'), 'duplicate-tag', `tag ${hex2(tag)} is used by ${other.name} and ${el.name} in ${ef.name}`, 'the tag identifies the record; each must be unique in its file');
        else byTag.set(tag, el);
        const size = 2 + el.length;
        if (ef.recordLength > 0 && size > ef.recordLength) {
          this.error(el.loc, 'record-too-long', `record ${hex2(tag)} (${el.name}) is ${size} bytes (tag, length and ${el.length} bytes of value), but records of ${ef.name} hold at most ${ef.recordLength}`, `raise ${ef.name}'s recordLength to ${size} or more, or shorten the element`);
        }
        if (ef.structure !== 'linear-variable' && ef.recordLength > 0 && size < ef.recordLength && !el.fixed) {
          this.warn(el.loc, 'record-short', `${ef.structure} records are exactly ${ef.recordLength} bytes; ${el.name} may be shorter and is then padded`);
        }
      } else {
        for (const k of ['tag', 'offset']) if (entry(src, k)) this.error(this.keyLocOf(src, k), 'element-place', `'${clip(k)}' does not apply in ${ef.name} (a record file without tlv: use record: N)`);
        const rec = this.num(src, 'record');
        if (rec === undefined) {
          this.error(el.loc, 'element-place', `element ${el.name} of record file ${ef.name} needs record: N`);
          continue;
        }
        el.record = rec;
        const other = byRecord.get(rec);
        if (other) this.error(this.locOf(src, 'record'), 'duplicate-record', `record ${rec} is written by ${other.name} and ${el.name}`);
        else byRecord.set(rec, el);
        if (ef.maxRecords > 0 && rec > ef.maxRecords) this.error(this.locOf(src, 'record'), 'too-many-records', `record ${rec} does not exist: ${ef.name} holds ${ef.maxRecords} records`);
        if (ef.recordLength > 0 && el.length > ef.recordLength) {
          this.error(el.loc, 'record-too-long', `element ${el.name} is ${el.length} bytes, but records of ${ef.name} hold at most ${ef.recordLength}`, `raise recordLength or shorten the element`);
        } else if (ef.structure !== 'linear-variable' && ef.recordLength > 0 && (el.length !== ef.recordLength || !el.fixed)) {
          this.error(el.loc, 'record-length', `${ef.structure} records of ${ef.name} are exactly ${ef.recordLength} bytes; element ${el.name} must be length: ${ef.recordLength}`);
        }
      }
      ef.elements.push(el);
    }
    if (ef.structure !== 'transparent' && ef.maxRecords > 0 && ef.elements.length > ef.maxRecords && ef.structure !== 'cyclic') {
      this.error(this.keyLocOf(node, 'data'), 'too-many-records', `${ef.name} gets ${ef.elements.length} records, but holds ${ef.maxRecords}`, `raise records to ${ef.elements.length} or more`);
    }
    if (ef.elements.length > 0) {
      // Personalization writes transparent files with UPDATE BINARY and record files with APPEND RECORD.
      const op = ef.structure === 'transparent' ? 'update' : 'append';
      if (ef.access[op].kind === 'never') {
        this.error(this.keyLocOf(node, 'access'), 'unwritable', `${ef.name} has data to write, but its ${op} access is never, which even the personalization authority cannot pass`, `give ${op}: a condition (e.g. auth(KEY)) — during personalization the card accepts any condition except never`);
      }
    }
    if (ef.internal && ef.elements.length > 0) this.error(this.keyLocOf(node, 'data'), 'ef-shape', `${ef.name} is internal (a private key); only on-card key generation writes it`);
  }

  /** A data element: codec, value expression (or parts), and whether the value fits the codec. */
  element(name: string, node: LNode, keyLoc: Loc, ef: EfNode): DataElement | undefined {
    const m = this.map(node);
    if (!m) return undefined;
    const encoding = this.str(m, 'encoding') as Encoding | undefined;
    if (!encoding) return undefined;
    const length = this.num(m, 'length');
    const maxLength = this.num(m, 'maxLength');
    if ((length === undefined) === (maxLength === undefined)) {
      this.error(keyLoc, 'element-length', `element ${name} needs exactly one of length and maxLength`, 'length: always that many bytes (padded); maxLength: up to that many');
      return undefined;
    }
    const el: DataElement = {
      name,
      encoding,
      length: (length ?? maxLength)!,
      fixed: length !== undefined,
      pad: this.hexNum(m, 'pad'),
      skipEmpty: this.bool(m, 'skipEmpty') ?? false,
      loc: keyLoc,
    };
    this.checkCodec(el, m, `${ef.name}.${name}`);
    const partsNode = this.get(m, 'parts');
    if (partsNode && entry(m, 'value')) {
      this.error(this.keyLocOf(m, 'parts'), 'element-value', `element ${name} gives both value and parts`, 'keep one');
      return el;
    }
    if (partsNode) {
      if (encoding !== 'binary') this.error(this.locOf(m, 'encoding'), 'element-value', `element ${name} has parts, so its encoding is binary (each part has its own)`);
      const parts: ElementPart[] = [];
      for (const p of this.entries(partsNode)) {
        const pm = this.map(p.value);
        const penc = this.str(pm, 'encoding') as Encoding | undefined;
        const plen = this.num(pm, 'length');
        if (!pm || !penc || plen === undefined) {
          if (pm && entry(pm, 'maxLength')) this.error(p.keyLoc, 'element-length', `part ${p.key} needs a fixed length (parts sit side by side)`);
          continue;
        }
        const part: ElementPart = { name: p.key, encoding: penc, length: plen, fixed: true, pad: this.hexNum(pm, 'pad'), value: undefined as unknown as Expr, loc: p.keyLoc };
        this.checkCodec(part, pm, `${ef.name}.${name}.${p.key}`);
        const v = this.expr(pm, 'value', `${name}.${p.key}`);
        if (v) {
          this.checkFit(part, v, this.get(pm, 'value')!, `${name}.${p.key}`);
          part.value = v;
          parts.push(part);
        }
      }
      const total = this.entries(partsNode).reduce((n, p) => n + (this.num(p.value, 'length') ?? 0), 0);
      if (total !== el.length) {
        this.error(this.keyLocOf(m, 'parts'), 'parts-length', `the parts of ${name} add up to ${total} bytes, but the element is ${el.length}`, 'make the part lengths add up to the element length');
      }
      el.parts = parts;
      return el;
    }
    const valueNode = this.get(m, 'value');
    if (!valueNode) {
      this.error(keyLoc, 'element-value', `element ${name} needs a value (or parts)`, 'value: ${record.FIELD} or a literal');
      return undefined;
    }
    const v = this.exprNode(valueNode, name);
    if (v) {
      this.checkFit(el, v, valueNode, name);
      el.value = v;
    }
    return el;
  }

  checkCodec(el: { encoding: Encoding; length: number; fixed: boolean; pad?: number | undefined }, m: LMap, what: string): void {
    const allowed = ALLOWED_PADS[el.encoding];
    if (el.pad !== undefined && allowed !== 'any' && !allowed.includes(el.pad)) {
      const hint = allowed.length === 0 ? `${el.encoding} pads by itself (${el.encoding === 'cn' ? 'F nibbles on the right' : el.encoding === 'bcd' ? '0 nibbles on the left' : 'never'}); remove pad` : `${el.encoding} pads with ${allowed.map(hex2).join(' or ')}`;
      this.error(this.locOf(m, 'pad'), 'bad-pad', `${what}: pad ${hex2(el.pad)} is not allowed for ${el.encoding}`, hint);
    }
    if (el.encoding === 'date' && (el.length !== 4 || !el.fixed)) {
      this.error(this.locOf(m, el.fixed ? 'length' : 'maxLength'), 'element-length', `${what}: a date is 4 bytes (YYYYMMDD in BCD)`, 'length: 4');
    }
  }

  /** Whether every value the expression can take fits the element's encoding and length. */
  checkFit(el: { encoding: Encoding; length: number; fixed: boolean; pad?: number | undefined }, v: Expr, node: LNode, what: string): void {
    const t = v.type;
    const loc = node.loc;
    const enc = el.encoding;
    const L = el.length;
    const fail = (message: string, hint?: string): void => this.error(loc, 'encoding-capacity', `${what}: ${message}`, hint);
    if (enc === 'binary') {
      if (v.literal && t.t === 'text') {
        // A literal value of a binary element is hex.
        try {
          const b = fromHex(t.constant ?? '');
          if (b.length > L) fail(`${b.length} bytes of hex do not fit in ${L} bytes`);
          else if (el.fixed && b.length < L && el.pad === undefined) fail(`${b.length} bytes of hex for a ${L}-byte element with no pad`, 'give pad: 00 (or the right pad byte), or the full value');
        } catch (e) {
          fail(`a literal binary value is hex: ${(e as Error).message}`);
        }
        return;
      }
      if (t.t !== 'bytes') {
        fail(`binary needs bytes, but the value is ${describeType(t)}`, 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk()');
        return;
      }
      if (t.min > L) fail(`the value is at least ${t.min} bytes; the element holds ${L}`);
      else if (t.max > L) fail(`the value can be up to ${t.max} bytes; the element holds ${L}`);
      else if (el.fixed && t.min < L && el.pad === undefined) fail(`the value can be shorter (${t.min} bytes) than the ${L}-byte element, which has no pad`, 'give pad: 00 (or the right pad byte)');
      return;
    }
    if (t.t === 'bytes' || t.t === 'key') {
      fail(`${enc} needs text, but the value is ${describeType(t)}`, 'use encoding: binary for bytes');
      return;
    }
    if (t.t === 'int') return;
    switch (enc) {
      case 'an':
        if (t.charset === 'any') fail('an holds printable ASCII; the value can hold other characters (Chinese text needs gbk)', 'use encoding: gbk for names');
        if (t.max > L) fail(`an of up to ${t.max} characters does not fit in ${L} bytes`, `raise the length to ${t.max} or limit the field`);
        break;
      case 'gbk':
        if (t.gbkMax > L) {
          fail(`GBK text of up to ${t.gbkMax} bytes does not fit in ${L} bytes`, `raise the length to ${t.gbkMax} or declare the field with maxBytes: ${L}`);
        }
        break;
      case 'cn':
      case 'bcd':
        if (t.charset !== 'digits') fail(`${enc} holds digits; the value can hold ${t.charset === 'upper' ? 'letters (such as a check character X)' : 'other characters'}`, 'use an for text with letters');
        else if (Math.ceil(t.max / 2) > L) fail(`${enc} of ${range(t.min, t.max)} digits needs ${Math.ceil(t.max / 2)} bytes; the element has ${L}`, `length: ${Math.ceil(t.max / 2)}`);
        break;
      case 'date':
        if (t.charset !== 'digits' || t.min !== 8 || t.max !== 8) fail(`a date element takes 8 digits (YYYYMMDD); the value is ${describeType(t)}`, 'record fields of type date and date.today are YYYYMMDD');
        break;
    }
  }

  checkMemory(mf: DfNode, card: LMap | undefined): void {
    const memory = this.num(card, 'memory');
    let used = 0;
    const walk = (n: FileNode): void => {
      if (n.kind === 'df') {
        used += DF_COST;
        n.children.forEach(walk);
      } else used += (n.structure === 'transparent' ? n.size : n.recordLength * n.maxRecords) + EF_OVERHEAD;
    };
    walk(mf);
    if (memory !== undefined && used > memory) {
      this.error(this.locOf(card, 'memory'), 'memory', `the file tree needs ${used} bytes of card memory, the card has ${memory}`, 'make files smaller or choose a card with more memory');
    }
  }

  // -- keys ------------------------------------------------------------------------------------

  /** Builds and checks one card key (its derivation too); returns undefined when it cannot. */
  cardKey(decl: KeyDecl): CardKeySpec | undefined {
    const m = decl.node;
    const role = decl.role;
    const id = decl.id;
    const loc = m.keyLoc ?? m.loc;
    if (role === undefined || id === undefined) return undefined;
    const algText = this.str(m, 'algorithm');
    const alg = algText ? normAlg(algText) : this.keyAlgorithm;
    if (decl.df && alg === 'aes') this.error(algText ? this.locOf(m, 'algorithm') : loc, 'key-algorithm', `key ${decl.name}: the social-security COS keeps 3DES and SM4 keys, not AES`);
    if (!decl.df && decl.owner === 'isd') {
      const want = this.scp === 'scp02' ? 'des3' : 'aes';
      if (alg !== want) this.error(algText ? this.locOf(m, 'algorithm') : loc, 'key-algorithm', `key ${decl.name}: ${this.scp.toUpperCase()} key sets are ${showAlg(want)}, not ${showAlg(alg)}`);
    }
    const version = this.num(m, 'version') ?? 1;
    const tries = this.num(m, 'tries');
    if (decl.df && tries === undefined) this.error(loc, 'key-tries', `key ${decl.name} needs tries (its error counter limit, 1-15)`);
    const derive = this.derivation(decl, alg, role);
    if (!derive) return undefined;
    return { name: decl.name, owner: decl.owner, role, id, version, alg, tries, derive, loc };
  }

  derivation(decl: KeyDecl, alg: KeyAlg, role: KeyRole): DerivationSpec | undefined {
    const d = this.map(this.get(decl.node, 'derive'));
    if (!d) return undefined;
    const method = this.str(d, 'method') as DiversifyMethod | undefined;
    if (!method || !DIVERSIFY_METHODS.includes(method)) return undefined;
    const wantMaster: KeyAlg[] = method === 'pboc' ? [alg === 'sm4' ? 'sm4' : 'des3'] : method === 'kdf3' ? ['aes'] : ['des3'];
    const master = this.alias(d, 'master', wantMaster, `master of ${decl.name}`);
    const loc = d.keyLoc ?? d.loc;
    const keyAlgFor: Record<DiversifyMethod, KeyAlg[]> = { pboc: ['des3', 'sm4'], emv: ['des3'], visa2: ['des3'], cps11: ['des3'], 'emv-option-a': ['des3'], kdf3: ['aes'] };
    if (!keyAlgFor[method].includes(alg)) {
      this.error(this.locOf(d, 'method'), 'derive-algorithm', `key ${decl.name} is ${showAlg(alg)}, and ${method} derives ${keyAlgFor[method].map(showAlg).join(' or ')} keys`);
    }
    const dataNodes: LNode[] = [];
    const levels = this.get(d, 'levels');
    const data = this.get(d, 'data');
    if (levels && data) this.error(this.keyLocOf(d, 'levels'), 'derive-data', `key ${decl.name}: give data or levels, not both`);
    if (levels?.kind === 'seq') {
      if (method !== 'pboc') this.error(this.keyLocOf(d, 'levels'), 'derive-data', `levels are for pboc diversification; ${method} takes one data:`);
      dataNodes.push(...levels.items);
    } else if (data) dataNodes.push(data);
    else {
      this.error(loc, 'derive-data', `key ${decl.name} needs its diversification data (data: or levels:)`, method === 'pboc' ? 'levels: [level 1 (8 bytes), level 2 (8 bytes)]' : 'data: ${card.kdd}');
      return undefined;
    }
    const want = method === 'pboc' || method === 'emv-option-a' ? 8 : 10;
    const exprs: Expr[] = [];
    for (const n of dataNodes) {
      const e = this.exprNode(n, `diversification data of ${decl.name}`);
      if (!e) continue;
      const t = e.type;
      const literalHex = e.literal && t.t === 'text' ? safeHex(t.constant ?? '') : undefined;
      const size = literalHex ? bytesType(literalHex.length, literalHex.length) : t;
      if (size.t !== 'bytes') {
        this.error(n.loc, 'derive-data', `diversification data of ${decl.name} must be bytes, but it is ${describeType(t)}`, 'build it with hex(), bcd(), ascii() or card.chipId, e.g. ${concat(ascii(param.cityCode), ascii(\'sx\'))}');
      } else if (size.min !== want || size.max !== want) {
        this.error(n.loc, 'derive-data', `${method} needs ${want} bytes of data${method === 'pboc' ? ' per level' : ''}; this gives ${range(size.min, size.max)}`);
      }
      exprs.push(e);
    }
    if (method === 'pboc' && exprs.length > 3) this.error(this.keyLocOf(d, 'levels'), 'derive-data', 'pboc takes 1 to 3 levels');
    let keyType = this.str(d, 'keyType') as GpKeyType | undefined;
    const needsType = method === 'emv' || method === 'visa2' || method === 'kdf3' || method === 'cps11';
    if (needsType && keyType === undefined && (role === 'enc' || role === 'mac' || role === 'dek')) keyType = role;
    if (needsType && keyType === undefined) this.error(loc, 'derive-key-type', `${method} derives one key of an ENC/MAC/DEK set; say which with keyType`, 'keyType: enc, mac or dek');
    if (!needsType && entry(d, 'keyType')) this.error(this.keyLocOf(d, 'keyType'), 'derive-key-type', `${method} takes no keyType`);
    if (!master) return undefined;
    return { method, master, data: exprs, keyType, phase: exprs.some((e) => e.phase === 'run') ? 'run' : 'prep', loc };
  }

  /** Keys in each DF's key file: ids unique per type; the spec list in profile order. */
  checkKeyFiles(mf: DfNode): void {
    const walk = (df: DfNode): void => {
      df.keys = [...this.keyDecls.values()].filter((k) => k.df === df && k.spec).map((k) => k.spec!);
      const seen = new Map<string, KeyDecl>();
      for (const k of this.keyDecls.values()) {
        if (k.df !== df || k.role === undefined || k.id === undefined) continue;
        const id = `${k.role}/${k.id}`;
        const other = seen.get(id);
        if (other) this.error(this.locOf(k.node, 'id'), 'duplicate-key-id', `${dfName(df)} has two ${k.role} keys with id ${hex2(k.id)}: ${other.name} and ${k.name}`, 'a key is found by type and id; give one another id');
        else seen.set(id, k);
      }
      df.pins = [];
      for (const c of df.children) if (c.kind === 'df') walk(c);
    };
    walk(mf);
  }

  readPins(): PinSpec[] {
    const out: PinSpec[] = [];
    const ids = new Map<string, PinDecl>();
    for (const p of this.pinDecls.values()) {
      const m = p.node;
      const loc = m.keyLoc ?? m.loc;
      if (p.id === undefined) continue;
      const idKey = `${p.df.path}/${p.id}`;
      const other = ids.get(idKey);
      if (other) this.error(this.locOf(m, 'id'), 'duplicate-key-id', `${dfName(p.df)} has two PINs with id ${hex2(p.id)}: ${other.name} and ${p.name}`);
      else ids.set(idKey, p);
      const len = this.num(m, 'length');
      const minLength = this.num(m, 'minLength') ?? len ?? 6;
      const maxLength = this.num(m, 'maxLength') ?? len ?? Math.max(6, minLength);
      if (len !== undefined && (entry(m, 'minLength') || entry(m, 'maxLength'))) this.error(this.keyLocOf(m, 'length'), 'pin-length', `PIN ${p.name}: give length, or minLength and maxLength, not both`);
      if (minLength > maxLength) this.error(loc, 'pin-length', `PIN ${p.name}: minLength ${minLength} is more than maxLength ${maxLength}`);
      const init = this.map(this.get(m, 'initial'));
      const source = this.str(init, 'source');
      let initial: PinSource = { kind: 'random' };
      if (source === 'record') {
        const field = this.str(init, 'field');
        if (field === undefined) this.error(this.keyLocOf(m, 'initial'), 'pin-source', `PIN ${p.name} comes from the record, so initial needs field:`);
        else {
          const f = this.fields.get(field);
          if (!f) this.error(this.locOf(init, 'field'), 'unknown-field', `PIN ${p.name}: record field '${clip(field)}' is not declared`, didYouMean(field, this.fields.keys()) ?? 'declare it under record.fields with type: pin');
          else if (f.type !== 'pin') this.error(this.locOf(init, 'field'), 'pin-source', `PIN ${p.name}: field '${clip(field)}' is ${f.type}; a PIN field has type pin`);
          else if ((f.minLength ?? 4) < minLength || (f.maxLength ?? 12) > maxLength) {
            this.error(this.locOf(init, 'field'), 'pin-length', `PIN ${p.name} is ${range(minLength, maxLength)} digits, but field '${clip(field)}' allows ${range(f.minLength ?? 4, f.maxLength ?? 12)}`, 'give the field the same length bounds');
          }
          initial = { kind: 'record', field };
        }
        if (entry(init, 'value')) this.error(this.keyLocOf(init, 'value'), 'pin-source', 'value is for source: fixed');
      } else if (source === 'fixed') {
        const value = this.str(init, 'value');
        if (value === undefined) this.error(this.keyLocOf(m, 'initial'), 'pin-source', `PIN ${p.name} is fixed, so initial needs value:`);
        else {
          if (value.length < minLength || value.length > maxLength) this.error(this.locOf(init, 'value'), 'pin-length', `PIN ${p.name}: the fixed value has ${value.length} digits, the PIN ${range(minLength, maxLength)}`);
          initial = { kind: 'fixed', value };
        }
        if (this.test) {
          this.warn(this.locOf(init, 'source'), 'fixed-pin', `PIN ${p.name} is the same on every card (allowed because this is a test profile)`);
        } else {
          this.error(this.locOf(init, 'source'), 'fixed-pin', `PIN ${p.name} would be the same on every card; fixed PINs are for test profiles only`, 'use source: random or source: record, or mark the profile test: true');
        }
      } else if (source === 'random') {
        for (const k of ['field', 'value']) if (entry(init, k)) this.error(this.keyLocOf(init, k), 'pin-source', `${k} does not apply to a random PIN`);
      }
      const pin: PinSpec = {
        name: p.name,
        owner: p.df.path === '' ? 'MF' : p.df.path,
        id: p.id,
        minLength,
        maxLength,
        tries: this.num(m, 'tries') ?? 3,
        initial,
        unblockKey: this.pinKey(m, 'unblock', 'pin-unblock', p),
        reloadKey: this.pinKey(m, 'reload', 'pin-reload', p),
        loc,
      };
      p.df.pins.push(pin);
      out.push(pin);
    }
    return out;
  }

  pinKey(m: LMap, key: string, role: KeyRole, p: PinDecl): string | undefined {
    const name = this.str(m, key);
    if (name === undefined) return undefined;
    const k = this.keyDecls.get(name);
    const loc = this.locOf(m, key);
    if (!k) {
      this.error(loc, 'unknown-key-ref', `PIN ${p.name}: ${key} key '${clip(name)}' is not defined`, didYouMean(name, this.keyDecls.keys()) ?? `define a ${role} key`);
      return undefined;
    }
    if (k.role !== role) this.error(loc, 'key-role', `PIN ${p.name}: ${key} needs a ${role} key, and ${name} is ${k.role ?? 'untyped'}`);
    // The COS looks a PIN's PUK and reload key up from the PIN's DF upward.
    const chain: DfNode[] = [];
    for (let d: string | undefined = p.df.path; d !== undefined; d = d === '' ? undefined : d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') {
      const n = this.filesByPath.get(d);
      if (n?.kind === 'df') chain.push(n);
    }
    if (!k.df || !chain.includes(k.df)) {
      this.error(loc, 'key-not-visible', `PIN ${p.name}: ${key} key ${name} is in ${k.df ? dfName(k.df) : k.owner}, which is not ${dfName(p.df)} or above it`, "the card looks a PIN's keys up from the PIN's DF upward");
    }
    // The COS pairs a PIN with the PUK / reload key of the same id (simulator/sscard/keys.ts).
    if (k.id !== undefined && p.id !== undefined && k.id !== p.id) {
      this.error(loc, 'key-id', `PIN ${p.name} has id ${hex2(p.id)}, so its ${key} key must have id ${hex2(p.id)} too (${name} has ${hex2(k.id)})`);
    }
    return name;
  }

  // -- GlobalPlatform --------------------------------------------------------------------------

  declareGpKeys(): void {
    const isd = this.get(this.root, 'isd');
    for (const e of this.entries(this.get(isd, 'keys'))) {
      this.declareKey(e.key, e.value, e.keyLoc, 'isd');
      const role = this.str(e.value, 'type');
      if (role !== undefined && !GP_ROLES.has(role)) this.error(this.locOf(e.value, 'type'), 'key-role', `ISD keys are enc, mac and dek, not ${role}`);
    }
    for (const a of this.entries(this.get(this.root, 'applets'))) {
      for (const e of this.entries(this.get(a.value, 'keys'))) this.declareKey(e.key, e.value, e.keyLoc, `applet:${a.key}`);
    }
  }

  readGp(): GpSpec {
    const r = this.root;
    const isd = this.map(this.get(r, 'isd'));
    const isdAid = this.hex(isd, 'aid') ?? GP_ISD_AID;
    const isdKeys = [...this.keyDecls.values()].filter((k) => k.owner === 'isd');
    const specs = isdKeys.flatMap((k) => (k.spec ? [k.spec] : []));
    if (isd && entry(isd, 'keys')) {
      for (const role of ['enc', 'mac', 'dek'] as const) {
        const n = isdKeys.filter((k) => k.role === role).length;
        if (n !== 1) this.error(this.keyLocOf(isd, 'keys'), 'isd-keys', `the ISD key set needs exactly one ${role} key, it has ${n}`, 'a secure-channel key set is ENC (id 01), MAC (02) and DEK (03)');
      }
      const versions = new Set(specs.map((k) => k.version));
      if (versions.size > 1) this.error(this.keyLocOf(isd, 'keys'), 'isd-keys', `the ISD keys have different versions (${[...versions].join(', ')}); one key set has one version`);
      for (const k of specs) {
        if (k.version < 1 || k.version > 0x7f) this.error(this.locOf(isdKeys.find((d) => d.name === k.name)!.node, 'version'), 'isd-keys', `key ${k.name}: issuer key set versions are 1-127 (GP), got ${k.version}`);
      }
      const ids = new Map<number, string>();
      for (const k of specs) {
        const other = ids.get(k.id);
        if (other) this.error(this.locOf(isdKeys.find((d) => d.name === k.name)!.node, 'id'), 'duplicate-key-id', `keys ${other} and ${k.name} have the same id ${hex2(k.id)}`);
        ids.set(k.id, k.name);
      }
    }
    const loadFiles: LoadFileSpec[] = [];
    for (const e of this.entries(this.get(r, 'loadFiles'))) {
      const aid = this.hex(e.value, 'aid');
      const cap = this.str(e.value, 'cap');
      if (!aid || cap === undefined) continue;
      const capLoc = this.locOf(e.value, 'cap');
      const abs = resolvePath(dirname(this.absOf(capLoc.file)), cap);
      if (!existsSync(abs)) this.error(capLoc, 'cap-missing', `CAP file '${clip(cap, 240)}' does not exist`, 'the path is relative to the profile file that names it');
      loadFiles.push({ name: e.key, aid, cap: abs, loc: e.keyLoc });
    }
    const applets: AppletSpec[] = [];
    const aids = new Map<string, string>([[toHex(isdAid), 'the ISD']]);
    for (const e of this.entries(this.get(r, 'applets'))) {
      const m = this.map(e.value);
      const loadFile = this.str(m, 'loadFile');
      const module = this.hex(m, 'module');
      const aid = this.hex(m, 'aid');
      if (!m || loadFile === undefined || !module || !aid) continue;
      if (!loadFiles.some((l) => l.name === loadFile) && !entry(this.get(r, 'loadFiles'), loadFile)) {
        this.error(this.locOf(m, 'loadFile'), 'unknown-load-file', `load file '${clip(loadFile)}' is not declared`, didYouMean(loadFile, loadFiles.map((l) => l.name)) ?? 'declare it under loadFiles:');
      }
      const other = aids.get(toHex(aid));
      if (other) this.error(this.locOf(m, 'aid'), 'duplicate-aid', `instance AID ${toHex(aid)} is already used by ${other}`);
      aids.set(toHex(aid), `applet ${e.key}`);
      const names = (() => {
        const p = this.get(m, 'privileges');
        return p?.kind === 'seq' ? p.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : [];
      })();
      const privileges = new Uint8Array(3);
      for (const n of names) {
        const bit = PRIVILEGES.indexOf(n);
        if (bit >= 0) privileges[bit >> 3]! |= 0x80 >> (bit & 7);
      }
      let installParameters = this.hex(m, 'installParameters') ?? Uint8Array.of(0xc9, 0x00);
      if (entry(m, 'installParameters') && this.hex(m, 'installParameters')) {
        try {
          const nodes = parseTlv(installParameters);
          if (!nodes.some((n) => n.tag === 0xc9)) {
            this.error(this.locOf(m, 'installParameters'), 'install-parameters', 'install parameters need the C9 application-specific parameters (C900 when there are none)');
          }
        } catch (err) {
          this.error(this.locOf(m, 'installParameters'), 'install-parameters', `install parameters are not BER-TLV: ${(err as Error).message}`, 'e.g. C900');
          installParameters = Uint8Array.of(0xc9, 0x00);
        }
      }
      const keys = [...this.keyDecls.values()].filter((k) => k.owner === `applet:${e.key}` && k.spec).map((k) => k.spec!);
      const dgis = this.readDgis(m, e.key);
      applets.push({ name: e.key, loadFile, module, aid, privileges, privilegeNames: names, installParameters, keys, dgis, loc: e.keyLoc });
    }
    return { scp: this.scp, isdAid, isdKeys: specs, replaceTransportKeys: this.bool(isd, 'replaceTransportKeys') ?? true, loadFiles, applets };
  }

  readDgis(applet: LMap, appletName: string): DgiSpec[] {
    const list = this.get(applet, 'dgis');
    const out: DgiSpec[] = [];
    if (list?.kind !== 'seq') return out;
    const seen = new Map<number, Loc>();
    for (const item of list.items) {
      const m = this.map(item);
      const dgi = this.hexNum(m, 'dgi');
      if (!m || dgi === undefined) continue;
      const loc = this.locOf(m, 'dgi');
      const prev = seen.get(dgi);
      if (prev) this.error(loc, 'duplicate-dgi', `DGI ${hex4(dgi)} appears twice in applet ${appletName} (first at ${at(prev)})`);
      seen.set(dgi, loc);
      const secret = dgi >= 0x8000 && dgi <= 0x8fff;
      const kinds = ['elements', 'value', 'keys', 'kcvs'].filter((k) => entry(m, k));
      if (kinds.length !== 1) {
        this.error(loc, 'dgi-content', `DGI ${hex4(dgi)} needs exactly one of elements, value, keys and kcvs${kinds.length ? ` (it has ${kinds.join(' and ')})` : ''}`);
      }
      const spec: DgiSpec = { dgi, secret, template: this.hexNum(m, 'template'), elements: [], loc };
      if (spec.template !== undefined) {
        try {
          encodeTag(spec.template);
        } catch (e) {
          this.error(this.locOf(m, 'template'), 'bad-tag', `template ${hex4(spec.template)}: ${(e as Error).message}`);
        }
      }
      const keyList = (k: string): string[] | undefined => {
        const v = this.get(m, k);
        if (v?.kind !== 'seq') return undefined;
        const names: string[] = [];
        for (const i of v.items) {
          if (i.kind !== 'scalar' || typeof i.value !== 'string') continue;
          const decl = this.keyDecls.get(i.value);
          if (!decl) this.error(i.loc, 'unknown-key-ref', `DGI ${hex4(dgi)}: key '${clip(i.value)}' is not defined`, didYouMean(i.value, this.keyDecls.keys()) ?? `define it under applets.${appletName}.keys`);
          else if (decl.owner !== `applet:${appletName}`) this.error(i.loc, 'key-not-visible', `DGI ${hex4(dgi)}: key ${i.value} belongs to ${decl.owner}, not to applet ${appletName}`);
          names.push(i.value);
        }
        return names;
      };
      spec.keys = keyList('keys');
      spec.kcvs = keyList('kcvs');
      if (spec.keys && !secret) this.error(this.keyLocOf(m, 'keys'), 'secret-dgi', `DGI ${hex4(dgi)} would carry card keys in clear; keys go in secret DGIs 8000-8FFF`, 'put them in a DGI 8000-8FFF (sent encrypted); their KCVs can go in a 9xxx DGI with kcvs:');
      if (entry(m, 'value')) {
        const v = this.expr(m, 'value', `DGI ${hex4(dgi)}`);
        if (v && v.type.t !== 'bytes' && !(v.literal && v.type.t === 'text')) this.error(this.locOf(m, 'value'), 'encoding-capacity', `DGI ${hex4(dgi)}: the value must be bytes, but it is ${describeType(v.type)}`, 'hex(), bcd(), ascii() or gbk() make bytes');
        if (v) spec.value = v;
      }
      for (const e of this.entries(this.get(m, 'elements'))) {
        const em = this.map(e.value);
        const tag = this.hexNum(em, 'tag');
        const encoding = this.str(em, 'encoding') as Encoding | undefined;
        if (!em || tag === undefined || !encoding) continue;
        try {
          encodeTag(tag);
        } catch (err) {
          this.error(this.locOf(em, 'tag'), 'bad-tag', `tag ${this.str(em, 'tag')}: ${(err as Error).message}`);
        }
        const length = this.num(em, 'length');
        const maxLength = this.num(em, 'maxLength');
        if ((length === undefined) === (maxLength === undefined)) {
          this.error(e.keyLoc, 'element-length', `element ${e.key} needs exactly one of length and maxLength`);
          continue;
        }
        const el: DgiElement = { name: e.key, tag, encoding, length: (length ?? maxLength)!, fixed: length !== undefined, pad: this.hexNum(em, 'pad'), value: undefined as unknown as Expr, loc: e.keyLoc };
        this.checkCodec(el, em, `DGI ${hex4(dgi)}.${e.key}`);
        const v = this.expr(em, 'value', e.key);
        if (v) {
          this.checkFit(el, v, this.get(em, 'value')!, e.key);
          el.value = v;
          spec.elements.push(el);
        }
      }
      const size = spec.elements.reduce((n, el) => n + el.length + 6, 0);
      if (size > 0xffff) this.error(loc, 'dgi-size', `DGI ${hex4(dgi)} can be ${size} bytes; a DGI holds at most 65535`);
      out.push(spec);
    }
    return out;
  }

  // -- PKI and face -----------------------------------------------------------------------------

  efAt(map: LNode | undefined, key: string, what: string): EfNode | undefined {
    const p = this.str(map, key);
    if (p === undefined) return undefined;
    const path = p.replace(/^MF\//, '').replace(/^\//, '');
    const node = this.filesByPath.get(path);
    const loc = this.locOf(map, key);
    if (!node) {
      this.error(loc, 'unknown-file', `${what}: no file ${p} in the file tree`, didYouMean(path, [...this.filesByPath.keys()].filter((k) => this.filesByPath.get(k)!.kind === 'ef')) ?? 'paths are file names from the MF down, e.g. PKI/ADF1/EF0012');
      return undefined;
    }
    if (node.kind !== 'ef') {
      this.error(loc, 'unknown-file', `${what}: ${p} is a DF; an EF is needed`);
      return undefined;
    }
    return node;
  }

  readPki(): PkiSpec | undefined {
    const pki = this.map(this.get(this.root, 'pki'));
    if (!pki) return undefined;
    if (this.cos !== 'sscard') {
      this.error(pki.keyLoc ?? pki.loc, 'cos-mismatch', 'the pki step generates keys into EFs of the social-security COS; this card is globalplatform');
      return undefined;
    }
    const ca = this.alias(pki, 'ca', ['sm2'], 'CA key');
    const pinName = this.str(pki, 'pin');
    if (pinName !== undefined && !this.pinDecls.has(pinName)) {
      this.error(this.locOf(pki, 'pin'), 'unknown-pin', `PIN '${clip(pinName)}' is not defined`, didYouMean(pinName, this.pinDecls.keys()));
    }
    const keyPairs: KeyPairSpec[] = [];
    for (const e of this.entries(this.get(pki, 'keyPairs'))) {
      const pub = this.efAt(e.value, 'publicKey', `key pair ${e.key}`);
      const priv = this.efAt(e.value, 'privateKey', `key pair ${e.key}`);
      const cert = this.efAt(e.value, 'certificate', `key pair ${e.key}`);
      if (pub && (pub.structure !== 'transparent' || pub.internal || pub.size < 65)) {
        this.error(this.locOf(e.value, 'publicKey'), 'pki-file', `key pair ${e.key}: the public-key EF ${pub.name} must be a readable transparent EF of at least 65 bytes (04 ‖ x ‖ y)`);
      }
      if (priv && (!priv.internal || priv.size < 32)) {
        this.error(this.locOf(e.value, 'privateKey'), 'pki-file', `key pair ${e.key}: the private-key EF ${priv.name} must be an internal EF of at least 32 bytes`, 'internal: true, size: 32');
      }
      if (cert && (cert.structure !== 'transparent' || cert.internal)) {
        this.error(this.locOf(e.value, 'certificate'), 'pki-file', `key pair ${e.key}: the certificate EF ${cert.name} must be a readable transparent EF`);
      } else if (cert && cert.size < 512) {
        this.warn(this.locOf(e.value, 'certificate'), 'pki-file', `key pair ${e.key}: ${cert.name} is ${cert.size} bytes; SM2 certificates are usually 400-700 bytes`);
      }
      const dir = (ef: EfNode): string => (ef.path.includes('/') ? ef.path.slice(0, ef.path.lastIndexOf('/')) : '');
      if (pub && priv && dir(pub) !== dir(priv)) {
        this.error(this.locOf(e.value, 'privateKey'), 'pki-file', `key pair ${e.key}: the public and private key EFs must be in the same DF (the card generates into the current DF)`);
      }
      for (const ef of [pub, priv]) {
        if (ef && ef.access.update.kind === 'never') this.error(ef.loc, 'unwritable', `${ef.name} receives a generated key, but its update access is never`);
      }
      if (!pub || !priv || !cert) continue;
      const usage = this.get(e.value, 'keyUsage');
      keyPairs.push({
        name: e.key,
        df: dir(pub),
        publicKey: pub,
        privateKey: priv,
        certificate: cert,
        keyUsage: usage?.kind === 'seq' ? usage.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : ['digitalSignature'],
        loc: e.keyLoc,
      });
    }
    const subject: PkiSpec['subject'] = [];
    for (const e of this.entries(this.get(pki, 'subject'))) {
      if (!SUBJECT_ATTRIBUTES.includes(e.key)) {
        this.error(e.keyLoc, 'subject-attribute', `'${clip(e.key)}' is not a subject attribute cardsmith's CA knows`, didYouMean(e.key, SUBJECT_ATTRIBUTES) ?? `use ${SUBJECT_ATTRIBUTES.join(', ')}`);
        continue;
      }
      const v = this.exprNode(e.value, `subject ${e.key}`);
      if (!v) continue;
      if (v.type.t !== 'text') this.error(e.value.loc, 'expr-type', `subject ${e.key} must be text, but it is ${describeType(v.type)}`);
      if (e.key === 'C' && !(v.type.t === 'text' && v.type.charset !== 'any' && v.type.max === 2 && v.type.min === 2)) {
        this.error(e.value.loc, 'subject-attribute', 'subject C is a two-letter country code, e.g. CN');
      }
      subject.push({ type: e.key, value: v });
    }
    if (subject.length === 0 && entry(pki, 'subject') && this.entries(this.get(pki, 'subject')).length === 0) this.error(this.keyLocOf(pki, 'subject'), 'subject-attribute', 'the subject is empty; give at least CN');
    if (!ca) return undefined;
    return { ca, pin: pinName, keyPairs, subject, validityYears: this.num(pki, 'validityYears') ?? 10, loc: pki.keyLoc ?? pki.loc };
  }

  readFace(): FaceSpec | undefined {
    const face = this.map(this.get(this.root, 'face'));
    if (!face) return undefined;
    const width = this.num(face, 'width') ?? 85.6;
    const height = this.num(face, 'height') ?? 54;
    const side = (key: string): (FaceText | FacePhoto)[] => {
      const out: (FaceText | FacePhoto)[] = [];
      for (const e of this.entries(this.get(face, key))) {
        const m = this.map(e.value);
        if (!m) continue;
        const x = this.num(m, 'x');
        const y = this.num(m, 'y');
        if (x === undefined || y === undefined) continue;
        const hasText = entry(m, 'text');
        const hasPhoto = entry(m, 'photo');
        if (!!hasText === !!hasPhoto) {
          this.error(e.keyLoc, 'face-item', `face item ${e.key} needs exactly one of text and photo`);
          continue;
        }
        if (x > width || y > height) this.error(this.locOf(m, x > width ? 'x' : 'y'), 'face-bounds', `face item ${e.key} starts outside the ${width} × ${height} mm card`);
        if (hasPhoto) {
          const field = this.str(m, 'photo')!;
          const w = this.num(m, 'width');
          const h = this.num(m, 'height');
          const f = this.fields.get(field);
          if (!f) this.error(this.locOf(m, 'photo'), 'unknown-field', `record field '${clip(field)}' is not declared`, didYouMean(field, this.fields.keys()));
          else if (f.type !== 'file') this.error(this.locOf(m, 'photo'), 'face-item', `the photo comes from a file field; '${clip(field)}' is ${f.type}`);
          if (w === undefined || h === undefined) {
            this.error(e.keyLoc, 'face-item', `photo ${e.key} needs width and height (the box, mm)`);
            continue;
          }
          if (x + w > width || y + h > height) this.error(e.keyLoc, 'face-bounds', `photo box ${e.key} (${x}+${w} × ${y}+${h} mm) does not fit on the ${width} × ${height} mm card`);
          out.push({ kind: 'photo', name: e.key, field, x, y, width: w, height: h, loc: e.keyLoc });
        } else {
          for (const k of ['width', 'height']) if (entry(m, k)) this.error(this.keyLocOf(m, k), 'face-item', `${k} is for photo boxes`);
          const v = this.expr(m, 'text', `face ${e.key}`);
          if (!v) continue;
          if (v.type.t !== 'text') this.error(this.locOf(m, 'text'), 'expr-type', `face ${e.key}: printed text must be text, but it is ${describeType(v.type)}`);
          if (v.phase === 'run') this.error(this.locOf(m, 'text'), 'expr-phase', `face ${e.key}: the face is printed from prep data; card.* facts are not known then`);
          const fontSize = this.num(m, 'fontSize');
          if (fontSize === undefined) this.error(e.keyLoc, 'face-item', `text ${e.key} needs fontSize (pt)`);
          out.push({ kind: 'text', name: e.key, value: v, x, y, fontSize: fontSize ?? 8, font: this.str(m, 'font'), loc: e.keyLoc });
        }
      }
      return out;
    };
    // Font files: relative to the profile file that names them (like CAP files); a missing one is a
    // warning, not an error: the renderer goes on with CARDSMITH_FONTS and the system fonts.
    const fonts: string[] = [];
    const fontList = this.get(face, 'fonts');
    for (const [i, item] of (fontList?.kind === 'seq' ? fontList.items : []).entries()) {
      if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value === '') continue;
      const loc = item.loc;
      const hash = item.value.lastIndexOf('#');
      const member = hash > 0 && !/[\\/]/.test(item.value.slice(hash + 1)) ? item.value.slice(hash) : '';
      const file = resolvePath(dirname(this.absOf(loc.file)), member ? item.value.slice(0, hash) : item.value);
      if (!existsSync(file)) this.warn(loc, 'font-missing', `face.fonts[${i}]: font file '${clip(item.value, 240)}' does not exist here`, 'the path is relative to the profile file that names it; faces use the next font that has each character');
      fonts.push(file + member);
    }
    return { width, height, ...(fonts.length ? { fonts } : {}), front: side('front'), back: side('back') };
  }

  checkUnused(): void {
    for (const [alias, ref] of Object.entries(this.keyStore)) {
      if (!this.usedAliases.has(alias)) this.warn(ref.loc, 'unused-keystore-alias', `keyStore alias '${clip(alias)}' is not used`, 'remove it, or name it from a key (derive.master), transport.key or pki.ca');
    }
  }
}

// ---------------------------------------------------------------------------------------------

function fieldExprType(f: FieldSpec): ExprType | undefined {
  const min = (n: number): number => (f.required ? n : 0);
  switch (f.type) {
    case 'citizen-id':
      return textType(min(18), 18, 'upper');
    case 'card-number':
      return textType(min(9), 9, 'upper');
    case 'text': {
      const ascii = f.charset === 'ascii';
      const max = f.maxLength ?? f.maxBytes ?? 0;
      const gbk = f.maxBytes ?? (ascii ? max : 2 * max);
      return textType(min(f.minLength ?? 1), max, ascii ? 'ascii' : 'any', gbk);
    }
    case 'digits':
    case 'pin':
      return textType(min(f.minLength ?? 1), f.maxLength ?? (f.type === 'pin' ? 12 : 0), 'digits');
    case 'region':
      return textType(min(6), 6, 'digits');
    case 'date':
      return textType(min(8), 8, 'digits');
    case 'pan':
      return textType(min(12), 19, 'digits');
    case 'enum': {
      const vals = f.values ?? [];
      if (vals.length === 0) return undefined;
      const t = vals.map(constantText);
      return textType(min(Math.min(...t.map((x) => x.min))), Math.max(...t.map((x) => x.max)), t.reduce<import('./expr.js').Charset>((c, x) => (['digits', 'upper', 'ascii', 'any'].indexOf(x.charset) > ['digits', 'upper', 'ascii', 'any'].indexOf(c) ? x.charset : c), 'digits'), Math.max(...t.map((x) => x.gbkMax)));
    }
    case 'file':
      return bytesType(f.required ? 1 : 0, f.maxBytes ?? 0);
  }
}

function normAlg(a: string): KeyAlg {
  return a === '3des' || a === 'des3' ? 'des3' : a === 'sm4' ? 'sm4' : 'aes';
}

function showAlg(a: string): string {
  return a === 'des3' ? '3DES' : a.toUpperCase();
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

function range(min: number, max: number): string {
  return min === max ? String(max) : `${min} to ${max}`;
}

function dfName(df: DfNode): string {
  return df.path === '' ? 'the MF' : `DF ${df.path}`;
}

function at(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

function safeHex(text: string): Uint8Array | undefined {
  try {
    return fromHex(text);
  } catch {
    return undefined;
  }
}

/** JSON with keys sorted at every level: the same profile content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
