// The Evolis escape-command protocol (Evolis Card Printers Programming Guide
// A5013 rev. E, "Communication Protocol"): every command is
//
//     ESC command [';' parameter]… CR
//
// ASCII, parameters separated by ';'. The bitmap download `Db;<panel>;<levels>;<data>` carries
// binary data of a fixed size (648 × 1016 dots × bits per dot / 8) before its CR. The printer
// answers "OK" or an error text; read commands (R…, Sk) answer with data. This module encodes and
// parses both directions; the driver (evolis.ts) and the simulated printer's TCP server
// (sim-printer/machine.ts) share it, so they cannot drift apart.
//
// Answers seen in public integrations of Evolis printers (error management Pem;2, the host
// handles errors): OK, ERROR, ERROR CDE (unknown command), ERROR PARAMETRES, NEED CLEANING,
// ERROR TIME OUT, ERROR HOPPER, HOPPER FULL, HOPPER DOOR, ERROR HEAD, COVER OPEN, FEEDER EMPTY,
// CARD JAM, ERROR RIBBON, OPT NOT AVAILABLE, ERROR MAG… — docs/runner.md lists the sources.
import { PrinterError, type PrinterErrorCode } from './errors.js';

export const ESC = 0x1b;
export const CR = 0x0d;
const LF = 0x0a;

export interface EvolisFrame {
  command: string;
  params: string[];
  /** Binary payload of a download command (Db). */
  data?: Uint8Array;
}

/** Bytes of a `Db` download for a panel at `levels` (2 = 1 bit per dot, 32/64/128 = 5/6/7 bits). */
export function downloadSize(levels: string): number | undefined {
  const bits = { '2': 1, '32': 5, '64': 6, '128': 7 }[levels];
  return bits === undefined ? undefined : (648 * 1016 * bits) / 8;
}

export function encodeCommand(command: string, params: readonly string[] = [], data?: Uint8Array): Uint8Array {
  if (!/^[A-Za-z]{1,8}$/.test(command)) throw new RangeError(`evolis: command must be 1..8 letters, got ${JSON.stringify(command)}`);
  for (const p of params) {
    if (typeof p !== 'string' || /[;\r\n\x1b]/.test(p) || !/^[\x20-\x7e]*$/.test(p)) throw new RangeError(`evolis: ${command}: parameter ${JSON.stringify(p)} must be printable ASCII without ';'`);
  }
  const head = new TextEncoder().encode(`${command}${params.map((p) => `;${p}`).join('')}${data ? ';' : ''}`);
  const out = new Uint8Array(2 + head.length + (data?.length ?? 0));
  out[0] = ESC;
  out.set(head, 1);
  if (data) out.set(data, 1 + head.length);
  out[out.length - 1] = CR;
  return out;
}

/**
 * Splits a byte stream into frames. NUL padding and bytes outside a frame are skipped (counted in
 * `skipped`); a `Db` frame's binary data is taken by length, so CR bytes inside it are data.
 */
export class FrameParser {
  skipped = 0;
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array): EvolisFrame[] {
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    let buf = merged;
    const frames: EvolisFrame[] = [];
    for (;;) {
      const start = buf.indexOf(ESC);
      if (start < 0) {
        this.skipped += buf.filter((b) => b !== 0).length;
        buf = new Uint8Array(0);
        break;
      }
      if (start > 0) {
        this.skipped += buf.subarray(0, start).filter((b) => b !== 0).length;
        buf = buf.subarray(start);
      }
      const frame = this.#one(buf);
      if (!frame) break;
      frames.push(frame.frame);
      buf = buf.subarray(frame.used);
    }
    this.#buf = new Uint8Array(buf);
    return frames;
  }

  #one(buf: Uint8Array): { frame: EvolisFrame; used: number } | undefined {
    // Db;<panel>;<levels>;<data>CR: data of known size.
    if (buf.length >= 4 && buf[1] === 0x44 && buf[2] === 0x62 && buf[3] === 0x3b) {
      let semis = 0;
      let i = 1;
      for (; i < buf.length && semis < 3; i++) if (buf[i] === 0x3b) semis++;
      if (semis < 3) return undefined;
      const header = new TextDecoder().decode(buf.subarray(1, i - 1)).split(';');
      const size = downloadSize(header[2] ?? '');
      if (size !== undefined) {
        if (buf.length < i + size + 1) return undefined;
        return { frame: { command: 'Db', params: header.slice(1), data: buf.slice(i, i + size) }, used: i + size + 1 };
      }
    }
    const end = buf.indexOf(CR);
    if (end < 0) return undefined;
    const text = new TextDecoder('latin1').decode(buf.subarray(1, end));
    const [command = '', ...params] = text.split(';');
    return { frame: { command, params }, used: end + 1 };
  }
}

const ERRORS: [RegExp, PrinterErrorCode, boolean, string][] = [
  [/^FEEDER EMPTY/, 'feeder-empty', true, 'the feeder is empty: load blank cards'],
  [/^CARD JAM/, 'jam', true, 'a card is jammed: open the printer, remove it, then reset the station'],
  [/^COVER OPEN/, 'cover-open', true, 'the cover is open: close it'],
  [/^ERROR RIBBON/, 'ribbon', true, 'no ribbon or a wrong one: check the ribbon'],
  [/^(ERROR HOPPER|HOPPER FULL|HOPPER DOOR)/, 'hopper', true, 'the output hopper is full or open: empty or close it'],
  [/^ERROR HEAD/, 'head', true, 'print head error: call service'],
  [/^NEED CLEANING/, 'cleaning', true, 'the printer asks for cleaning: run a cleaning card'],
  [/^ERROR TIME ?OUT/, 'printer-timeout', true, 'the printer timed out on the command'],
  [/^ERROR CDE/, 'bad-command', true, 'the printer does not know this command (firmware or model mismatch)'],
  [/^ERROR PARAM/, 'bad-parameter', true, 'the printer refused a parameter of the command'],
  [/^OPT NOT AVAILABLE/, 'option-missing', true, 'the printer lacks the option (contact/contactless encoder?)'],
  [/^ERROR MAG/, 'error', false, 'magnetic stripe error on this card'],
];

/** Classifies an answer that is not OK. */
export function replyError(command: string, reply: string, printer: string): PrinterError {
  const text = reply.trim();
  for (const [re, code, stationFault, hint] of ERRORS) {
    if (re.test(text)) return new PrinterError(`${printer}: ${command} answered "${text}": ${hint}`, code, text, stationFault);
  }
  return new PrinterError(`${printer}: ${command} answered "${text}" instead of OK; check the printer's display`, 'error', text, true);
}

/** True when the answer text is a complete reply (ends in CR or LF). */
export function splitReply(bytes: Uint8Array): { reply: string; rest: Uint8Array } | undefined {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === CR || bytes[i] === LF) {
      let j = i + 1;
      while (j < bytes.length && (bytes[j] === CR || bytes[j] === LF)) j++;
      return { reply: new TextDecoder('latin1').decode(bytes.subarray(0, i)), rest: bytes.slice(j) };
    }
  }
  return undefined;
}
