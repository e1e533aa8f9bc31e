// The keyStore section (aliases for keys held outside the profile) and the transport key that
// opens a blank card; aliases nobody names are reported at the end.
import { clip } from '../../bytes/index.js';
import type { Loc } from '../errors.js';
import type { KeyAlg, KeyStoreRef } from '../types.js';
import { normAlg, type Context } from './context.js';

export function readKeyStore(ctx: Context): void {
  for (const e of ctx.entries(ctx.get(ctx.root, 'keyStore'))) {
    const label = ctx.str(e.value, 'label');
    const alg = ctx.str(e.value, 'algorithm');
    if (label === undefined || alg === undefined) continue;
    ctx.keyStore[e.key] = { alias: e.key, label, version: ctx.num(e.value, 'version'), alg: alg === 'sm2' ? 'sm2' : normAlg(alg), loc: e.keyLoc };
  }
  const labels = new Map<string, Loc>();
  for (const ref of Object.values(ctx.keyStore)) {
    const id = `${ref.label}#${ref.version ?? 'newest'}`;
    const seen = labels.get(id);
    if (seen) ctx.warn(ref.loc, 'duplicate-label', `key store label ${ref.label} is named by two aliases`, 'two aliases for one key work, but usually one of them should name another key');
    labels.set(id, ref.loc);
  }
}

export function readTransport(ctx: Context): { key: KeyStoreRef; version: number; loc: Loc } | undefined {
  const t = ctx.map(ctx.get(ctx.root, 'transport'));
  if (!t) return undefined;
  const want: (KeyAlg | 'sm2')[] = ctx.cos === 'globalplatform' ? [ctx.scp === 'scp02' ? 'des3' : 'aes'] : ['des3', 'sm4'];
  const key = ctx.alias(t, 'key', want, 'transport key');
  const version = ctx.num(t, 'version') ?? (ctx.cos === 'globalplatform' ? 0xff : 0);
  return key ? { key, version, loc: t.keyLoc ?? t.loc } : undefined;
}

export function checkUnused(ctx: Context): void {
  for (const [alias, ref] of Object.entries(ctx.keyStore)) {
    if (!ctx.usedAliases.has(alias)) ctx.warn(ref.loc, 'unused-keystore-alias', `keyStore alias '${clip(alias)}' is not used`, 'remove it, or name it from a key (derive.master), transport.key or pki.ca');
  }
}
