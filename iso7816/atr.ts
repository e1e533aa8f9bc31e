// The answer to reset as the host reads it (ISO/IEC 7816-3 §8.2): the interface bytes are walked
// through the TDi chain only to find where the historical bytes start.

/** Historical bytes of an ATR (ISO/IEC 7816-3 §8.2), or undefined when the ATR is malformed. */
export function atrHistoricalBytes(atr: Uint8Array): Uint8Array | undefined {
  if (atr.length < 2) return undefined;
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  let y = t0 >> 4;
  let i = 2;
  for (;;) {
    const td = y & 0x08 ? i + ((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1)) : -1;
    i += (y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1) + ((y >> 3) & 1);
    if (td < 0) break;
    if (td >= atr.length) return undefined;
    y = atr[td]! >> 4;
  }
  if (i + k > atr.length) return undefined;
  return atr.slice(i, i + k);
}
