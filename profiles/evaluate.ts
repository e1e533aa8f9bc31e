// Evaluating a loaded profile for one card: named values (memoized per card, computed in
// dependency order on demand) and data elements as the bytes that go on the card. Data
// preparation supplies the inputs — the checked record, the prep date, this card's serials and,
// at run time, facts read from the card and a MAC callback backed by the key store.
import { clip, fromHex } from '../bytes/index.js';
import { encodeField, encodeParts, encodeTlvRecord, type FieldCodec, type FieldValue } from './codec.js';
import { evaluate, ExprEvalError, type EvalEnv, type Expr, type Value } from './expr.js';
import type { DataElement, Profile } from './types.js';

export interface CardInputs {
  /** The record as the batch checker returns it (normalized values, '' for absent optional fields). */
  record: Readonly<Record<string, string>>;
  /** The prep date, YYYYMMDD. */
  today: string;
  /** This card's value of each serial counter it uses ('card' is the default counter). */
  serials?: Readonly<Record<string, number | bigint>>;
  card?: EvalEnv['card'];
  mac?: EvalEnv['mac'];
  readFile?: EvalEnv['readFile'];
}

export interface CardEvaluator {
  evaluate(expr: Expr): Value;
  value(name: string): Value;
}

/** What every card of a profile shares: its named values and file fields, looked up once. */
const shared = new WeakMap<Profile, { exprs: Map<string, Expr>; fileFields: Set<string> }>();

export function createCardEvaluator(profile: Profile, inputs: CardInputs): CardEvaluator {
  let s = shared.get(profile);
  if (!s) shared.set(profile, (s = { exprs: new Map(profile.values.map((v) => [v.name, v.expr])), fileFields: new Set(profile.record.fields.filter((f) => f.type === 'file').map((f) => f.name)) }));
  const { exprs, fileFields } = s;
  const memo = new Map<string, Value>();
  const env: EvalEnv = {
    record: inputs.record,
    params: profile.parameters,
    today: inputs.today,
    fileFields,
    card: inputs.card,
    ...(inputs.mac ? { mac: inputs.mac } : {}),
    ...(inputs.readFile ? { readFile: inputs.readFile } : {}),
    serial(name) {
      const v = inputs.serials?.[name];
      if (v === undefined) throw new ExprEvalError(`no value of serial counter '${clip(name)}' was given for this card`, 0);
      return v;
    },
    value(name) {
      const hit = memo.get(name);
      if (hit !== undefined) return hit;
      const e = exprs.get(name);
      if (!e) throw new ExprEvalError(`value '${clip(name)}' is not declared`, 0);
      const v = evaluate(e, env);
      memo.set(name, v);
      return v;
    },
  };
  return { evaluate: (expr) => evaluate(expr, env), value: (name) => env.value(name) };
}

/** The value of an expression as a codec input: hex literals for binary, text otherwise. */
function fieldValue(codec: FieldCodec, expr: Expr, v: Value): FieldValue {
  if (codec.encoding === 'binary') {
    if (v instanceof Uint8Array) return v;
    if (expr.literal && typeof v === 'string') return fromHex(v);
    throw new ExprEvalError('a binary element needs bytes', 0);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new ExprEvalError(`a ${codec.encoding} element needs text`, 0);
}

function isEmpty(v: Value): boolean {
  return (typeof v === 'string' && v.length === 0) || (v instanceof Uint8Array && v.length === 0);
}

/** The element's bytes for this card, or undefined when it is skipEmpty and its value is empty. */
export function elementBytes(el: DataElement, ev: CardEvaluator): Uint8Array | undefined {
  if (el.parts) {
    const values: Record<string, FieldValue> = {};
    for (const p of el.parts) values[p.name] = fieldValue(p, p.value, ev.evaluate(p.value));
    return encodeParts(el.parts, values);
  }
  const v = ev.evaluate(el.value!);
  if (el.skipEmpty && isEmpty(v)) return undefined;
  return encodeField(el, fieldValue(el, el.value!, v));
}

/** For SIMPLE-TLV record files: the whole record (tag ‖ length ‖ value); else the element bytes. */
export function elementRecord(el: DataElement, ev: CardEvaluator): Uint8Array | undefined {
  const body = elementBytes(el, ev);
  if (body === undefined) return undefined;
  return el.tag === undefined ? body : encodeTlvRecord(el.tag, body);
}
