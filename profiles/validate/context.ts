// The diagnostics context every validation pass works over: the merged YAML tree, the problems
// found so far (each at its file, line and column), what earlier passes declared (keys, PINs,
// fields, values, files) and the helpers the passes share — tolerant readers (the schema may
// already have found the shape wrong), expression compiling, key-store aliases and DF lookup.
import { resolve as resolvePath } from 'node:path';
import { clip, fromHex } from '../../bytes/index.js';
import type { Diagnostic, Loc } from '../errors.js';
import { compileExpr, constantText, textType, type Expr, type ExprScope, type ExprType, type Phase } from '../expr.js';
import { entry, type LMap, type LNode, type LScalar } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { CardKeySpec, DfNode, FieldSpec, FileNode, KeyAlg, KeyRole, KeyStoreRef, NamedValue, SerialSpec } from '../types.js';

export interface KeyDecl {
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

export interface PinDecl {
  name: string;
  df: DfNode;
  node: LMap;
  id?: number | undefined;
}

export class Context {
  readonly diagnostics: Diagnostic[] = [];
  readonly keyDecls = new Map<string, KeyDecl>();
  readonly pinDecls = new Map<string, PinDecl>();
  readonly fieldTypes = new Map<string, ExprType>();
  readonly fields = new Map<string, FieldSpec>();
  readonly params = new Map<string, string | number>();
  readonly valueNodes = new Map<string, LScalar>();
  readonly valueState = new Map<string, { type: ExprType; phase: Phase; expr: Expr } | 'checking' | 'failed'>();
  readonly valueOrder: NamedValue[] = [];
  readonly serials = new Map<string, SerialSpec>([['card', { name: 'card', start: 1, loc: { file: '', line: 1, col: 1 } }]]);
  readonly keyStore: Record<string, KeyStoreRef> = {};
  readonly usedAliases = new Set<string>();
  cos: 'sscard' | 'globalplatform' = 'sscard';
  keyAlgorithm: KeyAlg = 'des3';
  scp: 'scp02' | 'scp03' = 'scp03';
  test = false;
  interfaces: ('contact' | 'contactless')[] = ['contact'];
  readonly filesByPath = new Map<string, FileNode>();
  /** The YAML mapping each file node was built from (kept apart so the Profile stays plain data). */
  readonly srcOf = new WeakMap<FileNode, LMap>();
  readonly scope: ExprScope;

  /** `keySpec` builds a declared key (the keys pass); expressions naming a key need its phase. */
  constructor(
    readonly root: LMap,
    readonly files: string[],
    readonly displayNames: Map<string, string>,
    private readonly keySpec: (decl: KeyDecl) => CardKeySpec | undefined,
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
    const spec = this.keySpec(decl);
    decl.spec = spec;
    decl.phase = spec?.derive.phase ?? 'prep';
    return decl.phase;
  }

  // -- shared lookups ---------------------------------------------------------------------------

  /** Key and PIN names share one namespace (access conditions and expressions name both). */
  claimName(name: string, keyLoc: Loc): boolean {
    if (!this.keyDecls.has(name) && !this.pinDecls.has(name)) return true;
    this.error(keyLoc, 'duplicate-key-name', `the name ${name} is used for a key or PIN already`, 'key and PIN names are unique across the profile, since access conditions and expressions name them');
    return false;
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

  /** The DFs the card searches from `path` for a key or PIN: that DF, then each DF above it. */
  dfChain(path: string): DfNode[] {
    const chain: DfNode[] = [];
    for (let p = path; ; ) {
      const d = this.filesByPath.get(p);
      if (d && d.kind === 'df') chain.push(d);
      if (p === '') break;
      p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    }
    return chain;
  }
}

export function normAlg(a: string): KeyAlg {
  return a === '3des' || a === 'des3' ? 'des3' : a === 'sm4' ? 'sm4' : 'aes';
}

export function showAlg(a: string): string {
  return a === 'des3' ? '3DES' : a.toUpperCase();
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

export function dfName(df: DfNode): string {
  return df.path === '' ? 'the MF' : `DF ${df.path}`;
}

export function safeHex(text: string): Uint8Array | undefined {
  try {
    return fromHex(text);
  } catch {
    return undefined;
  }
}
