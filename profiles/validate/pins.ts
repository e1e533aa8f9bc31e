// PINs of the sscard file tree: ids, lengths, where the first value comes from (fixed PINs only
// in test profiles), and the unblock and reload keys the card would pair with each.
import { clip } from '../../bytes/index.js';
import { range } from '../expr/types.js';
import type { Loc } from '../errors.js';
import { entry, type LMap, type LNode } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { DfNode, KeyRole, PinSource, PinSpec } from '../types.js';
import { dfName, hex2, type Context, type PinDecl } from './context.js';

export function declarePin(ctx: Context, name: string, node: LNode, keyLoc: Loc, df: DfNode): void {
  const m = ctx.map(node);
  if (!m) return;
  if (!ctx.claimName(name, keyLoc)) return;
  ctx.pinDecls.set(name, { name, df, node: m, id: ctx.hexNum(m, 'id') });
}

export function readPins(ctx: Context): PinSpec[] {
  const out: PinSpec[] = [];
  const ids = new Map<string, PinDecl>();
  for (const p of ctx.pinDecls.values()) {
    const m = p.node;
    const loc = m.keyLoc ?? m.loc;
    if (p.id === undefined) continue;
    const idKey = `${p.df.path}/${p.id}`;
    const other = ids.get(idKey);
    if (other) ctx.error(ctx.locOf(m, 'id'), 'duplicate-key-id', `${dfName(p.df)} has two PINs with id ${hex2(p.id)}: ${other.name} and ${p.name}`);
    else ids.set(idKey, p);
    const len = ctx.num(m, 'length');
    const minLength = ctx.num(m, 'minLength') ?? len ?? 6;
    const maxLength = ctx.num(m, 'maxLength') ?? len ?? Math.max(6, minLength);
    if (len !== undefined && (entry(m, 'minLength') || entry(m, 'maxLength'))) ctx.error(ctx.keyLocOf(m, 'length'), 'pin-length', `PIN ${p.name}: give length, or minLength and maxLength, not both`);
    if (minLength > maxLength) ctx.error(loc, 'pin-length', `PIN ${p.name}: minLength ${minLength} is more than maxLength ${maxLength}`);
    const init = ctx.map(ctx.get(m, 'initial'));
    const source = ctx.str(init, 'source');
    let initial: PinSource = { kind: 'random' };
    if (source === 'record') {
      const field = ctx.str(init, 'field');
      if (field === undefined) ctx.error(ctx.keyLocOf(m, 'initial'), 'pin-source', `PIN ${p.name} comes from the record, so initial needs field:`);
      else {
        const f = ctx.fields.get(field);
        if (!f) ctx.error(ctx.locOf(init, 'field'), 'unknown-field', `PIN ${p.name}: record field '${clip(field)}' is not declared`, didYouMean(field, ctx.fields.keys()) ?? 'declare it under record.fields with type: pin');
        else if (f.type !== 'pin') ctx.error(ctx.locOf(init, 'field'), 'pin-source', `PIN ${p.name}: field '${clip(field)}' is ${f.type}; a PIN field has type pin`);
        else if ((f.minLength ?? 4) < minLength || (f.maxLength ?? 12) > maxLength) {
          ctx.error(ctx.locOf(init, 'field'), 'pin-length', `PIN ${p.name} is ${range(minLength, maxLength)} digits, but field '${clip(field)}' allows ${range(f.minLength ?? 4, f.maxLength ?? 12)}`, 'give the field the same length bounds');
        }
        initial = { kind: 'record', field };
      }
      if (entry(init, 'value')) ctx.error(ctx.keyLocOf(init, 'value'), 'pin-source', 'value is for source: fixed');
    } else if (source === 'fixed') {
      const value = ctx.str(init, 'value');
      if (value === undefined) ctx.error(ctx.keyLocOf(m, 'initial'), 'pin-source', `PIN ${p.name} is fixed, so initial needs value:`);
      else {
        if (value.length < minLength || value.length > maxLength) ctx.error(ctx.locOf(init, 'value'), 'pin-length', `PIN ${p.name}: the fixed value has ${value.length} digits, the PIN ${range(minLength, maxLength)}`);
        initial = { kind: 'fixed', value };
      }
      if (ctx.test) {
        ctx.warn(ctx.locOf(init, 'source'), 'fixed-pin', `PIN ${p.name} is the same on every card (allowed because this is a test profile)`);
      } else {
        ctx.error(ctx.locOf(init, 'source'), 'fixed-pin', `PIN ${p.name} would be the same on every card; fixed PINs are for test profiles only`, 'use source: random or source: record, or mark the profile test: true');
      }
    } else if (source === 'random') {
      for (const k of ['field', 'value']) if (entry(init, k)) ctx.error(ctx.keyLocOf(init, k), 'pin-source', `${k} does not apply to a random PIN`);
    }
    const pin: PinSpec = {
      name: p.name,
      owner: p.df.path === '' ? 'MF' : p.df.path,
      id: p.id,
      minLength,
      maxLength,
      tries: ctx.num(m, 'tries') ?? 3,
      initial,
      unblockKey: pinKey(ctx, m, 'unblock', 'pin-unblock', p),
      reloadKey: pinKey(ctx, m, 'reload', 'pin-reload', p),
      loc,
    };
    p.df.pins.push(pin);
    out.push(pin);
  }
  return out;
}

function pinKey(ctx: Context, m: LMap, key: string, role: KeyRole, p: PinDecl): string | undefined {
  const name = ctx.str(m, key);
  if (name === undefined) return undefined;
  const k = ctx.keyDecls.get(name);
  const loc = ctx.locOf(m, key);
  if (!k) {
    ctx.error(loc, 'unknown-key-ref', `PIN ${p.name}: ${key} key '${clip(name)}' is not defined`, didYouMean(name, ctx.keyDecls.keys()) ?? `define a ${role} key`);
    return undefined;
  }
  if (k.role !== role) ctx.error(loc, 'key-role', `PIN ${p.name}: ${key} needs a ${role} key, and ${name} is ${k.role ?? 'untyped'}`);
  // The COS looks a PIN's PUK and reload key up from the PIN's DF upward.
  const chain = ctx.dfChain(p.df.path);
  if (!k.df || !chain.includes(k.df)) {
    ctx.error(loc, 'key-not-visible', `PIN ${p.name}: ${key} key ${name} is in ${k.df ? dfName(k.df) : k.owner}, which is not ${dfName(p.df)} or above it`, "the card looks a PIN's keys up from the PIN's DF upward");
  }
  // The COS pairs a PIN with the PUK / reload key of the same id (simulator/sscard/keys.ts).
  if (k.id !== undefined && p.id !== undefined && k.id !== p.id) {
    ctx.error(loc, 'key-id', `PIN ${p.name} has id ${hex2(p.id)}, so its ${key} key must have id ${hex2(p.id)} too (${name} has ${hex2(k.id)})`);
  }
  return name;
}
