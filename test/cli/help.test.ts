// Every command a user can reach has --help with examples: walks the command tree from
// `cardsmith --help` down (in-process; test/cli/binary.test.ts checks --help of the built binary),
// and checks each leaf command's help has an Examples section.
import t from 'tap';
import { cli } from '../helpers/cli.js';

const help = (path: string[]) => cli([...path, '--help']);

/** The subcommand names listed in one help text's Commands section. */
function subcommands(text: string, path: string[]): string[] {
  const section = /Commands:\n([\s\S]*?)\n\n/.exec(text);
  if (!section) return [];
  const prefix = ['  cardsmith', ...path].join(' ') + ' ';
  return section[1]!
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length).split(/\s+/)[0]!)
    .filter((name) => name !== '' && !name.startsWith('<') && !name.startsWith('['));
}

t.test('every command has --help with examples, exit 0', async (t) => {
  const leaves: string[] = [];
  let level: string[][] = [[]];
  while (level.length > 0) {
    const results: { code: number; out: string }[] = [];
    for (const path of level) results.push(await help(path));
    const next: string[][] = [];
    level.forEach((path, i) => {
      const r = results[i]!;
      const name = `cardsmith ${path.join(' ')}`.trim();
      t.equal(r.code, 0, `${name} --help exits 0`);
      const subs = subcommands(r.out, path);
      if (subs.length === 0) {
        leaves.push(path.join(' '));
        t.match(r.out, /\nExamples:\n {2}\S/, `${name} --help shows examples`);
      }
      for (const s of subs) next.push([...path, s]);
    });
    level = next;
  }
  t.ok(leaves.length >= 45, `walked ${leaves.length} commands`);
  for (const known of ['prep', 'run', 'verify', 'demo', 'serials show', 'keys rotate', 'gp load', 'sim serve', 'crypto kcv']) {
    t.ok(leaves.includes(known), `${known} is reachable`);
  }
});
