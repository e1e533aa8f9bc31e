// Files that hold personal data (faces, journals, reports, registries, card scripts, kept cards)
// are 0600 in 0700 folders. Modes are set explicitly with chmod, not left to the umask: a
// permissive umask (000) or a file left by an older version would otherwise leave them readable.
// Imports nothing of the project, so every layer can use it.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `dir` and any missing parent with mode 0700. Folders that existed are left as they are
 * (`--out /tmp` must not change /tmp); the files written into them are 0600 whatever the folder.
 */
export function privateDirSync(dir: string): void {
  const full = resolve(dir);
  const first = mkdirSync(full, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode goes through the umask: set it outright on every folder made here.
  for (let d = full; ; d = dirname(d)) {
    chmodSync(d, PRIVATE_DIR_MODE);
    if (d === first || dirname(d) === d) break;
  }
}

/** Writes `data` to `path` (created or truncated; `wx` to refuse an existing file) with mode 0600. */
export function writePrivateFileSync(path: string, data: string | Uint8Array, flag: 'w' | 'wx' = 'w'): void {
  const fd = openSync(path, flag, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE); // also a file that existed with a wider mode
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path` whole or not at all: a temporary 0600 file beside it, fsync, rename
 * over `path` (atomic on POSIX file systems), then an fsync of the folder so that the rename
 * survives a crash too. A reader sees the old file or the whole new one.
 */
export function writePrivateFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = atomicTempPath(path);
  try {
    const fd = openSync(tmp, 'wx', PRIVATE_FILE_MODE);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * writePrivateFileAtomicSync with the writes and fsyncs in libuv's thread pool: the calling thread
 * goes on with other work (other stations) while the disk catches up. Same order, same result.
 */
export async function writePrivateFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = atomicTempPath(path);
  try {
    const fh = await open(tmp, 'wx', PRIVATE_FILE_MODE);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** A new temporary 0600 file's name beside `path`, for an atomic write. */
function atomicTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Before SQLite opens a database file: creates it empty with mode 0600 when missing, else sets
 * it (and any -wal, -shm or -journal beside it) to 0600. SQLite gives the -wal, -shm and -journal
 * files it creates the mode of the database file.
 */
export function privateSqliteFileSync(path: string): void {
  try {
    writePrivateFileSync(path, '', 'wx');
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(f, PRIVATE_FILE_MODE);
    } catch (e) {
      // Not there (no -wal yet), or another user's file: only its owner can narrow it.
      if (!['ENOENT', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
}
