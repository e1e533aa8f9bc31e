// Keys lent by a store that holds values in memory (the file store) to worker threads of the
// same process, for bulk work that would otherwise wait on one thread: prep's per-card sealing
// and prep-phase card key derivation. Only exportable keys are lent, only for the operations
// below, and the borrower wipes them when done. A PKCS#11 store lends nothing: its keys stay in
// the token and the work runs on the thread that holds the session.
import { wipe } from '../bytes/index.js';
import { KeyNotFoundError } from './errors.js';
import { deriveAlgOf, sealEnvelope, sealIv } from './base-store.js';
import { requireUsage } from './material.js';
import { softwareDerive, softwareGcm, softwareMac } from './software.js';
import type { CardKey, DeriveRequest, KeyInfo, KeyProvider, KeyRef, SealOptions } from './types.js';

export interface LentKey {
  info: KeyInfo;
  value: Uint8Array;
}

/** The lent keys as the part of a KeyProvider prep's card builder uses. */
export class LentKeys implements Pick<KeyProvider, 'seal' | 'mac' | 'deriveCardKeys'> {
  readonly #keys: LentKey[];

  constructor(keys: readonly LentKey[]) {
    this.#keys = [...keys];
  }

  #find(ref: KeyRef): LentKey {
    const k = this.#keys.find((x) => x.info.label === ref.label && (ref.version === undefined || x.info.version === ref.version));
    if (!k) throw new KeyNotFoundError(`keys: ${ref.label}${ref.version !== undefined ? ` v${ref.version}` : ''} was not lent to this worker`);
    return k;
  }

  async seal(transportKey: KeyRef, secret: Uint8Array, context: Uint8Array = new Uint8Array(0), opts: SealOptions = {}): Promise<Uint8Array> {
    const k = this.#find(transportKey);
    requireUsage(k.info, 'seal');
    const iv = sealIv(opts);
    return sealEnvelope(iv, softwareGcm(k.value, 'encrypt', iv, secret, context));
  }

  async mac(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    const k = this.#find(ref);
    requireUsage(k.info, 'mac');
    return softwareMac(k.info, k.value, data);
  }

  async deriveCardKeys(master: KeyRef, requests: readonly DeriveRequest[]): Promise<CardKey[]> {
    const k = this.#find(master);
    requireUsage(k.info, 'derive');
    return softwareDerive(k.info, k.value, requests, deriveAlgOf(k.info, requests));
  }

  /** Wipes the values; the object is useless afterwards. */
  wipe(): void {
    for (const k of this.#keys) wipe(k.value);
    this.#keys.length = 0;
  }
}
