// The registry never holds a cardholder's ID number, only a keyed hash of it: a MAC under a key of
// the key store (label `issuance-registry` by default) over a fixed label and the ID. Without the
// key the hashes cannot be tested against a list of ID numbers (an 18-character citizen ID has few
// enough possible values to be guessed from an unkeyed hash).
//
// Every hash in one registry must come from the same key: the registry remembers the key's label,
// version and KCV on first use and refuses another (a different key store would hash the same
// person differently, and the cross-batch checks would silently pass).
import { concat } from '../../bytes/index.js';
import type { KeyStore } from '../../keys/types.js';
import type { IssuanceRegistry } from './registry.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export const HOLDER_KEY_LABEL = 'issuance-registry';

const LABEL = new TextEncoder().encode('cardsmith/registry/holder\0');

export class HolderKeyError extends CardsmithError {
  override name = 'HolderKeyError';
  readonly kind: ErrorKind = 'input';
}

/** Returns the hasher of ID numbers for this registry, binding the registry to the key on first use. */
export async function holderHasher(store: Pick<KeyStore, 'info' | 'mac'>, registry: IssuanceRegistry, label = HOLDER_KEY_LABEL): Promise<(id: string) => Promise<string>> {
  const bound = registry.holderKey();
  let info;
  try {
    info = await store.info(bound ? { label: bound.label, version: bound.version } : { label });
  } catch (e) {
    throw new HolderKeyError(
      bound
        ? `registry ${registry.path} hashes cardholder IDs with key ${bound.label} v${bound.version} (KCV ${bound.kcv}), which this key store does not hold (${e instanceof Error ? e.message : String(e)}): use the bureau's key store`
        : `the key store has no key '${label}' for the issuance registry's hashes of cardholder IDs: create it once with \`cardsmith keys generate --keystore … --label ${label} --alg aes --length 32 --usage mac\``,
      { cause: e },
    );
  }
  if (!info.usage.includes('mac')) throw new HolderKeyError(`key ${info.label} v${info.version} needs usage 'mac' to key the registry's hashes of cardholder IDs`);
  if (bound && bound.kcv !== info.kcv) {
    throw new HolderKeyError(`registry ${registry.path} hashes cardholder IDs with key ${bound.label} v${bound.version} KCV ${bound.kcv}; this key store's has KCV ${info.kcv}: use the bureau's key store`);
  }
  if (!bound) registry.bindHolderKey({ label: info.label, version: info.version, kcv: info.kcv });
  const ref = { label: info.label, version: info.version };
  return async (id: string) => Buffer.from(await store.mac(ref, concat(LABEL, new TextEncoder().encode(id)))).toString('hex');
}
