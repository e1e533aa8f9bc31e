// The built-in functions that make text: joining, padding, slicing, case, check characters,
// serials and dates. Each entry checks its arguments' types at load time and evaluates per card.
import { clip, concat as concatBytes } from '../../bytes/index.js';
import { addYears, cardNumberCheck, gb11643Check, luhnCheck } from '../checkchars.js';
import { didYouMean } from '../suggest.js';
import { atCall, chars, int, needInt, needText, str, type FnSpec } from './fnspec.js';
import { bytesType, charsetOf, constantText, describeType, ExprEvalError, joinCharset, joinText, range, textType, type BytesType, type Charset, type TextType } from './types.js';

export const TEXT_FUNCTIONS: [string, FnSpec][] = [
  [
    'concat',
    {
      arity: [1, Infinity],
      signature: 'concat(a, b, …): text when every argument is text, bytes when every argument is bytes',
      describe: 'joins its arguments',
      check(args, report) {
        const kinds = new Set(args.map((a) => (a.type.t === 'int' ? 'text' : a.type.t)));
        if (kinds.size > 1 || kinds.has('key')) {
          const odd = args.find((a) => a.type.t !== args[0]!.type.t && !(a.type.t === 'int' && args[0]!.type.t === 'text')) ?? args[0]!;
          return report(odd.node.at, `concat: cannot mix text and bytes (this argument is ${describeType(odd.type)})`, 'turn text into bytes with hex(), bcd(), cn(), ascii() or gbk() first');
        }
        if (kinds.has('bytes')) {
          const bs = args.map((a) => a.type as BytesType);
          const constant = bs.every((b) => b.constant) ? concatBytes(...bs.map((b) => b.constant!)) : undefined;
          return bytesType(
            bs.reduce((n, b) => n + b.min, 0),
            bs.reduce((n, b) => n + b.max, 0),
            constant,
          );
        }
        return joinText(args.map((a) => (a.type.t === 'int' ? constantText(String(a.type.constant ?? 0)) : (a.type as TextType))));
      },
      evaluate(args) {
        if (args.length > 0 && args.every((a) => a instanceof Uint8Array)) return concatBytes(...(args as Uint8Array[]));
        return args.map((a) => str(a)).join('');
      },
    },
  ],
  ['pad', { arity: [2, 3], signature: "pad(text, n, '0'): left-pads text to n characters (default '0'); longer text is kept whole", describe: 'left-pads', check: padCheck('left'), evaluate: padEval('left') }],
  ['padRight', { arity: [2, 3], signature: "padRight(text, n, ' '): right-pads text to n characters (default '0')", describe: 'right-pads', check: padCheck('right'), evaluate: padEval('right') }],
  [
    'substr',
    {
      arity: [2, 3],
      signature: 'substr(text, start, length): characters from start (0-based), at most length of them',
      describe: 'part of a text',
      check(args, report) {
        const s = needText(args[0], 'substr', 1, report);
        const start = needInt(args[1], 'substr', 2, report, 0, 4096);
        const len = needInt(args[2], 'substr', 3, report, 0, 4096);
        if (!s || start === undefined || start === null || len === undefined) return undefined;
        const cap = len === null ? Infinity : len;
        const max = Math.min(cap, Math.max(0, s.max - start));
        const min = Math.min(cap, Math.max(0, s.min - start));
        if (s.max <= start) return report(args[1]!.node.at, `substr: start ${start} is past the end of a text of at most ${s.max} characters`);
        return textType(min, max, s.charset, s.charset === 'any' ? Math.min(s.gbkMax, 2 * max) : max);
      },
      evaluate(args) {
        const c = chars(str(args[0]));
        const start = int(args[1]);
        const end = args[2] === undefined ? c.length : start + int(args[2]);
        return c.slice(start, end).join('');
      },
    },
  ],
  [
    'left',
    {
      arity: [2, 2],
      signature: 'left(x, n): the first n characters of a text, or the first n bytes',
      describe: 'leftmost part',
      check: sliceCheck('left'),
      evaluate: sliceEval('left'),
    },
  ],
  [
    'right',
    {
      arity: [2, 2],
      signature: 'right(x, n): the last n characters of a text, or the last n bytes',
      describe: 'rightmost part',
      check: sliceCheck('right'),
      evaluate: sliceEval('right'),
    },
  ],
  [
    'upper',
    {
      arity: [1, 1],
      signature: 'upper(text): upper case',
      describe: 'upper case',
      check(args, report) {
        const s = needText(args[0], 'upper', 1, report);
        return s && textType(s.min, s.max, s.charset === 'digits' ? 'digits' : s.charset === 'any' ? 'any' : 'ascii', s.gbkMax);
      },
      evaluate: (args) => str(args[0]).toUpperCase(),
    },
  ],
  [
    'trim',
    {
      arity: [1, 1],
      signature: 'trim(text): without leading and trailing spaces',
      describe: 'trims spaces',
      check(args, report) {
        const s = needText(args[0], 'trim', 1, report);
        return s && textType(0, s.max, s.charset, s.gbkMax);
      },
      evaluate: (args) => str(args[0]).trim(),
    },
  ],
  [
    'cardNumberCheck',
    {
      arity: [1, 1],
      signature: 'cardNumberCheck(first8): the check character of a social security card number (LD/T 32)',
      describe: 'card number check character',
      check(args, report) {
        const s = needText(args[0], 'cardNumberCheck', 1, report);
        if (!s) return undefined;
        if (s.min > 8 || s.max < 8) return report(args[0]!.node.at, `cardNumberCheck needs 8 characters; its argument has ${range(s.min, s.max)}`);
        if (s.charset === 'any' || s.charset === 'ascii') return report(args[0]!.node.at, 'cardNumberCheck needs the characters 0-9 and A-Z only');
        return textType(1, 1, 'upper');
      },
      evaluate: atCall((args) => cardNumberCheck(str(args[0]))),
    },
  ],
  [
    'gb11643Check',
    {
      arity: [1, 1],
      signature: 'gb11643Check(first17): the check character of an 18-digit citizen ID number (GB 11643)',
      describe: 'citizen ID check character',
      check(args, report) {
        const s = needText(args[0], 'gb11643Check', 1, report);
        if (!s) return undefined;
        if (s.min > 17 || s.max < 17) return report(args[0]!.node.at, `gb11643Check needs 17 digits; its argument has ${range(s.min, s.max)} characters`);
        if (s.charset === 'any' || s.charset === 'ascii') return report(args[0]!.node.at, 'gb11643Check needs digits');
        return textType(1, 1, 'upper');
      },
      evaluate: atCall((args) => gb11643Check(str(args[0]))),
    },
  ],
  [
    'luhnCheck',
    {
      arity: [1, 1],
      signature: 'luhnCheck(digits): the Luhn check digit to append (ISO/IEC 7812)',
      describe: 'Luhn check digit',
      check(args, report) {
        const s = needText(args[0], 'luhnCheck', 1, report);
        if (!s) return undefined;
        if (s.charset !== 'digits') return report(args[0]!.node.at, 'luhnCheck needs digits');
        return textType(1, 1, 'digits');
      },
      evaluate: atCall((args) => luhnCheck(str(args[0]))),
    },
  ],
  [
    'serial',
    {
      arity: [1, 2],
      signature: "serial(width, 'counter'): this card's number from a batch counter, zero-padded to width digits",
      describe: 'a per-card serial number',
      check(args, report, checker) {
        const w = needInt(args[0], 'serial', 1, report, 1, 19);
        if (w === undefined || w === null) return undefined;
        let name = 'card';
        if (args[1]) {
          const n = args[1].type;
          if (n.t !== 'text' || n.constant === undefined) return report(args[1].node.at, "serial: the counter name must be written in quotes, e.g. serial(8, 'chip')");
          name = n.constant;
          if (!checker.scope.serial(name)) {
            return report(args[1].node.at, `serial counter '${clip(name)}' is not declared`, didYouMean(name, checker.scope.serialNames()) ?? 'declare it under serials: (the default counter card needs no declaration)');
          }
        }
        checker.note(checker.refs.serials, name);
        return textType(w, w, 'digits');
      },
      evaluate(args, env, node) {
        const w = int(args[0]);
        const name = args[1] === undefined ? 'card' : str(args[1]);
        const v = String(env.serial(name));
        if (v.length > w) throw new ExprEvalError(`serial counter '${clip(name)}' reached ${v}, which does not fit in ${w} digits`, node.at);
        return v.padStart(w, '0');
      },
    },
  ],
  [
    'addYears',
    {
      arity: [2, 2],
      signature: 'addYears(date, n): a YYYYMMDD date n years later (29 Feb → 28 Feb when needed)',
      describe: 'date arithmetic',
      check(args, report) {
        const d = needText(args[0], 'addYears', 1, report);
        const n = needInt(args[1], 'addYears', 2, report, -200, 200);
        if (!d || n === undefined || n === null) return undefined;
        if (d.charset !== 'digits' || d.max !== 8 || d.min !== 8) return report(args[0]!.node.at, 'addYears needs a date of 8 digits (YYYYMMDD), e.g. date.today');
        return textType(8, 8, 'digits');
      },
      evaluate: atCall((args) => addYears(str(args[0]), int(args[1]))),
    },
  ],
];

function padCheck(side: 'left' | 'right'): FnSpec['check'] {
  return (args, report) => {
    const s = needText(args[0], side === 'left' ? 'pad' : 'padRight', 1, report);
    const n = needInt(args[1], side === 'left' ? 'pad' : 'padRight', 2, report, 0, 255);
    if (!s || n === undefined || n === null) return undefined;
    let padCharset: Charset = 'digits';
    if (args[2]) {
      const ch = args[2].type;
      if (ch.t !== 'text' || ch.constant === undefined || chars(ch.constant).length !== 1) return report(args[2].node.at, 'the pad character must be one character in quotes');
      padCharset = charsetOf(ch.constant);
      if (padCharset === 'any') return report(args[2].node.at, 'the pad character must be ASCII');
    }
    const extra = Math.max(0, n - s.min);
    return textType(Math.max(n, s.min), Math.max(n, s.max), joinCharset(s.charset, padCharset), s.gbkMax + extra);
  };
}

function padEval(side: 'left' | 'right'): FnSpec['evaluate'] {
  return (args) => {
    const s = str(args[0]);
    const n = int(args[1]);
    const ch = args[2] === undefined ? '0' : str(args[2]);
    const len = chars(s).length;
    if (len >= n) return s;
    return side === 'left' ? ch.repeat(n - len) + s : s + ch.repeat(n - len);
  };
}

function sliceCheck(side: 'left' | 'right'): FnSpec['check'] {
  return (args, report) => {
    const n = needInt(args[1], side, 2, report, 0, 4096);
    if (n === undefined || n === null) return undefined;
    const t = args[0]!.type;
    if (t.t === 'bytes') return bytesType(Math.min(n, t.min), Math.min(n, t.max));
    const s = needText(args[0], side, 1, report);
    if (!s) return undefined;
    return textType(Math.min(n, s.min), Math.min(n, s.max), s.charset, s.charset === 'any' ? Math.min(s.gbkMax, 2 * n) : Math.min(n, s.max));
  };
}

function sliceEval(side: 'left' | 'right'): FnSpec['evaluate'] {
  return (args) => {
    const n = int(args[1]);
    const v = args[0];
    if (v instanceof Uint8Array) return side === 'left' ? v.slice(0, n) : v.slice(Math.max(0, v.length - n));
    const c = chars(str(v));
    return (side === 'left' ? c.slice(0, n) : c.slice(Math.max(0, c.length - n))).join('');
  };
}
