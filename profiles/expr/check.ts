// Type-checking a parsed expression against what the profile declares: every name must exist,
// every function gets arguments of the right type, and the result's type and phase (prep or run)
// are inferred. Problems become issues with offsets into the source text.
import { clip } from '../../bytes/index.js';
import { didYouMean } from '../suggest.js';
import type { CheckedArg } from './fnspec.js';
import { FUNCTIONS } from './functions.js';
import { ExprSyntaxError, parseTemplate } from './parse.js';
import { CARD_FACTS, constantText, describeType, joinText, maxPhase, textType, type Checked, type Expr, type ExprIssue, type ExprNode, type ExprRefs, type ExprScope, type TextType } from './types.js';

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
