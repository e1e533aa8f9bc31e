// Validation never throws, whatever the text: the built-in profiles mutated at random (a seeded
// generator, so failures replay) — lines deleted, duplicated, swapped, characters changed — must
// always come back as diagnostics with a place, never as an exception.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { formatDiagnostic, validateProfile } from '../../profiles/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const CHARS = ['', ' ', ':', '-', '"', "'", '{', '}', '[', ']', ',', '$', '${', '}', '0', 'F', 'x', '\t', '#', '!', '&', '*', '张'];

function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const op = Math.floor(r() * 5);
    if (op === 0) lines.splice(i, 1);
    else if (op === 1) lines.splice(i, 0, lines[i] ?? '');
    else if (op === 2) {
      const j = Math.floor(r() * lines.length);
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
    } else {
      const line = lines[i] ?? '';
      const at = Math.floor(r() * (line.length + 1));
      const c = CHARS[Math.floor(r() * CHARS.length)]!;
      lines[i] = op === 3 ? line.slice(0, at) + c + line.slice(at + 1) : line.slice(0, at) + c + line.slice(at);
    }
  }
  return lines.join('\n');
}

for (const name of ['sscard-gen3', 'gp-cps']) {
  t.test(`${name}: 400 mutations, no exception`, async (t) => {
    const path = fileURLToPath(new URL(`../../profiles/${name}.yaml`, import.meta.url));
    const text = readFileSync(path, 'utf8');
    const r = rng(name.length * 7919);
    let invalid = 0;
    for (let i = 0; i < 400; i++) {
      const m = mutate(text, r);
      let result;
      try {
        result = validateProfile(path, { text: m, display: `${name}#${i}` });
      } catch (e) {
        t.fail(`mutation ${i} threw: ${(e as Error).stack}`, { text: m });
        continue;
      }
      if (!result.ok) {
        invalid++;
        for (const d of result.diagnostics) {
          if (!/^[^:]+:\d+:\d+: (error|warning): ./.test(formatDiagnostic(d))) t.fail(`mutation ${i}: ${formatDiagnostic(d)}`);
        }
      }
    }
    t.ok(invalid > 100, `${invalid} of 400 mutations were invalid, each reported with a place`);
  });
}
