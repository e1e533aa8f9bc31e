// The broken-batch corpus: every file named by broken/manifest.json is refused with the expected
// reject at the expected file:line[:column], field and code; none of them passes with skipInvalid
// turned off, and checking never throws. Run from test/batch/ so that places read as a user's.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { checkBatch, formatReject } from '../../personalization/batch/index.js';
import { loadProfile, type Profile } from '../../profiles/index.js';

process.chdir(fileURLToPath(new URL('.', import.meta.url)));

interface Case {
  file: string;
  profile: string;
  at: string;
  code: string;
  field?: string;
  fatal?: boolean;
}

const manifest = JSON.parse(readFileSync('broken/manifest.json', 'utf8')) as { cases: Case[] };
const profiles = new Map<string, Profile>();
const profileOf = (name: string): Profile => {
  let p = profiles.get(name);
  if (!p) profiles.set(name, (p = loadProfile(name)));
  return p;
};

t.test('the corpus has at least 30 cases and names every broken batch', async (t) => {
  t.ok(manifest.cases.length >= 30, `${manifest.cases.length} cases`);
  const named = new Set(manifest.cases.map((c) => c.file));
  for (const f of readdirSync('broken').filter((f) => /\.(csv|jsonl)$/.test(f))) t.ok(named.has(f), `${f} is in the manifest`);
});

for (const c of manifest.cases) {
  t.test(c.file, async (t) => {
    const file = `broken/${c.file}`;
    const r = await checkBatch(profileOf(c.profile), file, { today: '20240115' });
    t.notOk(r.ok, 'refused');
    t.equal(r.fatal !== undefined, c.fatal === true, c.fatal ? 'cannot be read on' : 'read to the end');
    const at = (x: { line: number; column?: number | undefined }) => `${file}:${x.line}${x.column !== undefined ? `:${x.column}` : ''}`;
    const hit = r.rejects.find((x) => at(x) === c.at && x.code === c.code && (c.field === undefined || x.field === c.field));
    t.ok(hit, `${c.at} ${c.field ?? ''} ${c.code}`, { rejects: r.rejects.map((x) => formatReject(file, x)) });
    for (const x of r.rejects) t.match(formatReject(file, x), /^broken\/[^:]+:\d+(:\d+)?: \S/, 'file:line[:column]: …');
  });
}
