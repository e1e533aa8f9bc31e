// APDU scripts (`cardsmith apdu --script FILE`): one command APDU per line, with an optional
// expected status word, and a runner that sends them over any Transport. The format is
// cardsmith's own (docs/readers.md):
//
//   # a comment line; blank lines are ignored
//   00 A4 04 00 07 A0000000031010 00      # hex, spaces (or colons) anywhere; a trailing comment
//   00A4040007A0000000031010 [9000]       # expected SW in brackets ...
//   00B2010C00 =9000                      # ... or after '='
//   0020000108 2412345FFFFFFFFF [9000|63CX]   # alternatives with | , or spaces; X = any hex digit
//   !00A404                               # '!' sends bytes that are not a well-formed APDU as they are
//
// The expectation is checked against the final status word, after the transport resolved 61xx
// and 6Cxx. Any line that cannot be read stops the whole script before anything is sent.
import { fromHex, HexError } from '../bytes/index.js';
import { Iso7816Error, parseCommand, parseResponse } from '../iso7816/index.js';
import type { Transport } from './transport.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** A script (or argument) that cannot be read: file:line:column and what is wrong (CLI exit 2). */
export class ScriptError extends CardsmithError {
  override name = 'ScriptError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${file}:${line}:${column}: ${message}`);
  }
}

export interface SwPattern {
  /** As written, upper case: `9000`, `63CX`. */
  text: string;
  value: number;
  /** Bits that must match (0 where the pattern has X). */
  mask: number;
}

export interface ScriptStep {
  /** 1-based line number (for arguments: the argument's position). */
  line: number;
  command: Uint8Array;
  /** Sent as is even though it is not a well-formed APDU (`!` prefix). */
  raw: boolean;
  /** Accepted status words; undefined = any. */
  expect?: SwPattern[];
}

/** Parses a whole script; throws ScriptError at the first line it cannot read. */
export function parseApduScript(text: string, file = 'script'): ScriptStep[] {
  const steps: ScriptStep[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const step = parseApduLine(lines[i]!, file, i + 1);
    if (step) steps.push(step);
  }
  return steps;
}

/** One line: undefined for blank and comment lines. */
export function parseApduLine(line: string, file: string, lineNo: number): ScriptStep | undefined {
  const hash = line.indexOf('#');
  const body = hash >= 0 ? line.slice(0, hash) : line;
  if (body.trim() === '') return undefined;
  const fail = (message: string, col: number): never => {
    throw new ScriptError(message, file, lineNo, col + 1);
  };

  let commandText = body;
  let commandStart = 0;
  let expect: SwPattern[] | undefined;
  const bracket = body.indexOf('[');
  const equals = body.indexOf('=');
  if (bracket >= 0 && (equals < 0 || bracket < equals)) {
    const close = body.indexOf(']', bracket);
    if (close < 0) fail("'[' without a closing ']' (expected status word like [9000])", bracket);
    if (body.slice(close + 1).trim() !== '') fail(`unexpected text after ']': "${body.slice(close + 1).trim()}"`, close + 1);
    expect = parsePatterns(body.slice(bracket + 1, close), bracket + 1, fail);
    commandText = body.slice(0, bracket);
  } else if (equals >= 0) {
    expect = parsePatterns(body.slice(equals + 1), equals + 1, fail);
    commandText = body.slice(0, equals);
  }

  let raw = false;
  if (commandText.trimStart().startsWith('!')) {
    raw = true;
    commandStart = commandText.indexOf('!') + 1;
    commandText = commandText.slice(commandStart);
  }
  const hexText = commandText.trim();
  // Column (0-based) where the hex starts, for messages.
  const hexStart = commandStart + (commandText.length - commandText.trimStart().length);
  if (hexText === '') fail(raw ? 'no bytes after !' : 'no command APDU before the expected status word', hexStart);
  let command: Uint8Array;
  try {
    command = fromHex(hexText, 'APDU');
  } catch (e) {
    if (!(e instanceof HexError)) throw e;
    return fail(e.message.replace(/ at offset \d+/, ''), hexStart + Math.min(e.offset, hexText.length));
  }
  if (!raw) {
    try {
      parseCommand(command);
    } catch (e) {
      if (!(e instanceof Iso7816Error)) throw e;
      fail(`not a well-formed command APDU: ${e.message.replace(/^apdu: /, '')} (start the line with '!' to send it anyway)`, hexStart);
    }
  }
  const step: ScriptStep = { line: lineNo, command, raw };
  if (expect) step.expect = expect;
  return step;
}

function parsePatterns(text: string, offset: number, fail: (m: string, col: number) => never): SwPattern[] {
  const out: SwPattern[] = [];
  const re = /[^\s|,]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const tok = m[0];
    const col = offset + m.index;
    if (!/^[0-9A-Fa-fXx?]{4}$/.test(tok)) fail(`expected status word "${tok}" is not 4 hex digits (X for any digit), e.g. 9000 or 63CX`, col);
    let value = 0;
    let mask = 0;
    for (const ch of tok.toUpperCase()) {
      value <<= 4;
      mask <<= 4;
      if (ch !== 'X' && ch !== '?') {
        value |= Number.parseInt(ch, 16);
        mask |= 0xf;
      }
    }
    out.push({ text: tok.toUpperCase().replace(/\?/g, 'X'), value, mask });
  }
  if (out.length === 0) fail('empty expected status word; write e.g. [9000]', offset);
  return out;
}

export function swMatches(sw: number, patterns: readonly SwPattern[]): boolean {
  return patterns.some((p) => (sw & p.mask) === (p.value & p.mask));
}

export interface StepResult {
  step: ScriptStep;
  response: Uint8Array;
  sw: number;
  /** false when the step had an expectation the status word did not meet. */
  ok: boolean;
  ms: number;
}

/**
 * Sends the steps in order; stops after the first status word that misses its expectation.
 * `onResult` sees every exchange as it happens (the CLI prints it at once).
 */
export async function runApduScript(
  transport: Transport,
  steps: readonly ScriptStep[],
  onResult?: (r: StepResult) => void,
): Promise<{ results: StepResult[]; failed?: StepResult }> {
  const results: StepResult[] = [];
  for (const step of steps) {
    const t0 = process.hrtime.bigint();
    const response = await transport.transmit(step.command);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const { sw } = parseResponse(response);
    const ok = step.expect === undefined || swMatches(sw, step.expect);
    const r: StepResult = { step, response, sw, ok, ms };
    results.push(r);
    onResult?.(r);
    if (!ok) return { results, failed: r };
  }
  return { results };
}
