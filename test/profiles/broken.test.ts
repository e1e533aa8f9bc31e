// The broken-profile corpus: every file in broken/ named by broken/manifest.json must fail
// validation with the expected diagnostic at the expected file:line:column, and validation must
// never throw. Run from test/profiles/ so that locations read as they do for a user there.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { formatDiagnostic, formatLoc, validateProfile } from '../../profiles/index.js';

process.chdir(fileURLToPath(new URL('.', import.meta.url)));

interface Case {
  file: string;
  at: string;
  code: string;
  message?: string;
}

const manifest = JSON.parse(readFileSync('broken/manifest.json', 'utf8')) as { cases: Case[] };

t.test('the corpus has at least 30 cases and every broken file is in it', async (t) => {
  t.ok(manifest.cases.length >= 30, `${manifest.cases.length} cases`);
  const named = new Set(manifest.cases.map((c) => c.file));
  // cycle-b.yaml is the other half of cycle-a.yaml's cycle.
  for (const f of readdirSync('broken').filter((f) => f.endsWith('.yaml') && f !== 'cycle-b.yaml')) t.ok(named.has(f), `${f} is in the manifest`);
});

for (const c of manifest.cases) {
  t.test(c.file, async (t) => {
    const r = validateProfile(`broken/${c.file}`);
    t.notOk(r.ok, 'invalid');
    t.notOk(r.profile, 'no profile');
    const hit = r.diagnostics.find((d) => d.severity === 'error' && d.code === c.code && formatLoc(d.loc) === c.at && (!c.message || d.message.includes(c.message)));
    t.ok(hit, `${c.at} ${c.code}: ${c.message ?? ''}`, { diagnostics: r.diagnostics.map(formatDiagnostic) });
    for (const d of r.diagnostics) t.match(formatDiagnostic(d), /^[^:]+:\d+:\d+: (error|warning): \S/, 'file:line:column: severity: message');
  });
}
