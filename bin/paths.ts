// Files that ship with cardsmith (package.json, test-vectors/, profiles/) sit at the install root,
// which is one level above bin/ when run from source and two when run from dist/bin/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function installRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test-vectors'))) return (root = dir);
  }
  throw new Error('cardsmith: cannot find its install folder (package.json next to test-vectors/)');
}

export function installPath(...parts: string[]): string {
  return join(installRoot(), ...parts);
}
