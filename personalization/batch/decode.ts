// Reading a batch file as UTF-8 text, chunk by chunk (constant memory). A byte sequence that is
// not UTF-8 stops the batch with its byte offset and line, instead of turning into U+FFFD and a
// wrong name on a card. A leading byte order mark is dropped (spreadsheet exports write one).
import { createReadStream } from 'node:fs';
import { BatchError } from './errors.js';

/** UTF-8 chunks of `path`; throws BatchError (as the iterator's error) for invalid UTF-8. */
export async function* readUtf8(path: string, display: string, signal?: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let offset = 0;
  let lines = 1;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024, ...(signal ? { signal } : {}) });
  const chunks = (async function* () {
    try {
      yield* stream as AsyncIterable<Buffer>;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === undefined || code === 'ABORT_ERR') throw e;
      throw new BatchError(display, { line: 1, code: 'unreadable', problem: `cannot read the batch (${code === 'ENOENT' ? 'no such file' : code})` });
    }
  })();
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const bad = firstInvalid(chunk);
      const at = offset + bad;
      for (let i = 0; i < bad; i++) if (chunk[i] === 0x0a) lines++;
      throw new BatchError(display, { line: lines, code: 'encoding', problem: `the bytes at offset ${at} are not UTF-8`, hint: 'save the batch as UTF-8 (spreadsheets: "CSV UTF-8")' });
    }
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) lines++;
    offset += chunk.length;
    if (text.length > 0) yield text;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw new BatchError(display, { line: lines, code: 'encoding', problem: `the file ends inside a UTF-8 character (offset ${offset})`, hint: 'save the batch as UTF-8' });
  }
  if (tail.length > 0) yield tail;
}

/** Index of the first byte that starts an invalid UTF-8 sequence (a sequence cut at the chunk end counts as valid). */
function firstInvalid(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      if (i + k >= b.length) return b.length; // cut by the chunk end: the decoder waits for the rest
      const cc = b[i + k]!;
      if (cc < 0x80 || cc > 0xbf) return i;
    }
    // Overlongs and surrogates (E0 80–9F, ED A0–BF, F0 80–8F, F4 90+).
    const c1 = b[i + 1];
    if (c1 !== undefined && ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f))) return i;
    i += n;
  }
  return b.length;
}
