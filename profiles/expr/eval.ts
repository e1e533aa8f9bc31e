// Evaluating a checked expression for one card; the checker has made sure every name and call
// exists, so what can fail here is the card's data (a missing field, a serial overflow…).
import { clip, toHex } from '../../bytes/index.js';
import { str } from './fnspec.js';
import { FUNCTIONS } from './functions.js';
import { CARD_FACTS, ExprEvalError, range, type EvalEnv, type Expr, type ExprNode, type Value } from './types.js';

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
