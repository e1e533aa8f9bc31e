// Crash-safe JSON files for card images: write to a temporary file in the same directory, fsync
// it, rename it over the target (atomic on POSIX file systems), then fsync the directory so the
// rename itself survives a crash. A reader therefore sees the old file or the new one, whole.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CardImageError } from '../errors.js';

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function ioError(action: string, path: string, e: unknown): CardImageError {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : 'error';
  return new CardImageError(`card image: cannot ${action} ${path} (${code}); check the path and its permissions`, path, 'operation');
}

function parse(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CardImageError(`card image ${path}: not valid JSON (${e instanceof Error ? e.message : 'parse error'}); restore it from a backup or start a fresh card`, path);
  }
}

/** Mode 0600: an image holds the card's keys. Synchronous, so exit handlers can use it. */
export function writeJsonAtomicSync(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The same for any content (a kept card's face PNG beside its image). */
function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  const tmp = tempPath(path);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw ioError('write', path, e);
  }
}

export function readJsonSync(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError('read', path, e);
  }
  return parse(text, path);
}
