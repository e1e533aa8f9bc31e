// The built-in functions that make bytes: hex, BCD and cn, ASCII and GBK encodings, the PBOC MAC
// under a card key and the EMV Option A block.
import { fromHex } from '../../bytes/index.js';
import { encodeBcd, encodeCn, encodeGbk } from '../../iso7816/index.js';
import { atCall, bytes, int, needBytes, needInt, needText, str, type FnSpec } from './fnspec.js';
import { bytesType, describeType, ExprEvalError } from './types.js';

export const BYTES_FUNCTIONS: [string, FnSpec][] = [
  [
    'hex',
    {
      arity: [1, 1],
      signature: "hex('D156000005'): bytes from hex digits",
      describe: 'bytes from hex',
      check(args, report) {
        const s = needText(args[0], 'hex', 1, report);
        if (!s) return undefined;
        if (s.constant !== undefined) {
          try {
            const b = fromHex(s.constant);
            return bytesType(b.length, b.length, b);
          } catch (e) {
            return report(args[0]!.node.at, `hex: ${(e as Error).message.replace(/^hex: /, '')}`);
          }
        }
        if (s.charset === 'any') return report(args[0]!.node.at, 'hex needs hex digits');
        return bytesType(Math.floor(s.min / 2), Math.floor(s.max / 2));
      },
      evaluate: atCall((args) => fromHex(str(args[0]))),
    },
  ],
  ['bcd', { arity: [1, 2], signature: 'bcd(digits, n): packed BCD, right-aligned with 0 nibbles in n bytes (default: as few as fit)', describe: 'BCD', check: bcdCheck('bcd'), evaluate: bcdEval('bcd') }],
  ['cn', { arity: [2, 2], signature: 'cn(digits, n): packed BCD left-aligned, F-padded to n bytes (format cn)', describe: 'cn', check: bcdCheck('cn'), evaluate: bcdEval('cn') }],
  [
    'ascii',
    {
      arity: [1, 1],
      signature: "ascii(text): the ASCII bytes of a text ('sx' → 73 78)",
      describe: 'ASCII bytes',
      check(args, report) {
        const s = needText(args[0], 'ascii', 1, report);
        if (!s) return undefined;
        if (s.charset === 'any') return report(args[0]!.node.at, 'ascii: the text may hold characters outside ASCII', 'use gbk() for Chinese text');
        return bytesType(s.min, s.max, s.constant === undefined ? undefined : new TextEncoder().encode(s.constant));
      },
      evaluate(args, _env, node) {
        const s = str(args[0]);
        if (!/^[\x20-\x7e]*$/.test(s)) throw new ExprEvalError('ascii: the text holds a character outside printable ASCII', node.at);
        return new TextEncoder().encode(s);
      },
    },
  ],
  [
    'gbk',
    {
      arity: [1, 2],
      signature: 'gbk(text, n): GBK bytes of a text, 00-padded to n bytes when n is given',
      describe: 'GBK bytes',
      check(args, report) {
        const s = needText(args[0], 'gbk', 1, report);
        const n = needInt(args[1], 'gbk', 2, report, 0, 4096);
        if (!s || n === undefined) return undefined;
        if (n === null) return bytesType(s.min, s.gbkMax);
        if (s.gbkMax > n) return report(args[0]!.node.at, `gbk: text of up to ${s.gbkMax} GBK bytes does not fit in ${n} bytes`);
        return bytesType(n, n);
      },
      evaluate: atCall((args) => (args[1] === undefined ? encodeGbk(str(args[0])) : encodeGbk(str(args[0]), int(args[1])))),
    },
  ],
  [
    'mac',
    {
      arity: [2, 2],
      signature: 'mac(key.NAME, data): the 4-byte PBOC MAC of data (IV 0) under this card\'s key NAME',
      describe: 'PBOC MAC',
      check(args, report) {
        if (args[0]!.type.t !== 'key') return report(args[0]!.node.at, 'mac: the first argument must name a key, e.g. key.IRK');
        const d = needBytes(args[1]!, 'mac', 2, report);
        if (!d) return undefined;
        return bytesType(4, 4);
      },
      evaluate(args, env, node) {
        const k = args[0] as { key: string };
        if (!env.mac) throw new ExprEvalError(`mac(key.${k.key}, …) needs the card's keys, which this evaluation was not given`, node.at);
        return env.mac(k.key, bytes(args[1]));
      },
    },
  ],
  [
    'optionA',
    {
      arity: [2, 2],
      signature: "optionA(pan, psn): the 8-byte EMV Option A block (rightmost 16 digits of PAN ‖ PSN)",
      describe: 'EMV Option A data',
      check(args, report) {
        const pan = needText(args[0], 'optionA', 1, report);
        const psn = needText(args[1], 'optionA', 2, report);
        if (!pan || !psn) return undefined;
        if (pan.charset !== 'digits') return report(args[0]!.node.at, 'optionA: the PAN must be digits');
        if (psn.charset !== 'digits' || psn.max !== 2 || psn.min !== 2) return report(args[1]!.node.at, 'optionA: the PSN must be 2 digits');
        return bytesType(8, 8);
      },
      evaluate(args) {
        const digits = (str(args[0]) + str(args[1])).slice(-16).padStart(16, '0');
        return encodeBcd(digits);
      },
    },
  ],
];

function bcdCheck(kind: 'bcd' | 'cn'): FnSpec['check'] {
  return (args, report) => {
    const s = needText(args[0], kind, 1, report);
    const n = needInt(args[1], kind, 2, report, 1, 255);
    if (!s || n === undefined) return undefined;
    if (s.charset !== 'digits') return report(args[0]!.node.at, `${kind}: the text may hold characters other than digits (${describeType(s)})`);
    if (n === null) {
      const constant = s.constant === undefined ? undefined : encodeBcd(s.constant);
      return bytesType(Math.ceil(s.min / 2), Math.ceil(s.max / 2), constant);
    }
    if (Math.ceil(s.max / 2) > n) return report(args[0]!.node.at, `${kind}: up to ${s.max} digits do not fit in ${n} byte${n === 1 ? '' : 's'} (they need ${Math.ceil(s.max / 2)})`);
    return bytesType(n, n);
  };
}

function bcdEval(kind: 'bcd' | 'cn'): FnSpec['evaluate'] {
  return atCall((args) => {
    const s = str(args[0]);
    if (kind === 'cn') return encodeCn(s, int(args[1]));
    return args[1] === undefined ? encodeBcd(s) : encodeBcd(s, { length: int(args[1]) });
  });
}
