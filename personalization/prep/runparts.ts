// Turning a profile expression that needs card facts (ATR, chip id, KDD) into RunParts the runner
// completes: the prep-time sub-expressions are evaluated now, so the runner needs no profile and
// no expression evaluator, only the facts and the key store.
import { toHex } from '../../bytes/index.js';
import { evaluate, type EvalEnv, type Expr, type ExprNode, type Value } from '../../profiles/expr.js';
import type { CardKeySpec, DerivationSpec, Profile } from '../../profiles/types.js';
import type { CardFact, RunKey, RunPart } from '../script.js';
import { needsCardNode } from './card-dependence.js';
import { PrepError } from './errors.js';

export interface RunContext {
  profile: Profile;
  env: EvalEnv;
  /** The profile's keys by name. */
  keys: ReadonlyMap<string, CardKeySpec>;
  /** The key-store version prep resolved for each store label. */
  versionOf(label: string): number;
}

const FACTS: ReadonlySet<string> = new Set<CardFact>(['atr', 'chipId', 'kdd', 'csn']);

/** Whether evaluating the node needs a card fact or a card key (directly or through a named value). */
export function needsCard(node: ExprNode, ctx: RunContext): boolean {
  return needsCardNode(node, ctx.profile);
}

function bytesOf(v: Value, what: string, at: ExprNode): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new PrepError(`${what}: a run-time value needs bytes here (got ${typeof v}) at offset ${at.at}`);
}

/** The node as RunParts; throws PrepError for the forms a runner cannot complete. */
export function runParts(node: ExprNode, ctx: RunContext, what: string): RunPart[] {
  if (!needsCard(node, ctx)) return [{ hex: toHex(bytesOf(evaluate({ node } as Expr, ctx.env), what, node)) }];
  if (node.k === 'ref' && node.ns === 'card' && FACTS.has(node.name)) return [{ fact: node.name as CardFact }];
  if (node.k === 'ref' && node.ns === 'value') {
    const v = ctx.profile.values.find((x) => x.name === node.name);
    if (v) return runParts(v.expr.node, ctx, what);
  }
  if (node.k === 'call') {
    if (node.fn === 'concat') return node.args.flatMap((a) => runParts(a, ctx, what));
    if ((node.fn === 'right' || node.fn === 'left') && node.args.length === 2) {
      const inner = runParts(node.args[0]!, ctx, what);
      const n = evaluate({ node: node.args[1]! } as Expr, ctx.env);
      const only = inner[0];
      if (inner.length === 1 && only && 'fact' in only && only.from === undefined && typeof n === 'number') {
        return [{ fact: only.fact, from: node.fn === 'right' ? -n : 0, length: n }];
      }
    }
    if (node.fn === 'mac' && node.args.length === 2) {
      const k = node.args[0]!;
      if (k.k === 'ref' && k.ns === 'key') {
        const spec = ctx.keys.get(k.name);
        if (!spec) throw new PrepError(`${what}: key ${k.name} is not a card key of the profile`);
        return [{ mac: { key: runKey(spec, ctx), data: runParts(node.args[1]!, ctx, what) } }];
      }
    }
  }
  throw new PrepError(`${what}: this expression needs the card and is not one prep can hand to the runner (supported: card facts, right/left of a fact, concat, mac, named values)`);
}

/** A card key whose derivation data needs the card: the recipe the runner follows. */
export function runKey(spec: CardKeySpec, ctx: RunContext): RunKey {
  const d: DerivationSpec = spec.derive;
  return {
    alg: spec.alg,
    master: { label: d.master.label, version: ctx.versionOf(d.master.label) },
    method: d.method,
    levels: d.data.map((e) => runParts(e.node, ctx, `key ${spec.name} derivation data`)),
    ...(d.keyType ? { keyType: d.keyType } : {}),
    name: spec.name,
  };
}
