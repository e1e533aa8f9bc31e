// From a merged, schema-checked YAML tree to a typed Profile — and every check that needs more than
// one value at a time: duplicate FIDs, SFIs, AIDs and tags, records longer than their file, data
// past the end of a file, references to keys, PINs, fields, parameters and files that do not
// exist, keys the card would not find from where they are used, expressions whose type or length
// does not fit their encoding, diversification data of the wrong size, fixed PINs outside test
// profiles. The passes (profiles/validate/, one per profile section) read the tree defensively (the
// schema may already have found the shape wrong) so one run reports every problem it can see.
import { createHash } from 'node:crypto';
import { clip } from '../bytes/index.js';
import type { Diagnostic } from './errors.js';
import { sortDiagnostics } from './errors.js';
import { resolveSources } from './merge.js';
import { checkSchema } from './schema-check.js';
import { entry, toPlain, type LMap } from './source.js';
import type { CardKeySpec, DfNode, Profile } from './types.js';
import { readApduLimits, readCard } from './validate/card.js';
import { Context } from './validate/context.js';
import { readFace } from './validate/face.js';
import { checkKeyFiles, checkMemory, completeDf, declareDf } from './validate/filetree.js';
import { declareGpKeys, readGp } from './validate/gp.js';
import { cardKey } from './validate/keys.js';
import { checkUnused, readKeyStore, readTransport } from './validate/keystore.js';
import { readPins } from './validate/pins.js';
import { readPki } from './validate/pki.js';
import { declareValues, readParameters, readRecord, readRules, readSerials } from './validate/record.js';

export { SUBJECT_ATTRIBUTES } from './validate/pki.js';

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
  const ctx: Context = new Context(resolved.root as LMap, resolved.files, resolved.displayNames, (decl) => cardKey(ctx, decl));
  const profile = build(ctx);
  diagnostics.push(...ctx.diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  const ok = !sorted.some((d) => d.severity === 'error');
  if (ok) profile.warnings = sorted.filter((d) => d.severity === 'warning');
  return { ok, ...(ok ? { profile } : {}), diagnostics: sorted, files: resolved.files };
}

/** The passes in order: declarations first (expressions anywhere may name keys, PINs, values), then
 * everything that uses them. */
function build(ctx: Context): Profile {
  const r = ctx.root;
  const card = readCard(ctx);
  const limits = readApduLimits(ctx, card);

  readParameters(ctx);
  readKeyStore(ctx);
  const transport = readTransport(ctx);
  readRecord(ctx);
  readSerials(ctx);
  declareValues(ctx);

  // Key and PIN declarations first: expressions anywhere may name keys (mac(key.IRK, …)).
  let mf: DfNode | undefined;
  const mfNode = ctx.map(ctx.get(r, 'mf'));
  if (ctx.cos === 'sscard') {
    if (!mfNode) ctx.error(ctx.keyLocOf(r, 'card'), 'missing-key', "an sscard profile needs 'mf', the file tree", 'mf: { keys: …, files: … }');
    else mf = declareDf(ctx, mfNode, 'MF', '', undefined);
    for (const k of ['isd', 'loadFiles', 'applets']) {
      if (entry(r, k)) ctx.error(ctx.keyLocOf(r, k), 'cos-mismatch', `'${clip(k)}' is for globalplatform cards; this profile's cos is sscard`);
    }
  } else {
    if (mfNode) ctx.error(ctx.keyLocOf(r, 'mf'), 'cos-mismatch', "'mf' (a file tree) is for sscard cards; a globalplatform card has applets", 'use isd:, loadFiles: and applets:');
    if (!entry(r, 'isd')) ctx.error(ctx.keyLocOf(r, 'card'), 'missing-key', "a globalplatform profile needs 'isd' with the issuer key set");
    declareGpKeys(ctx);
  }

  // Values, keys, then everything that uses them.
  for (const name of ctx.valueNodes.keys()) ctx.valueOf(name);
  const rules = readRules(ctx);
  if (mf) {
    completeDf(ctx, mf);
    checkMemory(ctx, mf, card);
  }
  const keys: CardKeySpec[] = [];
  for (const decl of ctx.keyDecls.values()) {
    ctx.keyPhase(decl.name);
    if (decl.spec) keys.push(decl.spec);
  }
  if (mf) checkKeyFiles(ctx, mf);
  const pins = readPins(ctx);
  const gp = ctx.cos === 'globalplatform' ? readGp(ctx) : undefined;
  const pki = readPki(ctx);
  const face = readFace(ctx);
  checkUnused(ctx);

  const plain = toPlain(r);
  const hash = createHash('sha256').update(canonicalJson(plain)).digest('hex');
  return {
    name: ctx.str(r, 'profile') ?? '',
    title: ctx.str(r, 'title'),
    revision: ctx.str(r, 'revision') ?? '1',
    test: ctx.test,
    cos: ctx.cos,
    interfaces: ctx.interfaces,
    memory: ctx.num(card, 'memory'),
    protocols: limits.protocols,
    maxCommandData: limits.maxCommandData,
    maxResponseLength: limits.maxResponseLength,
    files: ctx.files,
    hash,
    parameters: Object.fromEntries(ctx.params),
    keyStore: ctx.keyStore,
    transport: transport ?? { key: { alias: '', label: '', alg: 'des3', loc: r.loc }, version: 0, loc: r.loc },
    record: { key: ctx.str(ctx.get(r, 'record'), 'key'), fields: [...ctx.fields.values()], rules },
    values: ctx.valueOrder,
    serials: Object.fromEntries(ctx.serials),
    mf,
    gp,
    keys,
    pins,
    pki,
    face,
    warnings: [],
  };
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

