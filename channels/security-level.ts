// Security levels of a secure channel session: the P1 of EXTERNAL AUTHENTICATE (GP Card
// Specification 2.3.1 §11.8.2.1 and Appendix E.5.2 for SCP02; Amendment D §7.1.2.1 for SCP03).

export const C_MAC = 0x01;
export const C_DECRYPTION = 0x02;
export const R_MAC = 0x10;
export const R_ENCRYPTION = 0x20;

/** Levels each protocol defines; anything else is refused before a command goes out. */
export const SCP02_LEVELS: readonly number[] = [0x00, 0x01, 0x03, 0x10, 0x11, 0x13];
export const SCP03_LEVELS: readonly number[] = [0x00, 0x01, 0x03, 0x11, 0x13, 0x33];

const NAMES: Record<string, number> = {
  clear: 0x00,
  none: 0x00,
  mac: C_MAC,
  'c-mac': C_MAC,
  enc: C_MAC | C_DECRYPTION,
  'mac+enc': C_MAC | C_DECRYPTION,
  'c-dec': C_MAC | C_DECRYPTION,
  rmac: R_MAC,
  'mac+rmac': C_MAC | R_MAC,
  'mac+enc+rmac': C_MAC | C_DECRYPTION | R_MAC,
  'mac+enc+rmac+renc': C_MAC | C_DECRYPTION | R_MAC | R_ENCRYPTION,
  all: C_MAC | C_DECRYPTION | R_MAC | R_ENCRYPTION,
};

export const SECURITY_LEVEL_NAMES: readonly string[] = ['clear', 'mac', 'mac+enc', 'mac+rmac', 'mac+enc+rmac', 'mac+enc+rmac+renc'];

/** `mac+enc`, `C-MAC+C-DEC`, `03` or `0x03` → 0x03. Throws RangeError naming the accepted forms. */
export function parseSecurityLevel(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^(0x)?[0-9a-f]{1,2}$/.test(t)) return Number.parseInt(t.replace(/^0x/, ''), 16);
  const n = NAMES[t.replace(/c-dec(ryption)?/g, 'enc').replace(/r-enc(ryption)?/g, 'renc').replace(/r-mac/g, 'rmac').replace(/c-mac/g, 'mac')];
  if (n === undefined) {
    throw new RangeError(`security level: '${text}' is not one of ${SECURITY_LEVEL_NAMES.join(', ')} or a hex byte (e.g. 03)`);
  }
  return n;
}

/** `C-MAC + C-DECRYPTION (03)`. */
export function describeSecurityLevel(level: number): string {
  const parts: string[] = [];
  if (level & C_MAC) parts.push('C-MAC');
  if (level & C_DECRYPTION) parts.push('C-DECRYPTION');
  if (level & R_MAC) parts.push('R-MAC');
  if (level & R_ENCRYPTION) parts.push('R-ENCRYPTION');
  return `${parts.length ? parts.join(' + ') : 'no protection'} (${level.toString(16).toUpperCase().padStart(2, '0')})`;
}

/** Refuses levels the protocol does not define (e.g. C-DECRYPTION without C-MAC). */
export function checkSecurityLevel(protocol: 'scp02' | 'scp03', level: number): number {
  const allowed = protocol === 'scp02' ? SCP02_LEVELS : SCP03_LEVELS;
  if (!Number.isInteger(level) || !allowed.includes(level)) {
    const list = allowed.map((l) => l.toString(16).toUpperCase().padStart(2, '0')).join(', ');
    throw new RangeError(`${protocol}: security level ${String(level)} is not defined for ${protocol.toUpperCase()} (allowed: ${list})`);
  }
  return level;
}
