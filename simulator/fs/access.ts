// Access conditions (ISO/IEC 7816-4 §5.4 "security attributes", in a compact proprietary byte form
// — cardsmith choice, docs/simulator.md "Access conditions"): one byte per operation,
//   00 always · FF never · 1x PIN x verified · 2x external authentication with key x ·
//   3x command carries a PBOC MAC under line-protection key x (secure messaging).
// x is 0–F. Evaluating a condition needs the security state, which is runtime state and lives
// elsewhere (fs/runtime.ts); this module only knows what a condition *is*.

export type AccessCondition =
  | { readonly kind: 'always' }
  | { readonly kind: 'never' }
  | { readonly kind: 'pin'; readonly id: number }
  | { readonly kind: 'key'; readonly id: number }
  | { readonly kind: 'sm'; readonly keyId: number };

export const ALWAYS: AccessCondition = Object.freeze({ kind: 'always' });
export const NEVER: AccessCondition = Object.freeze({ kind: 'never' });

/** The condition a byte encodes, or undefined for a byte with no meaning (CREATE FILE answers 6A80). */
export function decodeAccess(byte: number): AccessCondition | undefined {
  if (byte === 0x00) return ALWAYS;
  if (byte === 0xff) return NEVER;
  const x = byte & 0x0f;
  switch (byte >> 4) {
    case 0x1:
      return { kind: 'pin', id: x };
    case 0x2:
      return { kind: 'key', id: x };
    case 0x3:
      return { kind: 'sm', keyId: x };
    default:
      return undefined;
  }
}

export function encodeAccess(ac: AccessCondition): number {
  switch (ac.kind) {
    case 'always':
      return 0x00;
    case 'never':
      return 0xff;
    case 'pin':
      return 0x10 | ac.id;
    case 'key':
      return 0x20 | ac.id;
    case 'sm':
      return 0x30 | ac.keyId;
  }
}
