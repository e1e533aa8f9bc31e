// probe-keys: which candidate key and diversification template a card holds, tested offline from
// ONE INITIALIZE UPDATE response (GP Card Specification 2.3.1 §E.4.2 / Amendment D §6.2.2). The
// card cryptogram is computed locally for every candidate and compared; EXTERNAL AUTHENTICATE —
// the command whose failures the card counts towards blocking the key set — is never sent.
// What a match proves: SCP02 cryptograms use S-ENC only, so a match pins the ENC key; SCP03
// cryptograms use S-MAC, so a match pins the MAC key (and a pseudo-random challenge, i b5, pins ENC).
import { fromHex, toHex } from '../bytes/index.js';
import { kcv } from '../crypto/index.js';
import { cardCryptogramMatches, checkPseudoRandomChallenge, type InitializeUpdateResponse } from '../channels/initialize-update.js';
import { masterKeySource, type Diversification } from '../channels/keys.js';

export interface ProbeKey {
  label: string;
  key: Uint8Array;
}

/** Keys that development and sample cards ship with (public knowledge, no secret). */
export const WELL_KNOWN_KEYS: readonly { label: string; hex: string }[] = Object.freeze([
  { label: 'GlobalPlatform test key 40..4F', hex: '404142434445464748494A4B4C4D4E4F' },
  { label: 'GlobalPlatform test key 40..5F (AES-256)', hex: '404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F' },
  { label: 'Gemalto sample key "GEMXPRESSOSAMPLE"', hex: '47454D5850524553534F53414D504C45' },
  { label: 'all zeros', hex: '00000000000000000000000000000000' },
  { label: 'all FF', hex: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' },
  { label: 'sequence 01..10', hex: '0102030405060708090A0B0C0D0E0F10' },
]);

export function wellKnownKeys(): ProbeKey[] {
  return WELL_KNOWN_KEYS.map((k) => ({ label: k.label, key: fromHex(k.hex) }));
}

export interface ProbeResult {
  label: string;
  diversification: Diversification;
  /** KCV of the master (or static) key tried. */
  kcv: string;
  matches: boolean;
  /** SCP03 pseudo-random challenges: whether the ENC key derived the card challenge too. */
  challengeMatches?: boolean;
  /** Why the candidate could not be tried (wrong key length for the protocol, …). */
  skipped?: string;
}

/** Templates that fit the protocol: 3DES ones for SCP02, AES ones for SCP03. */
export function templatesFor(scp: 2 | 3): Diversification[] {
  return scp === 2 ? ['none', 'emv', 'visa2'] : ['none', 'kdf3'];
}

export function probeKeys(
  response: InitializeUpdateResponse,
  hostChallenge: Uint8Array,
  keys: readonly ProbeKey[],
  options: { templates?: readonly Diversification[]; scp02i?: number; sdAid?: Uint8Array } = {},
): ProbeResult[] {
  const templates = options.templates ?? templatesFor(response.scp);
  const out: ProbeResult[] = [];
  for (const k of keys) {
    let keyKcv = '?';
    try {
      keyKcv = toHex(kcv(response.scp === 2 || k.key.length === 8 ? 'des3' : 'aes', k.key));
    } catch {
      // reported through `skipped` below
    }
    for (const diversification of templates) {
      const result: ProbeResult = { label: k.label, diversification, kcv: keyKcv, matches: false };
      try {
        const set = masterKeySource(k.key, diversification).keysFor(response.kdd, response.scp);
        result.matches = cardCryptogramMatches(set, response, hostChallenge, options.scp02i);
        if (options.sdAid) {
          const c = checkPseudoRandomChallenge(set, response, options.sdAid);
          if (c !== undefined) result.challengeMatches = c;
        }
      } catch (e) {
        result.skipped = e instanceof Error ? e.message : String(e);
      }
      out.push(result);
    }
  }
  return out;
}
