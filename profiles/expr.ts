// The profile expression language: how a data element, a key's diversification data, a PIN or a
// certificate subject is computed from the batch record and generated values. It is deliberately
// small and safe — no eval, no loops, no user-defined functions, no access to anything but the
// record, the profile's parameters and named values, the prep date, per-card serials, facts the
// card reports at run time, and a fixed table of pure functions. Every expression is type-checked
// when the profile loads (types, lengths and character sets), so that "a GBK name of 30 bytes into
// a 20-byte element" is a validation error, not a failed card.
//
//   value      := text with ${expr} interpolations ('$${' writes a literal '${')
//   expr       := 'string' | "string" | integer | name.name | function(expr, …)
//   names      := record.FIELD  param.NAME  value.NAME  date.today
//                 card.atr  card.chipId  card.kdd  card.csn   (run time: known once the card is in the encoder)
//                 key.NAME                                    (only as the first argument of mac)
//
// Types are text (with a length range, a character set and a GBK byte bound), bytes (with a
// length range) and integers. docs/profiles.md "Expressions" lists every function.
import { clip, concat as concatBytes, fromHex, toHex } from '../bytes/index.js';
import { encodeBcd, encodeCn, encodeGbk } from '../iso7816/index.js';
import { addYears, cardNumberCheck, gb11643Check, luhnCheck } from './checkchars.js';
import { didYouMean } from './suggest.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Character sets, narrowest first: a text type's charset bounds every value it can take. */
export type Charset = 'digits' | 'upper' | 'ascii' | 'any';
const CHARSET_ORDER: readonly Charset[] = ['digits', 'upper', 'ascii', 'any'];

export interface TextType {
  t: 'text';
  /** Length bounds in characters. */
  min: number;
  max: number;
  charset: Charset;
  /** Upper bound of the GBK encoding's byte length. */
  gbkMax: number;
  constant?: string | undefined;
}

export interface BytesType {
  t: 'bytes';
  min: number;
  max: number;
  constant?: Uint8Array | undefined;
}

export interface IntType {
  t: 'int';
  constant?: number | undefined;
}

export interface KeyRefType {
  t: 'key';
  name: string;
}

export type ExprType = TextType | BytesType | IntType | KeyRefType;

/** When a value can be computed: at data preparation, or only once the card is in the encoder. */
export type Phase = 'prep' | 'run';

export type RefNamespace = 'record' | 'param' | 'value' | 'date' | 'card' | 'key';
export const REF_NAMESPACES: readonly RefNamespace[] = ['record', 'param', 'value', 'date', 'card', 'key'];

export type ExprNode =
  | { k: 'text'; value: string; at: number }
  | { k: 'int'; value: number; at: number }
  | { k: 'ref'; ns: RefNamespace; name: string; at: number }
  | { k: 'call'; fn: string; args: ExprNode[]; at: number }
  | { k: 'template'; parts: ExprNode[]; at: number };

/** A parsed and type-checked expression, ready to evaluate for each card. */
export interface Expr {
  /** The text as written in the profile. */
  source: string;
  node: ExprNode;
  type: ExprType;
  phase: Phase;
  /** True when the text has no ${…}: a literal (which binary elements read as hex). */
  literal: boolean;
  refs: ExprRefs;
}

export interface ExprRefs {
  fields: string[];
  params: string[];
  values: string[];
  keys: string[];
  /** Serial counters the expression draws on ('card' is the default counter). */
  serials: string[];
  card: string[];
}

/** A problem in an expression; `offset` is the character position in the source text. */
export interface ExprIssue {
  offset: number;
  code: string;
  message: string;
  hint?: string | undefined;
  severity?: 'error' | 'warning';
}

export function textType(min: number, max: number, charset: Charset, gbkMax?: number, constant?: string): TextType {
  return { t: 'text', min, max, charset, gbkMax: gbkMax ?? (charset === 'any' ? 2 * max : max), ...(constant !== undefined ? { constant } : {}) };
}

export function bytesType(min: number, max: number, constant?: Uint8Array): BytesType {
  return { t: 'bytes', min, max, ...(constant !== undefined ? { constant } : {}) };
}

export function charsetOf(text: string): Charset {
  if (/^[0-9]*$/.test(text)) return 'digits';
  if (/^[0-9A-Z]*$/.test(text)) return 'upper';
  if (/^[\x20-\x7e]*$/.test(text)) return 'ascii';
  return 'any';
}

export function joinCharset(...sets: Charset[]): Charset {
  return sets.reduce<Charset>((a, b) => (CHARSET_ORDER.indexOf(b) > CHARSET_ORDER.indexOf(a) ? b : a), 'digits');
}

export function constantText(text: string): TextType {
  const chars = Array.from(text).length;
  let gbk: number;
  try {
    gbk = encodeGbk(text).length;
  } catch {
    gbk = 2 * chars;
  }
  return textType(chars, chars, charsetOf(text), gbk, text);
}

export function describeType(type: ExprType): string {
  switch (type.t) {
    case 'text':
      return `text of ${range(type.min, type.max)} character${type.max === 1 ? '' : 's'} (${CHARSET_NAMES[type.charset]})`;
    case 'bytes':
      return `${range(type.min, type.max)} byte${type.max === 1 ? '' : 's'}`;
    case 'int':
      return 'an integer';
    case 'key':
      return `the key ${type.name}`;
  }
}

const CHARSET_NAMES: Record<Charset, string> = { digits: 'digits', upper: '0-9 and A-Z', ascii: 'printable ASCII', any: 'any characters' };

function range(min: number, max: number): string {
  return min === max ? String(max) : `${min} to ${max}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing

export class ExprSyntaxError extends CardsmithError {
  override readonly name = 'ExprSyntaxError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Parses a value string: literal text with ${…} interpolations. Throws ExprSyntaxError with the offset. */
export function parseTemplate(source: string): { node: ExprNode; literal: boolean } {
  const parts: ExprNode[] = [];
  let text = '';
  let textAt = 0;
  let i = 0;
  let sawExpr = false;
  while (i < source.length) {
    if (source.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (source.startsWith('${', i)) {
      if (text) parts.push({ k: 'text', value: text, at: textAt });
      text = '';
      const p = new Parser(source, i + 2);
      p.skipSpace();
      if (p.peek() === '}') throw new ExprSyntaxError('empty ${}', i, 'write an expression between ${ and }, e.g. ${record.name}');
      const expr = p.expr();
      p.skipSpace();
      if (p.peek() !== '}') {
        if (p.pos >= source.length) throw new ExprSyntaxError("'${' is not closed by '}'", i);
        throw new ExprSyntaxError(`unexpected '${source[p.pos]}' in the expression`, p.pos, 'an expression is one name, literal or function call; join values with concat(a, b)');
      }
      parts.push(expr);
      sawExpr = true;
      i = p.pos + 1;
      textAt = i;
      continue;
    }
    text += source[i];
    i++;
  }
  if (text || parts.length === 0) parts.push({ k: 'text', value: text, at: textAt });
  if (parts.length === 1) return { node: parts[0]!, literal: !sawExpr };
  return { node: { k: 'template', parts, at: 0 }, literal: false };
}

class Parser {
  constructor(
    readonly src: string,
    public pos: number,
  ) {}

  peek(): string | undefined {
    return this.src[this.pos];
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  expr(): ExprNode {
    this.skipSpace();
    const at = this.pos;
    const c = this.peek();
    if (c === undefined) throw new ExprSyntaxError('the expression ends too early', at);
    if (c === "'" || c === '"') return this.string(c);
    if (/[0-9-]/.test(c)) return this.number();
    if (/[A-Za-z_]/.test(c)) return this.nameOrCall();
    throw new ExprSyntaxError(`unexpected '${c}' in the expression`, at, "strings are quoted ('…'), names look like record.name, functions like pad(x, 8)");
  }

  string(quote: string): ExprNode {
    const at = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '\\') {
        const n = this.src[this.pos + 1];
        if (n === undefined) break;
        out += n;
        this.pos += 2;
        continue;
      }
      if (c === quote) {
        this.pos++;
        return { k: 'text', value: out, at };
      }
      out += c;
      this.pos++;
    }
    throw new ExprSyntaxError(`the string starting here is not closed by ${quote}`, at);
  }

  number(): ExprNode {
    const at = this.pos;
    const m = /^-?[0-9]+/.exec(this.src.slice(this.pos));
    if (!m) throw new ExprSyntaxError(`unexpected '${this.peek()}' in the expression`, at);
    this.pos += m[0].length;
    if (/[A-Za-z_]/.test(this.peek() ?? '')) {
      throw new ExprSyntaxError('a number runs into letters', at, "quote text that starts with a digit: '0D'");
    }
    const value = Number(m[0]);
    if (!Number.isSafeInteger(value)) throw new ExprSyntaxError('the number is too large', at);
    return { k: 'int', value, at };
  }

  ident(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.src.slice(this.pos));
    if (!m) throw new ExprSyntaxError('a name is missing here', this.pos);
    this.pos += m[0].length;
    return m[0];
  }

  nameOrCall(): ExprNode {
    const at = this.pos;
    const first = this.ident();
    this.skipSpace();
    if (this.peek() === '(') {
      this.pos++;
      const args: ExprNode[] = [];
      this.skipSpace();
      if (this.peek() === ')') {
        this.pos++;
        return { k: 'call', fn: first, args, at };
      }
      for (;;) {
        args.push(this.expr());
        this.skipSpace();
        const c = this.peek();
        if (c === ',') {
          this.pos++;
          continue;
        }
        if (c === ')') {
          this.pos++;
          return { k: 'call', fn: first, args, at };
        }
        if (c === undefined || c === '}') throw new ExprSyntaxError(`${first}( is not closed by ')'`, at);
        throw new ExprSyntaxError(`expected ',' or ')' in the arguments of ${first}, found '${c}'`, this.pos);
      }
    }
    if (this.peek() !== '.') {
      const hint = FUNCTIONS.has(first) ? `${first} is a function: ${FUNCTIONS.get(first)!.signature}` : `names are ${REF_NAMESPACES.map((n) => `${n}.…`).join(', ')}`;
      throw new ExprSyntaxError(`'${clip(first)}' is not a name this language knows`, at, hint);
    }
    this.pos++;
    if (!(REF_NAMESPACES as readonly string[]).includes(first)) {
      const dym = didYouMean(first, REF_NAMESPACES);
      throw new ExprSyntaxError(`unknown namespace '${clip(first)}'`, at, dym ?? `names are ${REF_NAMESPACES.map((n) => `${n}.…`).join(', ')}`);
    }
    const name = this.ident();
    if (this.peek() === '.') throw new ExprSyntaxError(`${first}.${name} has no parts (one dot only)`, this.pos);
    return { k: 'ref', ns: first as RefNamespace, name, at };
  }
}

// ---------------------------------------------------------------------------------------------
// Checking

/** What an expression may name, as declared by the profile. */
export interface ExprScope {
  field(name: string): ExprType | undefined;
  fieldNames(): Iterable<string>;
  param(name: string): ExprType | undefined;
  paramNames(): Iterable<string>;
  /** Type and phase of a named value; 'cycle' when it is being checked (it refers to itself). */
  value(name: string): { type: ExprType; phase: Phase } | 'cycle' | undefined;
  valueNames(): Iterable<string>;
  /** Phase of the key's diversification data, or undefined when no key has that name. */
  key(name: string): Phase | undefined;
  keyNames(): Iterable<string>;
  serial(name: string): boolean;
  serialNames(): Iterable<string>;
}

export const CARD_FACTS: Readonly<Record<string, { type: BytesType; describe: string }>> = {
  // An ATR of fewer than 8 bytes cannot give the 8-byte level-2 data of STANDARDS.md §2; such a card is refused at run time.
  atr: { type: bytesType(8, 33), describe: 'the answer to reset (contact interface)' },
  chipId: { type: bytesType(8, 8), describe: "the chip's 8-byte serial number (cardsmith's sscard: the last 8 historical bytes of the ATR)" },
  kdd: { type: bytesType(10, 10), describe: 'GP key diversification data from INITIALIZE UPDATE' },
  csn: { type: bytesType(4, 4), describe: 'GP card serial number (CPLC IC serial number)' },
};

interface Checked {
  type: ExprType;
  phase: Phase;
}

class Checker {
  readonly issues: ExprIssue[] = [];
  readonly refs: ExprRefs = { fields: [], params: [], values: [], keys: [], serials: [], card: [] };

  constructor(readonly scope: ExprScope) {}

  error(offset: number, code: string, message: string, hint?: string): undefined {
    this.issues.push({ offset, code, message, hint });
    return undefined;
  }

  note(list: string[], name: string): void {
    if (!list.includes(name)) list.push(name);
  }

  check(node: ExprNode): Checked | undefined {
    switch (node.k) {
      case 'text':
        return { type: constantText(node.value), phase: 'prep' };
      case 'int':
        return { type: { t: 'int', constant: node.value }, phase: 'prep' };
      case 'template':
        return this.template(node.parts);
      case 'ref':
        return this.ref(node);
      case 'call':
        return this.call(node);
    }
  }

  template(parts: ExprNode[]): Checked | undefined {
    const checked = parts.map((p) => ({ node: p, c: this.check(p) }));
    if (checked.some((x) => x.c === undefined)) return undefined;
    const texts: TextType[] = [];
    for (const { node, c } of checked) {
      const t = c!.type;
      if (t.t === 'int') texts.push(constantText(t.constant === undefined ? '0' : String(t.constant)));
      else if (t.t === 'text') texts.push(t);
      else return this.error(node.at, 'expr-type', `a value inside text must be text, but this is ${describeType(t)}`, 'a value with literal text around ${…} is text; to build bytes write the whole value as one ${concat(…)}');
    }
    return { type: joinText(texts), phase: maxPhase(checked.map((x) => x.c!.phase)) };
  }

  ref(node: Extract<ExprNode, { k: 'ref' }>): Checked | undefined {
    const { ns, name, at } = node;
    switch (ns) {
      case 'record': {
        const t = this.scope.field(name);
        if (!t) {
          return this.error(at, 'unknown-field', `record field '${clip(name)}' is not declared`, didYouMean(name, this.scope.fieldNames()) ?? 'declare it under record.fields, with its type');
        }
        this.note(this.refs.fields, name);
        return { type: t, phase: 'prep' };
      }
      case 'param': {
        const t = this.scope.param(name);
        if (!t) return this.error(at, 'unknown-param', `parameter '${clip(name)}' is not declared`, didYouMean(name, this.scope.paramNames()) ?? 'declare it under parameters:');
        this.note(this.refs.params, name);
        return { type: t, phase: 'prep' };
      }
      case 'value': {
        const v = this.scope.value(name);
        if (v === 'cycle') return this.error(at, 'value-cycle', `value '${clip(name)}' depends on itself`, 'named values may use each other, but not in a circle');
        if (!v) return this.error(at, 'unknown-value', `value '${clip(name)}' is not declared`, didYouMean(name, this.scope.valueNames()) ?? 'declare it under values:');
        this.note(this.refs.values, name);
        return v;
      }
      case 'date':
        if (name !== 'today') return this.error(at, 'unknown-name', `date.${name} is not known`, 'the prep date is date.today (YYYYMMDD); addYears(date.today, 10) for an expiry');
        return { type: textType(8, 8, 'digits'), phase: 'prep' };
      case 'card': {
        const f = CARD_FACTS[name];
        if (!f) return this.error(at, 'unknown-name', `card.${name} is not known`, didYouMean(name, Object.keys(CARD_FACTS)) ?? `card facts: ${Object.keys(CARD_FACTS).join(', ')}`);
        this.note(this.refs.card, name);
        return { type: f.type, phase: 'run' };
      }
      case 'key': {
        const phase = this.scope.key(name);
        if (phase === undefined) {
          return this.error(at, 'unknown-key-ref', `key '${clip(name)}' is not defined in this profile`, didYouMean(name, this.scope.keyNames()) ?? 'define it under keys: of a DF (or isd.keys / an applet)');
        }
        this.note(this.refs.keys, name);
        return { type: { t: 'key', name }, phase };
      }
    }
  }

  call(node: Extract<ExprNode, { k: 'call' }>): Checked | undefined {
    const fn = FUNCTIONS.get(node.fn);
    if (!fn) return this.error(node.at, 'unknown-function', `unknown function '${clip(node.fn)}'`, didYouMean(node.fn, FUNCTIONS.keys()) ?? `functions: ${[...FUNCTIONS.keys()].join(', ')}`);
    const [lo, hi] = fn.arity;
    if (node.args.length < lo || node.args.length > hi) {
      return this.error(node.at, 'expr-arity', `${node.fn} takes ${lo === hi ? lo : `${lo} to ${hi === Infinity ? 'any number of' : hi}`} argument${hi === 1 ? '' : 's'}, got ${node.args.length}`, fn.signature);
    }
    const args: CheckedArg[] = [];
    for (const a of node.args) {
      const c = this.check(a);
      if (!c) return undefined;
      args.push({ node: a, type: c.type, phase: c.phase });
    }
    if (node.fn !== 'mac' && args.some((a) => a.type.t === 'key')) {
      const k = args.find((a) => a.type.t === 'key')!;
      return this.error(k.node.at, 'expr-type', 'a key can only be used as the first argument of mac()', 'key values never appear in expressions; mac(key.IRK, data) computes a MAC with one');
    }
    const type = fn.check(args, (offset, message, hint) => this.error(offset, 'expr-type', message, hint ?? fn.signature), this, node);
    if (!type) return undefined;
    return { type, phase: maxPhase(args.map((a) => a.phase)) };
  }
}

interface CheckedArg {
  node: ExprNode;
  type: ExprType;
  phase: Phase;
}

type Report = (offset: number, message: string, hint?: string) => undefined;

function maxPhase(phases: Phase[]): Phase {
  return phases.includes('run') ? 'run' : 'prep';
}

function joinText(parts: TextType[]): TextType {
  const constant = parts.every((p) => p.constant !== undefined) ? parts.map((p) => p.constant).join('') : undefined;
  return textType(
    parts.reduce((n, p) => n + p.min, 0),
    parts.reduce((n, p) => n + p.max, 0),
    joinCharset(...parts.map((p) => p.charset)),
    parts.reduce((n, p) => n + p.gbkMax, 0),
    constant,
  );
}

/** Type-checks a value string against `scope`. Issues carry offsets into `source`. */
export function compileExpr(source: string, scope: ExprScope): { expr?: Expr; issues: ExprIssue[] } {
  let parsed: { node: ExprNode; literal: boolean };
  try {
    parsed = parseTemplate(source);
  } catch (e) {
    if (e instanceof ExprSyntaxError) return { issues: [{ offset: e.offset, code: 'expr-syntax', message: e.message, hint: e.hint }] };
    throw e;
  }
  const checker = new Checker(scope);
  const c = checker.check(parsed.node);
  if (!c || checker.issues.length > 0) return { issues: checker.issues };
  return { expr: { source, node: parsed.node, type: c.type, phase: c.phase, literal: parsed.literal, refs: checker.refs }, issues: [] };
}

// ---------------------------------------------------------------------------------------------
// Functions

export type Value = string | number | Uint8Array | { key: string };

/** What evaluation needs from prep (or from a test): one card's inputs. */
export interface EvalEnv {
  /** The checked record: field name → normalized value ('' for an absent optional field). */
  record: Readonly<Record<string, string>>;
  params: Readonly<Record<string, string | number>>;
  /** A named value of the profile (prep memoizes these per card). */
  value(name: string): Value;
  /** The prep date, YYYYMMDD. */
  today: string;
  /** This card's number from counter `name` ('card' when the profile does not name one). */
  serial(name: string): number | bigint;
  /** Run-time facts; absent at prep time. */
  card?: Partial<Record<keyof typeof CARD_FACTS, Uint8Array>> | undefined;
  /** PBOC MAC (4 bytes) under the card key `key` of this card. */
  mac?(key: string, data: Uint8Array): Uint8Array;
  /** Contents of the file a `file` record field names. */
  readFile?(field: string, path: string): Uint8Array;
  /** Record field types, to know which fields are files (set by evaluate's callers). */
  fileFields?: ReadonlySet<string>;
}

/** A value could not be computed for this card (a serial overflowed, a check got bad input…). */
export class ExprEvalError extends CardsmithError {
  override readonly name = 'ExprEvalError';
  readonly kind: ErrorKind = 'operation';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

interface FnSpec {
  arity: [number, number];
  signature: string;
  describe: string;
  check(args: CheckedArg[], report: Report, checker: Checker, node: Extract<ExprNode, { k: 'call' }>): ExprType | undefined;
  evaluate(args: Value[], env: EvalEnv, node: Extract<ExprNode, { k: 'call' }>): Value;
}

function needText(a: CheckedArg | undefined, fn: string, n: number, report: Report): TextType | undefined {
  if (!a) return undefined;
  if (a.type.t === 'text') return a.type;
  if (a.type.t === 'int') return constantText(String(a.type.constant ?? 0));
  return report(a.node.at, `${fn}: argument ${n} must be text, but it is ${describeType(a.type)}`);
}

function needBytes(a: CheckedArg, fn: string, n: number, report: Report): BytesType | undefined {
  if (a.type.t === 'bytes') return a.type;
  return report(a.node.at, `${fn}: argument ${n} must be bytes, but it is ${describeType(a.type)}`, a.type.t === 'text' ? 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk()' : undefined);
}

function needInt(a: CheckedArg | undefined, fn: string, n: number, report: Report, min: number, max: number): number | undefined | null {
  if (!a) return null;
  if (a.type.t !== 'int' || a.type.constant === undefined) return report(a.node.at, `${fn}: argument ${n} must be a whole number written in the profile (or an integer parameter)`);
  const v = a.type.constant;
  if (v < min || v > max) return report(a.node.at, `${fn}: argument ${n} must be ${min} to ${max}, got ${v}`);
  return v;
}

function str(v: Value | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  /* c8 ignore next */
  throw new ExprEvalError('expected text', 0);
}

function bytes(v: Value | undefined): Uint8Array {
  if (v instanceof Uint8Array) return v;
  /* c8 ignore next */
  throw new ExprEvalError('expected bytes', 0);
}

function int(v: Value | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return Number(v);
  /* c8 ignore next */
  throw new ExprEvalError('expected an integer', 0);
}

function chars(s: string): string[] {
  return Array.from(s);
}

function padCheck(side: 'left' | 'right'): FnSpec['check'] {
  return (args, report) => {
    const s = needText(args[0], side === 'left' ? 'pad' : 'padRight', 1, report);
    const n = needInt(args[1], side === 'left' ? 'pad' : 'padRight', 2, report, 0, 255);
    if (!s || n === undefined || n === null) return undefined;
    let padCharset: Charset = 'digits';
    if (args[2]) {
      const ch = args[2].type;
      if (ch.t !== 'text' || ch.constant === undefined || chars(ch.constant).length !== 1) return report(args[2].node.at, 'the pad character must be one character in quotes');
      padCharset = charsetOf(ch.constant);
      if (padCharset === 'any') return report(args[2].node.at, 'the pad character must be ASCII');
    }
    const extra = Math.max(0, n - s.min);
    return textType(Math.max(n, s.min), Math.max(n, s.max), joinCharset(s.charset, padCharset), s.gbkMax + extra);
  };
}

function padEval(side: 'left' | 'right'): FnSpec['evaluate'] {
  return (args) => {
    const s = str(args[0]);
    const n = int(args[1]);
    const ch = args[2] === undefined ? '0' : str(args[2]);
    const len = chars(s).length;
    if (len >= n) return s;
    return side === 'left' ? ch.repeat(n - len) + s : s + ch.repeat(n - len);
  };
}

const FUNCTIONS = new Map<string, FnSpec>([
  [
    'concat',
    {
      arity: [1, Infinity],
      signature: 'concat(a, b, …): text when every argument is text, bytes when every argument is bytes',
      describe: 'joins its arguments',
      check(args, report) {
        const kinds = new Set(args.map((a) => (a.type.t === 'int' ? 'text' : a.type.t)));
        if (kinds.size > 1 || kinds.has('key')) {
          const odd = args.find((a) => a.type.t !== args[0]!.type.t && !(a.type.t === 'int' && args[0]!.type.t === 'text')) ?? args[0]!;
          return report(odd.node.at, `concat: cannot mix text and bytes (this argument is ${describeType(odd.type)})`, 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk() first');
        }
        if (kinds.has('bytes')) {
          const bs = args.map((a) => a.type as BytesType);
          const constant = bs.every((b) => b.constant) ? concatBytes(...bs.map((b) => b.constant!)) : undefined;
          return bytesType(
            bs.reduce((n, b) => n + b.min, 0),
            bs.reduce((n, b) => n + b.max, 0),
            constant,
          );
        }
        return joinText(args.map((a) => (a.type.t === 'int' ? constantText(String(a.type.constant ?? 0)) : (a.type as TextType))));
      },
      evaluate(args) {
        if (args.length > 0 && args.every((a) => a instanceof Uint8Array)) return concatBytes(...(args as Uint8Array[]));
        return args.map((a) => str(a)).join('');
      },
    },
  ],
  ['pad', { arity: [2, 3], signature: "pad(text, n, '0'): left-pads text to n characters (default '0'); longer text is kept whole", describe: 'left-pads', check: padCheck('left'), evaluate: padEval('left') }],
  ['padRight', { arity: [2, 3], signature: "padRight(text, n, ' '): right-pads text to n characters (default '0')", describe: 'right-pads', check: padCheck('right'), evaluate: padEval('right') }],
  [
    'substr',
    {
      arity: [2, 3],
      signature: 'substr(text, start, length): characters from start (0-based), at most length of them',
      describe: 'part of a text',
      check(args, report) {
        const s = needText(args[0], 'substr', 1, report);
        const start = needInt(args[1], 'substr', 2, report, 0, 4096);
        const len = needInt(args[2], 'substr', 3, report, 0, 4096);
        if (!s || start === undefined || start === null || len === undefined) return undefined;
        const cap = len === null ? Infinity : len;
        const max = Math.min(cap, Math.max(0, s.max - start));
        const min = Math.min(cap, Math.max(0, s.min - start));
        if (s.max <= start) return report(args[1]!.node.at, `substr: start ${start} is past the end of a text of at most ${s.max} characters`);
        return textType(min, max, s.charset, s.charset === 'any' ? Math.min(s.gbkMax, 2 * max) : max);
      },
      evaluate(args) {
        const c = chars(str(args[0]));
        const start = int(args[1]);
        const end = args[2] === undefined ? c.length : start + int(args[2]);
        return c.slice(start, end).join('');
      },
    },
  ],
  [
    'left',
    {
      arity: [2, 2],
      signature: 'left(x, n): the first n characters of a text, or the first n bytes',
      describe: 'leftmost part',
      check: sliceCheck('left'),
      evaluate: sliceEval('left'),
    },
  ],
  [
    'right',
    {
      arity: [2, 2],
      signature: 'right(x, n): the last n characters of a text, or the last n bytes',
      describe: 'rightmost part',
      check: sliceCheck('right'),
      evaluate: sliceEval('right'),
    },
  ],
  [
    'upper',
    {
      arity: [1, 1],
      signature: 'upper(text): upper case',
      describe: 'upper case',
      check(args, report) {
        const s = needText(args[0], 'upper', 1, report);
        return s && textType(s.min, s.max, s.charset === 'digits' ? 'digits' : s.charset === 'any' ? 'any' : 'ascii', s.gbkMax);
      },
      evaluate: (args) => str(args[0]).toUpperCase(),
    },
  ],
  [
    'trim',
    {
      arity: [1, 1],
      signature: 'trim(text): without leading and trailing spaces',
      describe: 'trims spaces',
      check(args, report) {
        const s = needText(args[0], 'trim', 1, report);
        return s && textType(0, s.max, s.charset, s.gbkMax);
      },
      evaluate: (args) => str(args[0]).trim(),
    },
  ],
  [
    'cardNumberCheck',
    {
      arity: [1, 1],
      signature: 'cardNumberCheck(first8): the check character of a social security card number (STANDARDS.md §2)',
      describe: 'card number check character',
      check(args, report) {
        const s = needText(args[0], 'cardNumberCheck', 1, report);
        if (!s) return undefined;
        if (s.min > 8 || s.max < 8) return report(args[0]!.node.at, `cardNumberCheck needs 8 characters; its argument has ${range(s.min, s.max)}`);
        if (s.charset === 'any' || s.charset === 'ascii') return report(args[0]!.node.at, 'cardNumberCheck needs the characters 0-9 and A-Z only');
        return textType(1, 1, 'upper');
      },
      evaluate(args, _env, node) {
        try {
          return cardNumberCheck(str(args[0]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  [
    'gb11643Check',
    {
      arity: [1, 1],
      signature: 'gb11643Check(first17): the check character of an 18-digit citizen ID number (GB 11643)',
      describe: 'citizen ID check character',
      check(args, report) {
        const s = needText(args[0], 'gb11643Check', 1, report);
        if (!s) return undefined;
        if (s.min > 17 || s.max < 17) return report(args[0]!.node.at, `gb11643Check needs 17 digits; its argument has ${range(s.min, s.max)} characters`);
        if (s.charset === 'any' || s.charset === 'ascii') return report(args[0]!.node.at, 'gb11643Check needs digits');
        return textType(1, 1, 'upper');
      },
      evaluate(args, _env, node) {
        try {
          return gb11643Check(str(args[0]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  [
    'luhnCheck',
    {
      arity: [1, 1],
      signature: 'luhnCheck(digits): the Luhn check digit to append (ISO/IEC 7812)',
      describe: 'Luhn check digit',
      check(args, report) {
        const s = needText(args[0], 'luhnCheck', 1, report);
        if (!s) return undefined;
        if (s.charset !== 'digits') return report(args[0]!.node.at, 'luhnCheck needs digits');
        return textType(1, 1, 'digits');
      },
      evaluate(args, _env, node) {
        try {
          return luhnCheck(str(args[0]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  [
    'serial',
    {
      arity: [1, 2],
      signature: "serial(width, 'counter'): this card's number from a batch counter, zero-padded to width digits",
      describe: 'a per-card serial number',
      check(args, report, checker) {
        const w = needInt(args[0], 'serial', 1, report, 1, 19);
        if (w === undefined || w === null) return undefined;
        let name = 'card';
        if (args[1]) {
          const n = args[1].type;
          if (n.t !== 'text' || n.constant === undefined) return report(args[1].node.at, "serial: the counter name must be written in quotes, e.g. serial(8, 'chip')");
          name = n.constant;
          if (!checker.scope.serial(name)) {
            return report(args[1].node.at, `serial counter '${clip(name)}' is not declared`, didYouMean(name, checker.scope.serialNames()) ?? 'declare it under serials: (the default counter card needs no declaration)');
          }
        }
        checker.note(checker.refs.serials, name);
        return textType(w, w, 'digits');
      },
      evaluate(args, env, node) {
        const w = int(args[0]);
        const name = args[1] === undefined ? 'card' : str(args[1]);
        const v = String(env.serial(name));
        if (v.length > w) throw new ExprEvalError(`serial counter '${clip(name)}' reached ${v}, which does not fit in ${w} digits`, node.at);
        return v.padStart(w, '0');
      },
    },
  ],
  [
    'addYears',
    {
      arity: [2, 2],
      signature: 'addYears(date, n): a YYYYMMDD date n years later (29 Feb → 28 Feb when needed)',
      describe: 'date arithmetic',
      check(args, report) {
        const d = needText(args[0], 'addYears', 1, report);
        const n = needInt(args[1], 'addYears', 2, report, -200, 200);
        if (!d || n === undefined || n === null) return undefined;
        if (d.charset !== 'digits' || d.max !== 8 || d.min !== 8) return report(args[0]!.node.at, 'addYears needs a date of 8 digits (YYYYMMDD), e.g. date.today');
        return textType(8, 8, 'digits');
      },
      evaluate(args, _env, node) {
        try {
          return addYears(str(args[0]), int(args[1]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  [
    'hex',
    {
      arity: [1, 1],
      signature: "hex('D156000005'): bytes from hex digits",
      describe: 'bytes from hex',
      check(args, report) {
        const s = needText(args[0], 'hex', 1, report);
        if (!s) return undefined;
        if (s.constant !== undefined) {
          try {
            const b = fromHex(s.constant);
            return bytesType(b.length, b.length, b);
          } catch (e) {
            return report(args[0]!.node.at, `hex: ${(e as Error).message.replace(/^hex: /, '')}`);
          }
        }
        if (s.charset === 'any') return report(args[0]!.node.at, 'hex needs hex digits');
        return bytesType(Math.floor(s.min / 2), Math.floor(s.max / 2));
      },
      evaluate(args, _env, node) {
        try {
          return fromHex(str(args[0]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  ['bcd', { arity: [1, 2], signature: 'bcd(digits, n): packed BCD, right-aligned with 0 nibbles in n bytes (default: as few as fit)', describe: 'BCD', check: bcdCheck('bcd'), evaluate: bcdEval('bcd') }],
  ['cn', { arity: [2, 2], signature: 'cn(digits, n): packed BCD left-aligned, F-padded to n bytes (format cn)', describe: 'cn', check: bcdCheck('cn'), evaluate: bcdEval('cn') }],
  [
    'ascii',
    {
      arity: [1, 1],
      signature: "ascii(text): the ASCII bytes of a text ('sx' → 73 78)",
      describe: 'ASCII bytes',
      check(args, report) {
        const s = needText(args[0], 'ascii', 1, report);
        if (!s) return undefined;
        if (s.charset === 'any') return report(args[0]!.node.at, 'ascii: the text may hold characters outside ASCII', 'use gbk() for Chinese text');
        return bytesType(s.min, s.max, s.constant === undefined ? undefined : new TextEncoder().encode(s.constant));
      },
      evaluate(args, _env, node) {
        const s = str(args[0]);
        if (!/^[\x20-\x7e]*$/.test(s)) throw new ExprEvalError('ascii: the text holds a character outside printable ASCII', node.at);
        return new TextEncoder().encode(s);
      },
    },
  ],
  [
    'gbk',
    {
      arity: [1, 2],
      signature: 'gbk(text, n): GBK bytes of a text, 00-padded to n bytes when n is given',
      describe: 'GBK bytes',
      check(args, report) {
        const s = needText(args[0], 'gbk', 1, report);
        const n = needInt(args[1], 'gbk', 2, report, 0, 4096);
        if (!s || n === undefined) return undefined;
        if (n === null) return bytesType(s.min, s.gbkMax);
        if (s.gbkMax > n) return report(args[0]!.node.at, `gbk: text of up to ${s.gbkMax} GBK bytes does not fit in ${n} bytes`);
        return bytesType(n, n);
      },
      evaluate(args, _env, node) {
        try {
          return args[1] === undefined ? encodeGbk(str(args[0])) : encodeGbk(str(args[0]), int(args[1]));
        } catch (e) {
          throw new ExprEvalError((e as Error).message, node.at);
        }
      },
    },
  ],
  [
    'mac',
    {
      arity: [2, 2],
      signature: 'mac(key.NAME, data): the 4-byte PBOC MAC of data (IV 0) under this card\'s key NAME',
      describe: 'PBOC MAC',
      check(args, report) {
        if (args[0]!.type.t !== 'key') return report(args[0]!.node.at, 'mac: the first argument must name a key, e.g. key.IRK');
        const d = needBytes(args[1]!, 'mac', 2, report);
        if (!d) return undefined;
        return bytesType(4, 4);
      },
      evaluate(args, env, node) {
        const k = args[0] as { key: string };
        if (!env.mac) throw new ExprEvalError(`mac(key.${k.key}, …) needs the card's keys, which this evaluation was not given`, node.at);
        return env.mac(k.key, bytes(args[1]));
      },
    },
  ],
  [
    'optionA',
    {
      arity: [2, 2],
      signature: "optionA(pan, psn): the 8-byte EMV Option A block (rightmost 16 digits of PAN ‖ PSN)",
      describe: 'EMV Option A data',
      check(args, report) {
        const pan = needText(args[0], 'optionA', 1, report);
        const psn = needText(args[1], 'optionA', 2, report);
        if (!pan || !psn) return undefined;
        if (pan.charset !== 'digits') return report(args[0]!.node.at, 'optionA: the PAN must be digits');
        if (psn.charset !== 'digits' || psn.max !== 2 || psn.min !== 2) return report(args[1]!.node.at, 'optionA: the PSN must be 2 digits');
        return bytesType(8, 8);
      },
      evaluate(args) {
        const digits = (str(args[0]) + str(args[1])).slice(-16).padStart(16, '0');
        return encodeBcd(digits);
      },
    },
  ],
]);

function sliceCheck(side: 'left' | 'right'): FnSpec['check'] {
  return (args, report) => {
    const n = needInt(args[1], side, 2, report, 0, 4096);
    if (n === undefined || n === null) return undefined;
    const t = args[0]!.type;
    if (t.t === 'bytes') return bytesType(Math.min(n, t.min), Math.min(n, t.max));
    const s = needText(args[0], side, 1, report);
    if (!s) return undefined;
    return textType(Math.min(n, s.min), Math.min(n, s.max), s.charset, s.charset === 'any' ? Math.min(s.gbkMax, 2 * n) : Math.min(n, s.max));
  };
}

function sliceEval(side: 'left' | 'right'): FnSpec['evaluate'] {
  return (args) => {
    const n = int(args[1]);
    const v = args[0];
    if (v instanceof Uint8Array) return side === 'left' ? v.slice(0, n) : v.slice(Math.max(0, v.length - n));
    const c = chars(str(v));
    return (side === 'left' ? c.slice(0, n) : c.slice(Math.max(0, c.length - n))).join('');
  };
}

function bcdCheck(kind: 'bcd' | 'cn'): FnSpec['check'] {
  return (args, report) => {
    const s = needText(args[0], kind, 1, report);
    const n = needInt(args[1], kind, 2, report, 1, 255);
    if (!s || n === undefined) return undefined;
    if (s.charset !== 'digits') return report(args[0]!.node.at, `${kind}: the text may hold characters other than digits (${describeType(s)})`);
    if (n === null) {
      const constant = s.constant === undefined ? undefined : encodeBcd(s.constant);
      return bytesType(Math.ceil(s.min / 2), Math.ceil(s.max / 2), constant);
    }
    if (Math.ceil(s.max / 2) > n) return report(args[0]!.node.at, `${kind}: up to ${s.max} digits do not fit in ${n} byte${n === 1 ? '' : 's'} (they need ${Math.ceil(s.max / 2)})`);
    return bytesType(n, n);
  };
}

function bcdEval(kind: 'bcd' | 'cn'): FnSpec['evaluate'] {
  return (args, _env, node) => {
    try {
      const s = str(args[0]);
      if (kind === 'cn') return encodeCn(s, int(args[1]));
      return args[1] === undefined ? encodeBcd(s) : encodeBcd(s, { length: int(args[1]) });
    } catch (e) {
      throw new ExprEvalError((e as Error).message, node.at);
    }
  };
}

/** Signature and one-line description of every function (for docs and `did you mean`). */
export function functionList(): { name: string; signature: string }[] {
  return [...FUNCTIONS].map(([name, f]) => ({ name, signature: f.signature }));
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Computes `expr` for one card. Throws ExprEvalError (with the offset in the source) when it cannot. */
export function evaluate(expr: Expr, env: EvalEnv): Value {
  return evalNode(expr.node, env);
}

function evalNode(node: ExprNode, env: EvalEnv): Value {
  switch (node.k) {
    case 'text':
      return node.value;
    case 'int':
      return node.value;
    case 'template':
      return node.parts.map((p) => str(evalNode(p, env))).join('');
    case 'ref':
      return evalRef(node, env);
    case 'call': {
      const fn = FUNCTIONS.get(node.fn)!;
      return fn.evaluate(
        node.args.map((a) => evalNode(a, env)),
        env,
        node,
      );
    }
  }
}

function evalRef(node: Extract<ExprNode, { k: 'ref' }>, env: EvalEnv): Value {
  switch (node.ns) {
    case 'record': {
      const v = env.record[node.name];
      if (v === undefined) throw new ExprEvalError(`record field '${clip(node.name)}' is missing`, node.at);
      if (env.fileFields?.has(node.name)) {
        if (!env.readFile) throw new ExprEvalError(`record field '${clip(node.name)}' names a file, and this evaluation cannot read files`, node.at);
        return v === '' ? new Uint8Array(0) : env.readFile(node.name, v);
      }
      return v;
    }
    case 'param': {
      const v = env.params[node.name];
      if (v === undefined) throw new ExprEvalError(`parameter '${clip(node.name)}' is missing`, node.at);
      return v;
    }
    case 'value':
      return env.value(node.name);
    case 'date':
      return env.today;
    case 'card': {
      const v = env.card?.[node.name as keyof typeof CARD_FACTS];
      if (!v) throw new ExprEvalError(`card.${node.name} is known only at run time, with the card in the encoder`, node.at);
      const t = CARD_FACTS[node.name]!.type;
      if (v.length >= t.min && v.length <= t.max) return v;
      throw new ExprEvalError(`card.${node.name} must be ${range(t.min, t.max)} bytes, got ${v.length}`, node.at);
    }
    case 'key':
      return { key: node.name };
  }
}

/** Hex of bytes, text as is: how values appear in `profile show` and in test vectors. */
export function showValue(v: Value): string {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'object') return `key.${v.key}`;
  return String(v);
}
