// What a built-in function is (arity, signature, a type check and an evaluator) and the argument
// helpers the function tables share, so each table entry stays a few lines.
import { constantText, describeType, ExprEvalError, type BytesType, type EvalEnv, type ExprNode, type ExprRefs, type ExprScope, type ExprType, type Phase, type TextType, type Value } from './types.js';

export interface CheckedArg {
  node: ExprNode;
  type: ExprType;
  phase: Phase;
}

export type Report = (offset: number, message: string, hint?: string) => undefined;

/** The part of the checker a function's check may use: the scope, and noting what it draws on. */
export interface CheckContext {
  readonly scope: ExprScope;
  readonly refs: ExprRefs;
  note(list: string[], name: string): void;
}

export interface FnSpec {
  arity: [number, number];
  signature: string;
  describe: string;
  check(args: CheckedArg[], report: Report, checker: CheckContext, node: Extract<ExprNode, { k: 'call' }>): ExprType | undefined;
  evaluate(args: Value[], env: EvalEnv, node: Extract<ExprNode, { k: 'call' }>): Value;
}

export function needText(a: CheckedArg | undefined, fn: string, n: number, report: Report): TextType | undefined {
  if (!a) return undefined;
  if (a.type.t === 'text') return a.type;
  if (a.type.t === 'int') return constantText(String(a.type.constant ?? 0));
  return report(a.node.at, `${fn}: argument ${n} must be text, but it is ${describeType(a.type)}`);
}

export function needBytes(a: CheckedArg, fn: string, n: number, report: Report): BytesType | undefined {
  if (a.type.t === 'bytes') return a.type;
  return report(a.node.at, `${fn}: argument ${n} must be bytes, but it is ${describeType(a.type)}`, a.type.t === 'text' ? 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk()' : undefined);
}

export function needInt(a: CheckedArg | undefined, fn: string, n: number, report: Report, min: number, max: number): number | undefined | null {
  if (!a) return null;
  if (a.type.t !== 'int' || a.type.constant === undefined) return report(a.node.at, `${fn}: argument ${n} must be a whole number written in the profile (or an integer parameter)`);
  const v = a.type.constant;
  if (v < min || v > max) return report(a.node.at, `${fn}: argument ${n} must be ${min} to ${max}, got ${v}`);
  return v;
}

/** An evaluator whose failures (bad input to a check character or an encoder) point at the call. */
export function atCall(f: (args: Value[]) => Value): FnSpec['evaluate'] {
  return (args, _env, node) => {
    try {
      return f(args);
    } catch (e) {
      throw new ExprEvalError((e as Error).message, node.at);
    }
  };
}

export function str(v: Value | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  /* c8 ignore next */
  throw new ExprEvalError('expected text', 0);
}

export function bytes(v: Value | undefined): Uint8Array {
  if (v instanceof Uint8Array) return v;
  /* c8 ignore next */
  throw new ExprEvalError('expected bytes', 0);
}

export function int(v: Value | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return Number(v);
  /* c8 ignore next */
  throw new ExprEvalError('expected an integer', 0);
}

export function chars(s: string): string[] {
  return Array.from(s);
}
