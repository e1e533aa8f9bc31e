// `cardsmith prep`: profile + batch + key store → batch folder (docs/prep.md). Exit 0 when the
// folder was written, 2 for bad inputs (invalid profile, invalid batch: the rejects report and
// nothing else), 1 when an operation failed (key store, file system).
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { formatReject } from '../../personalization/batch/errors.js';
import { prepBatch, type PrepProgress } from '../../personalization/prep/index.js';
import type { BatchManifest } from '../../personalization/script.js';
import type { IssuanceRegistry } from '../../personalization/registry/index.js';
import { openRegistry, registryOptions } from './registry-file.js';
import { loadProfile } from '../../profiles/index.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { storeOptions, withStore, type StoreArgs } from './keys/common.js';

interface PrepArgs extends StoreArgs {
  profile: string;
  input: string;
  out: string;
  seed: number;
  skipInvalid: boolean;
  sealKey: string;
  createdAt?: string;
  serials?: string;
  registry?: string;
  holderKey: string;
  workers?: number;
}

export function prepCommand(ctx: Ctx): CommandModule {
  return {
    ...about('prep'),
    builder: (y) =>
      y
        .options({
          profile: { type: 'string', demandOption: true, requiresArg: true, describe: 'the card profile: a YAML file or builtin:NAME' },
          input: { type: 'string', demandOption: true, requiresArg: true, describe: 'the batch: .csv (header row) or .jsonl' },
          out: { type: 'string', demandOption: true, requiresArg: true, describe: 'the batch folder to write (manifest.json, cards.jsonl, cards.sha256, blobs.pack with the photos): new or empty; a folder holding a batch is refused' },
          workers: { type: 'number', requiresArg: true, describe: 'threads that build the card scripts (default: one per core, at most 8; 0: none). The batch is the same whatever the number' },
          seed: { type: 'number', default: 0, describe: 'seed of the random PINs: same inputs + seed ⇒ the same scripts' },
          'skip-invalid': { type: 'boolean', default: false, describe: 'prepare the valid records and write the others to rejects.csv' },
          'seal-key': { type: 'string', default: 'batch-transport', requiresArg: true, describe: 'label of the batch transport (seal) key in the key store' },
          'created-at': { type: 'string', requiresArg: true, describe: 'timestamp written to the manifest (ISO 8601; default now)' },
          ...registryOptions,
          serials: { type: 'string', requiresArg: true, hidden: true, describe: 'the same as --registry (card numbers come from the registry)' },
          'holder-key': { type: 'string', default: 'issuance-registry', requiresArg: true, describe: "label of the key that keys the registry's hashes of cardholder IDs" },
          ...storeOptions,
        })
        .example('CARDSMITH_KEYSTORE_PASS=… $0 prep --profile builtin:sscard-gen3 --input batch.csv --keystore keys.store --out batch-001', 'one script per record in batch-001/cards.jsonl')
        .example('$0 prep --profile builtin:sscard-gen3 --input batch-002.csv --keystore keys.store --registry bureau/registry.sqlite --out batch-002', 'card numbers continue where the last batch of the product stopped; cardholders who already have a card are refused (cardsmith serials show bureau/registry.sqlite)')
        .example('$0 prep --profile builtin:gp-cps --input cards.jsonl --keystore keys.store --out b2 --skip-invalid --json', 'prepare the good records, list the others in b2/rejects.csv; one JSON summary')
        .example('$0 prep --profile builtin:sscard-gen3 --input batch.csv --keystore keys.store --out batch-003 --workers 0', 'build every script on one thread (the same batch, byte for byte)')
        .epilogue('The key store passphrase comes from CARDSMITH_KEYSTORE_PASS, --pass-file or a prompt. Progress goes to stderr (JSON lines when stderr is not a terminal). Exit codes: 0 written, 1 failed, 2 invalid profile or batch.'),
    handler: async (argv) => {
      const a = argv as unknown as PrepArgs;
      const profile = loadProfile(a.profile);
      const started = Date.now();
      let lastReport = 0;
      const onProgress = (p: PrepProgress): void => {
        const now = Date.now();
        if (now - lastReport < 1000) return;
        lastReport = now;
        const rate = Math.round((p.cards * 1000) / Math.max(1, now - started));
        if (ctx.io.interactive) process.stderr.write(`\rprep: ${p.records} records, ${p.cards} cards, ${p.rejected} rejected, ${rate} cards/s `);
        else ctx.io.err(JSON.stringify({ event: 'progress', ...p, cardsPerSecond: rate }));
      };
      const result = await withStore(ctx, a, true, async (store) => {
        // Opened once the key store is: the registry's default place is beside it.
        const registry: IssuanceRegistry = openRegistry({ keystore: a.keystore, ...(a.registry ?? a.serials ? { registry: (a.registry ?? a.serials)! } : {}) });
        try {
          return await prepBatch({
            profile,
            profileFile: a.profile,
            input: a.input,
            store,
            out: a.out,
            seed: a.seed,
            skipInvalid: a.skipInvalid,
            sealKey: a.sealKey,
            ...(a.createdAt ? { createdAt: a.createdAt } : {}),
            registry,
            holderKey: a.holderKey,
            ...(a.workers !== undefined ? { workers: a.workers } : {}),
            onProgress,
          });
        } finally {
          registry.close();
        }
      });
      if (ctx.io.interactive) process.stderr.write('\n');
      if (!result.ok) {
        if (a.json) ctx.io.out(JSON.stringify({ ok: false, rejected: result.rejects.length, rejects: result.rejects, rejectsFile: result.rejectsFile }));
        else for (const r of result.rejects) ctx.io.err(formatReject(a.input, r));
        const problems = `${result.rejects.length} problem${result.rejects.length === 1 ? '' : 's'}`;
        throw new UsageError(`${a.input}: ${problems}; nothing prepared ${a.skipInvalid ? '(no record is valid)' : '(--skip-invalid prepares the valid records)'}`);
      }
      const m = result.manifest!;
      if (a.json) ctx.io.out(JSON.stringify({ ok: true, out: a.out, cards: m.cards, records: m.input.records, rejected: m.input.rejected, serials: m.serials, ...(result.rejectsFile ? { rejectsFile: result.rejectsFile } : {}) }));
      else ctx.io.out(`${a.out}: ${m.cards} card scripts from ${m.input.records} records${m.input.rejected ? `, ${m.input.rejected} rejected (${result.rejectsFile})` : ''}; profile ${m.profile.name}, sealed under ${m.transportKey.label} v${m.transportKey.version} (KCV ${m.transportKey.kcv})${serialRange(m)}`);
    },
  };
}

/** `; card serials 25..48 (from serials.sqlite)` when the batch has cards. */
function serialRange(m: BatchManifest): string {
  const first = m.serials?.first['card'];
  if (first === undefined || m.cards === 0) return '';
  return `; card serials ${first}..${first + m.cards - 1}${m.serials?.registry ? ` (from ${m.serials.registry})` : ''}`;
}
