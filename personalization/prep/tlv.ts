// The few encoders the script builders use, re-exported from iso7816/ in one place.
export { buildTlv, encodeBcd } from '../../iso7816/index.js';
import { concat } from '../../bytes/index.js';
/** SIMPLE-TLV record: tag ‖ length ‖ value. */
export function encodeTlvRecordSafe(tag: number, value: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag, value.length), value);
}
