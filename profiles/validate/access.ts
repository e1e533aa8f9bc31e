// Access conditions of DFs and EFs: pin(X), auth(X) and mac(X) resolved to the PIN or key the
// card would actually find from that DF (it searches the DF, then each DF above it).
import { clip } from '../../bytes/index.js';
import type { Loc } from '../errors.js';
import type { LMap, LScalar } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { AccessSpec, DfNode } from '../types.js';
import { dfName, hex2, type Context, type KeyDecl } from './context.js';

/** Resolves `pin(X)`, `auth(X)` and `mac(X)` and checks the card would find X from `df`. */
export function resolveAccess(ctx: Context, map: LMap | undefined, op: string, df: DfNode): AccessSpec {
  const text = ctx.str(map, op);
  if (text === undefined) return { kind: 'never' };
  if (text === 'always' || text === 'never') return { kind: text };
  const m = /^(pin|auth|mac)\(([A-Za-z_][A-Za-z0-9_-]*)\)$/.exec(text);
  if (!m) return { kind: 'never' }; // reported by the schema
  const [, kind, name] = m as unknown as [string, 'pin' | 'auth' | 'mac', string];
  const scalarNode = ctx.get(map, op) as LScalar;
  const nameLoc: Loc = scalarNode.at ? scalarNode.at(kind.length + 1) : scalarNode.loc;
  const chain = ctx.dfChain(df.path);
  if (kind === 'pin') {
    const pin = ctx.pinDecls.get(name);
    if (!pin) {
      ctx.error(nameLoc, 'unknown-pin', `${op}: PIN '${clip(name)}' is not defined`, didYouMean(name, ctx.pinDecls.keys()) ?? 'define it under pins: of this DF or a DF above it');
      return { kind: 'never' };
    }
    if (!chain.includes(pin.df)) {
      ctx.error(nameLoc, 'key-not-visible', `${op}: PIN ${name} is in ${dfName(pin.df)}, which is not ${dfName(df)} or above it`, 'the card looks a PIN up in the current DF and then in the DFs above it');
    } else if (pin.id !== undefined) {
      const first = chain.map((d) => [...ctx.pinDecls.values()].find((p) => p.df === d && p.id === pin.id)).find((p) => p !== undefined);
      if (first && first !== pin) ctx.error(nameLoc, 'key-shadowed', `${op}: the card would use PIN ${first.name} (id ${hex2(pin.id)} in ${dfName(first.df)}), not ${name}`, 'give the PINs different ids');
    }
    return { kind: 'pin', pin: name, id: pin.id ?? 0 };
  }
  const key = ctx.keyDecls.get(name);
  if (!key) {
    ctx.error(nameLoc, 'unknown-key-ref', `${op}: key '${clip(name)}' is not defined`, didYouMean(name, ctx.keyDecls.keys()) ?? 'define it under keys: of this DF or a DF above it');
    return { kind: 'never' };
  }
  const types = kind === 'auth' ? ['external-auth', 'master'] : ['line-protection'];
  if (key.role !== undefined && !types.includes(key.role)) {
    ctx.error(nameLoc, 'key-role', `${op}: ${kind}(${name}) needs ${kind === 'auth' ? 'an external-auth or master key' : 'a line-protection key'}, and ${name} is ${key.role}`);
  }
  if (!key.df || !chain.includes(key.df)) {
    ctx.error(nameLoc, 'key-not-visible', `${op}: key ${name} is in ${key.df ? dfName(key.df) : key.owner}, which is not ${dfName(df)} or above it`, 'the card looks a key up in the current DF and then in the DFs above it');
  } else if (key.id !== undefined) {
    // The simulator's lookup: DF by DF upward, and in each DF the types in order.
    let first: KeyDecl | undefined;
    for (const d of chain) {
      for (const t of types) {
        first = [...ctx.keyDecls.values()].find((k) => k.df === d && k.role === t && k.id === key.id);
        if (first) break;
      }
      if (first) break;
    }
    if (first && first !== key) {
      ctx.error(nameLoc, 'key-shadowed', `${op}: the card would use key ${first.name} (${first.role} id ${hex2(key.id)} in ${dfName(first.df!)}), not ${name}`, `use ${kind}(${first.name}), or give the keys different ids`);
    }
  }
  return { kind: kind === 'auth' ? 'key' : 'sm', key: name, id: key.id ?? 0 };
}
