// The project's import graph, read from the sources: every static `import … from`, `export … from`,
// side-effect `import '…'` and dynamic `import('…')` with a relative path (TypeScript's own
// pre-processor finds them, so comments and strings do not count), and a checker of folder rules.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One import: both ends as paths relative to the root, with `/`, the target's `.js` read as `.ts`. */
export interface ImportEdge {
  from: string;
  to: string;
}

/**
 * Which folders (or single files, `crypto/diversify.ts`) each top-level folder may import,
 * besides itself; `'*'` allows everything.
 */
export type FolderRules = Record<string, readonly string[]>;

const posix = (p: string) => p.split(sep).join('/');

function tsFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The imports with relative paths of every .ts file under root/<folder> for the given folders. */
export function importGraph(root: string, folders: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const folder of folders) {
    for (const file of tsFiles(join(root, folder))) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue; // a package or node: builtin
        const to = posix(relative(root, resolve(dirname(file), fileName))).replace(/\.js$/, '.ts');
        edges.push({ from: posix(relative(root, file)), to });
      }
    }
  }
  return edges;
}

const folderOf = (path: string) => path.split('/')[0]!;

/**
 * Each import the rules forbid, as `file → imported file (rule)`, in graph order. `everywhere`:
 * folders any folder may use (the error base).
 */
export function checkRules(edges: readonly ImportEdge[], rules: FolderRules, everywhere: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b || (everywhere.includes(b) && rules[b] !== undefined)) continue;
    const allowed = rules[a];
    if (allowed === undefined) {
      problems.push(`${from} → ${to} (${a}/ has no rule)`);
      continue;
    }
    if (allowed.includes('*') || allowed.includes(b) || allowed.includes(to)) continue;
    const rule = `${a}/ may use ${allowed.length ? allowed.join(', ') : 'nothing of the project'}`;
    problems.push(`${from} → ${to} (${rules[b] === undefined ? `outside the shipped folders; ${rule}` : rule})`);
  }
  return problems;
}
