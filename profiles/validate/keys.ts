// Card keys, wherever declared (sscard DFs, the ISD, applets): role, algorithm, tries, and the
// diversification that derives each card's key from a key-store master.
import { clip } from '../../bytes/index.js';
import { DIVERSIFY_METHODS, type DiversifyMethod, type KeyType as GpKeyType } from '../../crypto/diversify.js';
import type { Loc } from '../errors.js';
import { bytesType, describeType, type Expr } from '../expr.js';
import { range } from '../expr/types.js';
import { entry, type LNode } from '../source.js';
import type { CardKeySpec, DerivationSpec, DfNode, KeyAlg, KeyRole } from '../types.js';
import { normAlg, safeHex, showAlg, type Context, type KeyDecl } from './context.js';

/** The key types of the social-security COS (prep maps them to its key-file codes). */
const SSCARD_ROLES = new Set(['master', 'external-auth', 'internal-auth', 'pin-unblock', 'pin-reload', 'line-protection', 'app-block', 'card-block']);

export function declareKey(ctx: Context, name: string, node: LNode, keyLoc: Loc, owner: string, df?: DfNode): void {
  const m = ctx.map(node);
  if (!m) return;
  if (!ctx.claimName(name, keyLoc)) return;
  const role = ctx.str(m, 'type') as KeyRole | undefined;
  const decl: KeyDecl = { name, owner, df, node: m, role, id: ctx.hexNum(m, 'id') };
  ctx.keyDecls.set(name, decl);
  if (df && role !== undefined && !SSCARD_ROLES.has(role)) {
    ctx.error(ctx.locOf(m, 'type'), 'key-role', `key type '${clip(role)}' is not one of the social-security COS's key types`, `use ${[...SSCARD_ROLES].join(', ')}`);
  }
}

/** Builds and checks one card key (its derivation too); returns undefined when it cannot. */
export function cardKey(ctx: Context, decl: KeyDecl): CardKeySpec | undefined {
  const m = decl.node;
  const role = decl.role;
  const id = decl.id;
  const loc = m.keyLoc ?? m.loc;
  if (role === undefined || id === undefined) return undefined;
  const algText = ctx.str(m, 'algorithm');
  const alg = algText ? normAlg(algText) : ctx.keyAlgorithm;
  if (decl.df && alg === 'aes') ctx.error(algText ? ctx.locOf(m, 'algorithm') : loc, 'key-algorithm', `key ${decl.name}: the social-security COS keeps 3DES and SM4 keys, not AES`);
  if (!decl.df && decl.owner === 'isd') {
    const want = ctx.scp === 'scp02' ? 'des3' : 'aes';
    if (alg !== want) ctx.error(algText ? ctx.locOf(m, 'algorithm') : loc, 'key-algorithm', `key ${decl.name}: ${ctx.scp.toUpperCase()} key sets are ${showAlg(want)}, not ${showAlg(alg)}`);
  }
  const version = ctx.num(m, 'version') ?? 1;
  const tries = ctx.num(m, 'tries');
  if (decl.df && tries === undefined) ctx.error(loc, 'key-tries', `key ${decl.name} needs tries (its error counter limit, 1-15)`);
  const derive = derivation(ctx, decl, alg, role);
  if (!derive) return undefined;
  return { name: decl.name, owner: decl.owner, role, id, version, alg, tries, derive, loc };
}

function derivation(ctx: Context, decl: KeyDecl, alg: KeyAlg, role: KeyRole): DerivationSpec | undefined {
  const d = ctx.map(ctx.get(decl.node, 'derive'));
  if (!d) return undefined;
  const method = ctx.str(d, 'method') as DiversifyMethod | undefined;
  if (!method || !DIVERSIFY_METHODS.includes(method)) return undefined;
  const wantMaster: KeyAlg[] = method === 'pboc' ? [alg === 'sm4' ? 'sm4' : 'des3'] : method === 'kdf3' ? ['aes'] : ['des3'];
  const master = ctx.alias(d, 'master', wantMaster, `master of ${decl.name}`);
  const loc = d.keyLoc ?? d.loc;
  const keyAlgFor: Record<DiversifyMethod, KeyAlg[]> = { pboc: ['des3', 'sm4'], emv: ['des3'], visa2: ['des3'], cps11: ['des3'], 'emv-option-a': ['des3'], kdf3: ['aes'] };
  if (!keyAlgFor[method].includes(alg)) {
    ctx.error(ctx.locOf(d, 'method'), 'derive-algorithm', `key ${decl.name} is ${showAlg(alg)}, and ${method} derives ${keyAlgFor[method].map(showAlg).join(' or ')} keys`);
  }
  const dataNodes: LNode[] = [];
  const levels = ctx.get(d, 'levels');
  const data = ctx.get(d, 'data');
  if (levels && data) ctx.error(ctx.keyLocOf(d, 'levels'), 'derive-data', `key ${decl.name}: give data or levels, not both`);
  if (levels?.kind === 'seq') {
    if (method !== 'pboc') ctx.error(ctx.keyLocOf(d, 'levels'), 'derive-data', `levels are for pboc diversification; ${method} takes one data:`);
    dataNodes.push(...levels.items);
  } else if (data) dataNodes.push(data);
  else {
    ctx.error(loc, 'derive-data', `key ${decl.name} needs its diversification data (data: or levels:)`, method === 'pboc' ? 'levels: [level 1 (8 bytes), level 2 (8 bytes)]' : 'data: ${card.kdd}');
    return undefined;
  }
  const want = method === 'pboc' || method === 'emv-option-a' ? 8 : 10;
  const exprs: Expr[] = [];
  for (const n of dataNodes) {
    const e = ctx.exprNode(n, `diversification data of ${decl.name}`);
    if (!e) continue;
    const t = e.type;
    const literalHex = e.literal && t.t === 'text' ? safeHex(t.constant ?? '') : undefined;
    const size = literalHex ? bytesType(literalHex.length, literalHex.length) : t;
    if (size.t !== 'bytes') {
      ctx.error(n.loc, 'derive-data', `diversification data of ${decl.name} must be bytes, but it is ${describeType(t)}`, 'build it with hex(), bcd(), ascii() or card.chipId, e.g. ${concat(ascii(param.cityCode), ascii(\'sx\'))}');
    } else if (size.min !== want || size.max !== want) {
      ctx.error(n.loc, 'derive-data', `${method} needs ${want} bytes of data${method === 'pboc' ? ' per level' : ''}; this gives ${range(size.min, size.max)}`);
    }
    exprs.push(e);
  }
  if (method === 'pboc' && exprs.length > 3) ctx.error(ctx.keyLocOf(d, 'levels'), 'derive-data', 'pboc takes 1 to 3 levels');
  let keyType = ctx.str(d, 'keyType') as GpKeyType | undefined;
  const needsType = method === 'emv' || method === 'visa2' || method === 'kdf3' || method === 'cps11';
  if (needsType && keyType === undefined && (role === 'enc' || role === 'mac' || role === 'dek')) keyType = role;
  if (needsType && keyType === undefined) ctx.error(loc, 'derive-key-type', `${method} derives one key of an ENC/MAC/DEK set; say which with keyType`, 'keyType: enc, mac or dek');
  if (!needsType && entry(d, 'keyType')) ctx.error(ctx.keyLocOf(d, 'keyType'), 'derive-key-type', `${method} takes no keyType`);
  if (!master) return undefined;
  return { method, master, data: exprs, keyType, phase: exprs.some((e) => e.phase === 'run') ? 'run' : 'prep', loc };
}
