// Demo key stores: every key the built-in profiles name, generated, plus the batch transport (seal)
// key, the key of the issuance registry's ID hashes and the card CA with its self-signed
// certificate. The profiles' transport keys are the blank simulated cards' (given by the caller:
// bin/ passes the simulator's), so the result personalizes simulated cards only. Used by
// `cardsmith demo` and by the prep tests; never for real cards.
import { createCaCertificate } from '../keys/ca.js';
import { FileKeyStore } from '../keys/file-store.js';
import type { KeyAlg } from '../keys/types.js';
import { loadProfile } from '../profiles/index.js';
import { HOLDER_KEY_LABEL } from './registry/holder.js';

/** The label of the batch transport (seal) key a demo store holds (prep's default). */
export const DEMO_SEAL_KEY = 'batch-transport';

/** The transport keys blank simulated cards ship with. */
export interface BlankCardKeys {
  /** The social-security card's MF key 00 (sscard profiles). */
  sscard: Uint8Array;
  /** The GlobalPlatform card's ISD keys (the gp-cps profile). */
  gp: Uint8Array;
}

export interface DemoStoreOptions {
  /** The blank simulated cards' transport keys, which the profiles' transport keys are set to. */
  blankCardKeys: BlankCardKeys;
  /** Built-in profile names (builtin:NAME) whose keys the store gets. Default: sscard-gen3. */
  profiles?: string[];
  /** scrypt cost of the store (FileKeyStore.create); tests pass a low one. */
  scryptLog2N?: number;
  /** false: the transport keys are created non-exportable, as an HSM keeps them (default true). */
  transportExportable?: boolean;
  /** Tests: a transport key other than the blank simulators' (a batch the cards refuse). */
  transportKey?: Uint8Array;
}

/** Creates a new key store at `path` with the demo keys; the caller closes it. */
export async function createDemoKeyStore(path: string, passphrase: Uint8Array, o: DemoStoreOptions): Promise<{ store: FileKeyStore; keys: number }> {
  const store = await FileKeyStore.create(path, passphrase, o.scryptLog2N !== undefined ? { scryptLog2N: o.scryptLog2N } : {});
  try {
    const seen = new Set<string>();
    for (const name of o.profiles ?? ['sscard-gen3']) {
      const p = loadProfile(`builtin:${name}`);
      for (const ref of Object.values(p.keyStore)) {
        if (seen.has(ref.label)) continue;
        seen.add(ref.label);
        const alg = ref.alg as KeyAlg;
        if (ref.label === p.transport.key.label) {
          // The blank simulated cards' transport keys; two components (K, 0…0) make K.
          const value = o.transportKey ?? (name === 'gp-cps' ? o.blankCardKeys.gp : o.blankCardKeys.sscard);
          await store.importComponents({ label: ref.label, alg, usage: ['derive', 'encrypt', 'mac', 'wrap'], exportable: o.transportExportable ?? true }, [value, new Uint8Array(value.length)]);
        } else if (alg === 'sm2') {
          await store.generate({ label: ref.label, alg, usage: ['sign'] });
          const der = await createCaCertificate(store, { label: ref.label }, [{ type: 'C', value: 'CN' }, { type: 'CN', value: 'cardsmith demo card CA (not for real cards)' }]);
          await store.setCertificate({ label: ref.label }, der);
        } else {
          await store.generate({ label: ref.label, alg, length: 16, usage: ['derive'] });
        }
      }
    }
    await store.generate({ label: DEMO_SEAL_KEY, alg: 'aes', length: 32, usage: ['seal', 'mac'] });
    await store.generate({ label: HOLDER_KEY_LABEL, alg: 'aes', length: 32, usage: ['mac'] });
    return { store, keys: seen.size + 2 };
  } catch (e) {
    await store.close();
    throw e;
  }
}
