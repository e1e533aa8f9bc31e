// The expression language's types and values: what the checker infers (text with a length range,
// charset and GBK bound; bytes with a length range; integers; key references), the parsed tree,
// and what evaluation works on. Shared by parse, check, functions and eval.
import { CardsmithError, type ErrorKind } from '../../errors/index.js';
import { encodeGbk } from '../../iso7816/index.js';

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

/** `n` or `min to max`: how a length range reads in messages. */
export function range(min: number, max: number): string {
  return min === max ? String(max) : `${min} to ${max}`;
}

export function maxPhase(phases: Phase[]): Phase {
  return phases.includes('run') ? 'run' : 'prep';
}

export function joinText(parts: TextType[]): TextType {
  const constant = parts.every((p) => p.constant !== undefined) ? parts.map((p) => p.constant).join('') : undefined;
  return textType(
    parts.reduce((n, p) => n + p.min, 0),
    parts.reduce((n, p) => n + p.max, 0),
    joinCharset(...parts.map((p) => p.charset)),
    parts.reduce((n, p) => n + p.gbkMax, 0),
    constant,
  );
}

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
  // An ATR of fewer than 8 bytes cannot give the 8-byte level-2 data of PBOC diversification; such a card is refused at run time.
  atr: { type: bytesType(8, 33), describe: 'the answer to reset (contact interface)' },
  chipId: { type: bytesType(8, 8), describe: "the chip's 8-byte serial number (cardsmith's sscard: the last 8 historical bytes of the ATR)" },
  kdd: { type: bytesType(10, 10), describe: 'GP key diversification data from INITIALIZE UPDATE' },
  csn: { type: bytesType(4, 4), describe: 'GP card serial number (CPLC IC serial number)' },
};

export interface Checked {
  type: ExprType;
  phase: Phase;
}

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
