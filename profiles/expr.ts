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
//
// The language lives in profiles/expr/: types.ts (types and values), parse.ts, check.ts,
// functions*.ts (the function table) and eval.ts; this module is its public face.
export { compileExpr } from './expr/check.js';
export { evaluate, showValue } from './expr/eval.js';
export { functionList } from './expr/functions.js';
export { ExprSyntaxError, parseTemplate } from './expr/parse.js';
export { bytesType, CARD_FACTS, charsetOf, constantText, describeType, ExprEvalError, joinCharset, REF_NAMESPACES, textType } from './expr/types.js';
export type { BytesType, Charset, EvalEnv, Expr, ExprIssue, ExprNode, ExprRefs, ExprScope, ExprType, IntType, KeyRefType, Phase, RefNamespace, TextType, Value } from './expr/types.js';
