// Whether an encoding's pad and length make sense, and whether every value an expression can take
// fits its element: shared by EF data elements and GlobalPlatform DGI elements.
import { fromHex } from '../../bytes/index.js';
import { ALLOWED_PADS, type Encoding } from '../codec.js';
import { describeType, type Expr } from '../expr.js';
import { range } from '../expr/types.js';
import type { LMap, LNode } from '../source.js';
import { hex2, type Context } from './context.js';

export function checkCodec(ctx: Context, el: { encoding: Encoding; length: number; fixed: boolean; pad?: number | undefined }, m: LMap, what: string): void {
  const allowed = ALLOWED_PADS[el.encoding];
  if (el.pad !== undefined && allowed !== 'any' && !allowed.includes(el.pad)) {
    const hint = allowed.length === 0 ? `${el.encoding} pads by itself (${el.encoding === 'cn' ? 'F nibbles on the right' : el.encoding === 'bcd' ? '0 nibbles on the left' : 'never'}); remove pad` : `${el.encoding} pads with ${allowed.map(hex2).join(' or ')}`;
    ctx.error(ctx.locOf(m, 'pad'), 'bad-pad', `${what}: pad ${hex2(el.pad)} is not allowed for ${el.encoding}`, hint);
  }
  if (el.encoding === 'date' && (el.length !== 4 || !el.fixed)) {
    ctx.error(ctx.locOf(m, el.fixed ? 'length' : 'maxLength'), 'element-length', `${what}: a date is 4 bytes (YYYYMMDD in BCD)`, 'length: 4');
  }
}

/** Whether every value the expression can take fits the element's encoding and length. */
export function checkFit(ctx: Context, el: { encoding: Encoding; length: number; fixed: boolean; pad?: number | undefined }, v: Expr, node: LNode, what: string): void {
  const t = v.type;
  const loc = node.loc;
  const enc = el.encoding;
  const L = el.length;
  const fail = (message: string, hint?: string): void => ctx.error(loc, 'encoding-capacity', `${what}: ${message}`, hint);
  if (enc === 'binary') {
    if (v.literal && t.t === 'text') {
      // A literal value of a binary element is hex.
      try {
        const b = fromHex(t.constant ?? '');
        if (b.length > L) fail(`${b.length} bytes of hex do not fit in ${L} bytes`);
        else if (el.fixed && b.length < L && el.pad === undefined) fail(`${b.length} bytes of hex for a ${L}-byte element with no pad`, 'give pad: 00 (or the right pad byte), or the full value');
      } catch (e) {
        fail(`a literal binary value is hex: ${(e as Error).message}`);
      }
      return;
    }
    if (t.t !== 'bytes') {
      fail(`binary needs bytes, but the value is ${describeType(t)}`, 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk()');
      return;
    }
    if (t.min > L) fail(`the value is at least ${t.min} bytes; the element holds ${L}`);
    else if (t.max > L) fail(`the value can be up to ${t.max} bytes; the element holds ${L}`);
    else if (el.fixed && t.min < L && el.pad === undefined) fail(`the value can be shorter (${t.min} bytes) than the ${L}-byte element, which has no pad`, 'give pad: 00 (or the right pad byte)');
    return;
  }
  if (t.t === 'bytes' || t.t === 'key') {
    fail(`${enc} needs text, but the value is ${describeType(t)}`, 'use encoding: binary for bytes');
    return;
  }
  if (t.t === 'int') return;
  switch (enc) {
    case 'an':
      if (t.charset === 'any') fail('an holds printable ASCII; the value can hold other characters (Chinese text needs gbk)', 'use encoding: gbk for names');
      if (t.max > L) fail(`an of up to ${t.max} characters does not fit in ${L} bytes`, `raise the length to ${t.max} or limit the field`);
      break;
    case 'gbk':
      if (t.gbkMax > L) {
        fail(`GBK text of up to ${t.gbkMax} bytes does not fit in ${L} bytes`, `raise the length to ${t.gbkMax} or declare the field with maxBytes: ${L}`);
      }
      break;
    case 'cn':
    case 'bcd':
      if (t.charset !== 'digits') fail(`${enc} holds digits; the value can hold ${t.charset === 'upper' ? 'letters (such as a check character X)' : 'other characters'}`, 'use an for text with letters');
      else if (Math.ceil(t.max / 2) > L) fail(`${enc} of ${range(t.min, t.max)} digits needs ${Math.ceil(t.max / 2)} bytes; the element has ${L}`, `length: ${Math.ceil(t.max / 2)}`);
      break;
    case 'date':
      if (t.charset !== 'digits' || t.min !== 8 || t.max !== 8) fail(`a date element takes 8 digits (YYYYMMDD); the value is ${describeType(t)}`, 'record fields of type date and date.today are YYYYMMDD');
      break;
  }
}
