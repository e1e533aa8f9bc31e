// cardsmith demo [--cards N] [--out DIR] [--json]: the README's main job on the built-in defaults,
// on any machine, without PC/SC: a DEMO key store (generated keys, generated passphrase in
// DIR/demo-passphrase, mode 600), prep of examples/sscard-gen3-batch.csv (first N records) with
// builtin:sscard-gen3, a run on 4 simulated stations, and the report summary.
// Exit 0 when every card was issued (and the duplicates check is 0), 1 otherwise, 2 bad usage.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { privateDirSync, writePrivateFileSync } from '../../files/private.js';
import { createDemoKeyStore, DEMO_SEAL_KEY } from '../../personalization/demo.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { formatReportText, reportFromDir } from '../../personalization/report/index.js';
import { loadProfile } from '../../profiles/index.js';
import { DEFAULT_TEST_KEY, DEFAULT_TRANSPORT_KEY } from '../../simulator/index.js';
import { simulatedStations } from '../../stations/index.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, OperationFailed, UsageError } from '../errors.js';
import { installPath } from '../paths.js';
import { runWithProvider, simSeedOf } from './run.js';
import { openRegistry } from './registry-file.js';

interface DemoArgs {
  cards?: number;
  out?: string;
  json: boolean;
}

const PROFILE = 'builtin:sscard-gen3';
const STATIONS = 4;

/** Writes the first `n` records of the example batch (and their photos) into `dir`; returns the CSV path and the count. */
function exampleBatch(dir: string, n: number | undefined): { path: string; records: number } {
  const src = installPath('examples', 'sscard-gen3-batch.csv');
  const [head, ...rows] = readFileSync(src, 'utf8').trimEnd().split(/\r?\n/);
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > rows.length)) throw new UsageError(`demo: --cards takes 1..${rows.length}, got ${n}`);
  const chosen = rows.slice(0, n ?? rows.length);
  privateDirSync(dir);
  const col = head!.split(',').indexOf('photo');
  for (const row of chosen) {
    const photo = col >= 0 ? row.split(',')[col] : undefined;
    if (!photo) continue;
    privateDirSync(dirname(join(dir, photo)));
    writePrivateFileSync(join(dir, photo), readFileSync(join(dirname(src), photo)));
  }
  const path = join(dir, 'batch.csv');
  writePrivateFileSync(path, [head, ...chosen].join('\r\n') + '\r\n');
  return { path, records: chosen.length };
}

export function demoCommand(ctx: Ctx): CommandModule {
  return {
    ...about('demo'),
    builder: (y) =>
      y
        .options({
          cards: { type: 'number', requiresArg: true, describe: 'personalize the first N records of examples/sscard-gen3-batch.csv (default all)' },
          out: { type: 'string', requiresArg: true, describe: 'an empty or new folder for the demo (default: a new temporary folder)' },
          json: { type: 'boolean', default: false, describe: 'one JSON object: folders, run counts and the report' },
        })
        .example('$0 demo', 'all 24 example records on 4 simulated printers')
        .example('$0 demo --cards 6 --out /tmp/demo', '6 cards; the key store, batch folder and journal stay in /tmp/demo')
        .epilogue('DEMO ONLY: the keys are generated, the passphrase is written next to the key store, and the transport keys are the simulator defaults. Exit 0 all issued, 1 otherwise.'),
    handler: async (argv) => {
      const a = argv as unknown as DemoArgs;
      const dir = a.out !== undefined ? resolve(a.out) : mkdtempSync(join(tmpdir(), 'cardsmith-demo-'));
      if (a.out !== undefined) {
        if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`demo: ${a.out} is not empty; give a new or empty folder`);
        privateDirSync(dir);
      }
      const note = (s: string): void => {
        if (!a.json) ctx.io.out(s);
      };
      note('cardsmith demo: DEMO ONLY, generated keys on simulated cards; never use this key store for real cards');
      note(`demo folder: ${dir}`);
      const input = exampleBatch(join(dir, 'input'), a.cards);

      // The demo passphrase: random, written for the user (mode 600), never printed.
      const passFile = join(dir, 'demo-passphrase');
      const pass = randomBytes(24).toString('base64url');
      writePrivateFileSync(passFile, `${pass}\n`);
      note(`demo passphrase: written to ${passFile} (mode 600; DEMO ONLY, use it with --pass-file)`);

      const keystore = join(dir, 'keys.store');
      const { store, keys } = await createDemoKeyStore(keystore, new TextEncoder().encode(pass), { blankCardKeys: { sscard: DEFAULT_TRANSPORT_KEY, gp: DEFAULT_TEST_KEY } });
      const registry = openRegistry({ keystore });
      try {
        note(`key store: ${keystore} (${keys} generated keys: the ${PROFILE} keys, the card CA, the batch transport key, the registry's ID-hash key)`);
        note(`issuance registry: ${registry.path}`);
        const out = join(dir, 'batch');
        const prep = await prepBatch({ profile: loadProfile(PROFILE), profileFile: PROFILE, input: input.path, store, out, sealKey: DEMO_SEAL_KEY, registry });
        if (!prep.ok || !prep.manifest) {
          throw new OperationFailed(`demo: prep rejected ${prep.rejects.length} of the example records${prep.rejectsFile ? ` (${prep.rejectsFile})` : ''}`);
        }
        note(`prep: ${prep.manifest.cards} card scripts in ${out}`);
        note(`run: ${STATIONS} simulated stations`);
        const res = await runWithProvider(ctx, { dir: out, resume: false, json: a.json }, store, simulatedStations(STATIONS, { seed: simSeedOf(out) }), registry);
        const { report } = reportFromDir(out);
        const dup = report.duplicates.records + report.duplicates.chips + report.duplicates.inconsistent;
        const c = res.counts;
        const allIssued = res.kind === 'done' && c.issued === input.records && c.rejected === 0 && c.review === 0 && c.pending === 0 && c.inProgress === 0;
        if (a.json) {
          ctx.io.out(JSON.stringify({ format: 'cardsmith-demo', dir, keystore, passphraseFile: passFile, batch: out, profile: PROFILE, cards: input.records, stations: STATIONS, run: { kind: res.kind, message: res.message, counts: res.counts, paused: res.paused }, report }));
        } else {
          ctx.io.out(res.message);
          ctx.io.out('');
          ctx.io.out(formatReportText(report));
          ctx.io.out('');
          ctx.io.out(`next: cardsmith report ${out} --html report.html; cardsmith verify ${out} --sim --keystore ${keystore} --pass-file ${passFile} re-reads every card the printers kept`);
        }
        if (!allIssued || dup > 0) ctx.exitCode = EXIT_FAILED;
      } finally {
        registry.close();
        await store.close();
      }
    },
  };
}
