// Parsing a value string: literal text with ${…} interpolations, each holding one literal, name
// or function call. Syntax errors carry the offset so validation can point at the exact column.
import { clip } from '../../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';
import { didYouMean } from '../suggest.js';
import { FUNCTIONS } from './functions.js';
import { REF_NAMESPACES, type ExprNode, type RefNamespace } from './types.js';

export class ExprSyntaxError extends CardsmithError {
  override readonly name = 'ExprSyntaxError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Parses a value string: literal text with ${…} interpolations. Throws ExprSyntaxError with the offset. */
export function parseTemplate(source: string): { node: ExprNode; literal: boolean } {
  const parts: ExprNode[] = [];
  let text = '';
  let textAt = 0;
  let i = 0;
  let sawExpr = false;
  while (i < source.length) {
    if (source.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (source.startsWith('${', i)) {
      if (text) parts.push({ k: 'text', value: text, at: textAt });
      text = '';
      const p = new Parser(source, i + 2);
      p.skipSpace();
      if (p.peek() === '}') throw new ExprSyntaxError('empty ${}', i, 'write an expression between ${ and }, e.g. ${record.name}');
      const expr = p.expr();
      p.skipSpace();
      if (p.peek() !== '}') {
        if (p.pos >= source.length) throw new ExprSyntaxError("'${' is not closed by '}'", i);
        throw new ExprSyntaxError(`unexpected '${source[p.pos]}' in the expression`, p.pos, 'an expression is one name, literal or function call; join values with concat(a, b)');
      }
      parts.push(expr);
      sawExpr = true;
      i = p.pos + 1;
      textAt = i;
      continue;
    }
    text += source[i];
    i++;
  }
  if (text || parts.length === 0) parts.push({ k: 'text', value: text, at: textAt });
  if (parts.length === 1) return { node: parts[0]!, literal: !sawExpr };
  return { node: { k: 'template', parts, at: 0 }, literal: false };
}

class Parser {
  constructor(
    readonly src: string,
    public pos: number,
  ) {}

  peek(): string | undefined {
    return this.src[this.pos];
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  expr(): ExprNode {
    this.skipSpace();
    const at = this.pos;
    const c = this.peek();
    if (c === undefined) throw new ExprSyntaxError('the expression ends too early', at);
    if (c === "'" || c === '"') return this.string(c);
    if (/[0-9-]/.test(c)) return this.number();
    if (/[A-Za-z_]/.test(c)) return this.nameOrCall();
    throw new ExprSyntaxError(`unexpected '${c}' in the expression`, at, "strings are quoted ('…'), names look like record.name, functions like pad(x, 8)");
  }

  string(quote: string): ExprNode {
    const at = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '\\') {
        const n = this.src[this.pos + 1];
        if (n === undefined) break;
        out += n;
        this.pos += 2;
        continue;
      }
      if (c === quote) {
        this.pos++;
        return { k: 'text', value: out, at };
      }
      out += c;
      this.pos++;
    }
    throw new ExprSyntaxError(`the string starting here is not closed by ${quote}`, at);
  }

  number(): ExprNode {
    const at = this.pos;
    const m = /^-?[0-9]+/.exec(this.src.slice(this.pos));
    if (!m) throw new ExprSyntaxError(`unexpected '${this.peek()}' in the expression`, at);
    this.pos += m[0].length;
    if (/[A-Za-z_]/.test(this.peek() ?? '')) {
      throw new ExprSyntaxError('a number runs into letters', at, "quote text that starts with a digit: '0D'");
    }
    const value = Number(m[0]);
    if (!Number.isSafeInteger(value)) throw new ExprSyntaxError('the number is too large', at);
    return { k: 'int', value, at };
  }

  ident(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.src.slice(this.pos));
    if (!m) throw new ExprSyntaxError('a name is missing here', this.pos);
    this.pos += m[0].length;
    return m[0];
  }

  nameOrCall(): ExprNode {
    const at = this.pos;
    const first = this.ident();
    this.skipSpace();
    if (this.peek() === '(') {
      this.pos++;
      const args: ExprNode[] = [];
      this.skipSpace();
      if (this.peek() === ')') {
        this.pos++;
        return { k: 'call', fn: first, args, at };
      }
      for (;;) {
        args.push(this.expr());
        this.skipSpace();
        const c = this.peek();
        if (c === ',') {
          this.pos++;
          continue;
        }
        if (c === ')') {
          this.pos++;
          return { k: 'call', fn: first, args, at };
        }
        if (c === undefined || c === '}') throw new ExprSyntaxError(`${first}( is not closed by ')'`, at);
        throw new ExprSyntaxError(`expected ',' or ')' in the arguments of ${first}, found '${c}'`, this.pos);
      }
    }
    if (this.peek() !== '.') {
      const hint = FUNCTIONS.has(first) ? `${first} is a function: ${FUNCTIONS.get(first)!.signature}` : `names are ${REF_NAMESPACES.map((n) => `${n}.…`).join(', ')}`;
      throw new ExprSyntaxError(`'${clip(first)}' is not a name this language knows`, at, hint);
    }
    this.pos++;
    if (!(REF_NAMESPACES as readonly string[]).includes(first)) {
      const dym = didYouMean(first, REF_NAMESPACES);
      throw new ExprSyntaxError(`unknown namespace '${clip(first)}'`, at, dym ?? `names are ${REF_NAMESPACES.map((n) => `${n}.…`).join(', ')}`);
    }
    const name = this.ident();
    if (this.peek() === '.') throw new ExprSyntaxError(`${first}.${name} has no parts (one dot only)`, this.pos);
    return { k: 'ref', ns: first as RefNamespace, name, at };
  }
}
