// files/private.ts: modes are set outright (umask 000 here), files left by older versions with a
// wider mode are narrowed, and folders that existed before keep their mode.
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { privateDirSync, privateSqliteFileSync, writePrivateFileSync } from '../../files/private.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

t.test('privateDirSync, writePrivateFileSync, privateSqliteFileSync', async (t) => {
  const before = process.umask(0);
  t.teardown(() => void process.umask(before));
  const root = mkdtempSync(join(tmpdir(), 'private-'));
  chmodSync(root, 0o755);

  privateDirSync(join(root, 'a', 'b', 'c'));
  t.same([mode(join(root, 'a')), mode(join(root, 'a', 'b')), mode(join(root, 'a', 'b', 'c'))], [0o700, 0o700, 0o700], 'every folder made is 0700');
  t.equal(mode(root), 0o755, 'a parent that existed keeps its mode');
  mkdirSync(join(root, 'shared'), { mode: 0o1777 });
  privateDirSync(join(root, 'shared'));
  t.equal(statSync(join(root, 'shared')).mode & 0o7777, 0o1777, 'a folder that existed is left alone (--out /tmp must not change /tmp)');

  const f = join(root, 'report.html');
  writeFileSync(f, 'old', { mode: 0o644 });
  writePrivateFileSync(f, 'new');
  t.equal(mode(f), 0o600, 'an existing 0644 file becomes 0600');
  t.throws(() => writePrivateFileSync(f, 'x', 'wx'), { code: 'EEXIST' }, 'wx refuses an existing file');

  const db = join(root, 'journal.sqlite');
  privateSqliteFileSync(db);
  t.equal(mode(db), 0o600, 'created empty, 0600');
  t.equal(statSync(db).size, 0);
  chmodSync(db, 0o644);
  writeFileSync(`${db}-wal`, '', { mode: 0o666 });
  privateSqliteFileSync(db);
  t.same([mode(db), mode(`${db}-wal`)], [0o600, 0o600], 'an older journal and its -wal are narrowed');
});
