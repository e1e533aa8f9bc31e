// `cardsmith prep --serials FILE` + `cardsmith serials show`: card numbers continue across batches
// of one product (no repeats), an invalid batch consumes none, and the registry shows every range.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createDemoKeyStore } from '../../personalization/demo.js';
import { cli } from '../helpers/cli.js';
import { BLANK_CARD_KEYS } from '../helpers/sim-host.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const PASS = 'serials test passphrase';

/** The card numbers printed on the faces of a batch's cards (the face text carries value.cardNumber). */
function cardNumbers(out: string): string[] {
  return readFileSync(join(out, 'cards.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => {
      const face = (JSON.parse(line) as { face: { fields: { kind: string; value: string }[] } }).face;
      const text = face.fields.find((f) => f.kind === 'text' && f.value.startsWith('社会保障卡号 '))!;
      return text.value.slice('社会保障卡号 '.length);
    });
}

t.test('two batches of one product get consecutive card numbers; an invalid batch takes none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'serials-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'photos'));
  for (const f of readdirSync(join(EXAMPLES, 'photos'))) copyFileSync(join(EXAMPLES, 'photos', f), join(dir, 'photos', f));
  const [header, ...rows] = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n');
  writeFileSync(join(dir, 'b1.csv'), [header, ...rows.slice(0, 3)].join('\n') + '\n');
  writeFileSync(join(dir, 'b2.csv'), [header, ...rows.slice(3, 5)].join('\n') + '\n');
  writeFileSync(join(dir, 'bad.csv'), [header, rows[5]!.replace(/^[^,]*,/, ','), rows[6]].join('\n') + '\n');
  const { store } = await createDemoKeyStore(join(dir, 'keys.store'), new TextEncoder().encode(PASS), { scryptLog2N: 14, blankCardKeys: BLANK_CARD_KEYS });
  await store.close();
  const env = { CARDSMITH_KEYSTORE_PASS: PASS };
  const registry = join(dir, 'serials.sqlite');
  const prep = (input: string, out: string, extra: string[] = []) =>
    cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(dir, input), '--keystore', join(dir, 'keys.store'), '--out', join(dir, out), '--serials', registry, '--created-at', '2026-11-27T10:00:00Z', ...extra], { env });

  const one = await prep('b1.csv', 'batch-1');
  t.equal(one.code, 0, one.err);
  t.match(one.out, /card serials 1\.\.3 \(from .*serials\.sqlite\)/);
  const bad = await prep('bad.csv', 'batch-bad');
  t.equal(bad.code, 2, 'the invalid batch is refused');
  const two = await prep('b2.csv', 'batch-2', ['--json']);
  t.equal(two.code, 0, two.err);
  t.same(JSON.parse(two.out).serials, { first: { card: 4 }, registry });

  const first = cardNumbers(join(dir, 'batch-1'));
  const second = cardNumbers(join(dir, 'batch-2'));
  t.same(first.map((n) => n.slice(0, 8)), ['A0000001', 'A0000002', 'A0000003'], 'batch 1: serials 1..3 with the issuer letter');
  t.same(second.map((n) => n.slice(0, 8)), ['A0000004', 'A0000005'], 'batch 2 continues at 4');
  t.equal(new Set([...first, ...second]).size, 5, 'no card number repeats');

  const show = await cli(['serials', 'show', registry, '--json']);
  t.equal(show.code, 0, show.err);
  const shown = JSON.parse(show.out) as { counters: unknown[]; allocations: { first: number; last: number; batch: string }[] };
  t.same(shown.counters, [{ product: 'sscard-gen3', counter: 'card', next: 6 }]);
  t.same(
    shown.allocations.map((a) => [a.first, a.last, a.batch]),
    [
      [1, 3, join(dir, 'batch-1')],
      [4, 5, join(dir, 'batch-2')],
    ],
  );
  const text = await cli(['serials', 'show', registry]);
  t.match(text.out, /sscard-gen3 card: next 6/);
  t.match(text.out, /sscard-gen3 card 4\.\.5 \(2\) → .*batch-2/);

  // Without --serials the registry beside the key store is used: another registry, whose counters start at the profile's start value.
  const plain = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(dir, 'b2.csv'), '--keystore', join(dir, 'keys.store'), '--out', join(dir, 'batch-plain')], { env });
  t.equal(plain.code, 0, plain.err);
  t.same(cardNumbers(join(dir, 'batch-plain')).map((n) => n.slice(0, 8)), ['A0000001', 'A0000002']);
});

t.test('serials show: a missing file or a file that is not a registry is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'serials-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = await cli(['serials', 'show', join(dir, 'nope.sqlite')]);
  t.equal(missing.code, 2);
  t.match(missing.err, /does not exist/);
  writeFileSync(join(dir, 'text.sqlite'), 'not a database, only text, but long enough to be read as a header');
  const junk = await cli(['serials', 'show', join(dir, 'text.sqlite')]);
  t.equal(junk.code, 2);
  t.match(junk.err, /serials: /);
});
