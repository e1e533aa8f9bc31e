// Limits on hostile YAML, checked before a document is composed or expanded. The `yaml` package
// composes nested collections by recursion (thousands of levels end in "Maximum call stack size
// exceeded"), and an alias stands for its whole anchored node, so nested aliases multiply:
// 300 bytes of `b: &b [*a, *a, …]` lines can stand for billions of nodes.
import { Parser, type CST } from 'yaml';

/** Lists and mappings nest at most this deep (real profiles and stations files use under 15). */
export const MAX_YAML_DEPTH = 64;

/** At most this many nodes after aliases are expanded (a large profile has a few thousand). */
export const MAX_YAML_NODES = 100_000;

/** At most this many alias uses are expanded in one file. */
export const MAX_YAML_ALIASES = 1_000;

/**
 * Where (1-based line and column) the first list or mapping nested more than `max` levels deep
 * starts, or undefined. Walks the parser's token tree with an explicit stack (the parser itself
 * does not recurse).
 */
export function tooDeepAt(text: string, max = MAX_YAML_DEPTH): { line: number; col: number } | undefined {
  const stack: { token: CST.Token; depth: number }[] = [];
  for (const doc of new Parser().parse(text)) stack.push({ token: doc, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type === 'document') {
      if (token.value) stack.push({ token: token.value, depth });
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > max) {
      const before = text.slice(0, token.offset);
      return { line: before.split('\n').length, col: token.offset - before.lastIndexOf('\n') };
    }
    for (const item of token.items) {
      if ('key' in item && item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

export const TOO_DEEP_MESSAGE = `YAML: lists and mappings nested more than ${MAX_YAML_DEPTH} levels deep`;
