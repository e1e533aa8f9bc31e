// cardsmith run DIR (--stations FILE | --sim N | --reader NAME) [--resume] [--face-workers N] [--json]: personalizes
// a prepared batch folder on N stations, with the journal in DIR (docs/runner.md).
// Exit 0 when every record is issued, 1 when any is rejected, in review or left undone (a key
// fault, a stop by SIGINT/SIGTERM) or another run holds DIR, 2 on bad input (no batch folder, a bad
// stations file, a run that needs --resume).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { JournalError } from '../../personalization/journal/index.js';
import { createProgress } from '../../personalization/progress/index.js';
import { lockBatch } from '../../personalization/runner/lock.js';
import { BatchInputError, ResumeNeededError, runBatch, type RunResult } from '../../personalization/runner/run.js';
import { loadStationsFile, openStations, simulatedStations, type StationConfig } from '../../stations/index.js';
import type { KeyProvider } from '../../keys/types.js';
import { simCards, ssCardStock } from '../../simulator/index.js';
import { checkFaceWorkers } from '../../faces/index.js';
import { checkedBatch } from '../batch.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, prefixed, UsageError } from '../errors.js';
import { openStore, storeOptions, type StoreArgs } from './keys/common.js';
import type { IssuanceRegistry } from '../../personalization/registry/index.js';
import { openRegistry, registryOptions } from './registry-file.js';

export interface RunArgs extends StoreArgs {
  dir: string;
  stations?: string;
  sim?: number;
  reader?: string;
  resume: boolean;
  registry?: string;
  faceWorkers?: number;
}

/**
 * The card stock of simulated stations, drawn from the batch folder's manifest: another batch gets
 * other blank cards (other chip serials, as real stock would), a resumed batch the same ones.
 */
export function simSeedOf(dir: string): number {
  let manifest: Buffer;
  try {
    manifest = readFileSync(join(dir, 'manifest.json'));
  } catch {
    return 0; // not a batch folder: loadBatch says so
  }
  return createHash('sha256').update(manifest).digest().readUInt32BE(0) % 1_000_000_000;
}

export async function stationConfigs(a: { stations?: string; sim?: number; reader?: string; dir?: string }): Promise<StationConfig[]> {
  const given = [a.stations, a.sim, a.reader].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('run: give exactly one of --stations FILE, --sim N, --reader NAME');
  if (a.sim !== undefined) {
    try {
      return simulatedStations(a.sim, a.dir !== undefined ? { seed: simSeedOf(a.dir) } : {});
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (a.reader !== undefined) return [{ name: 'desk', mover: { type: 'manual' }, encoder: a.reader, interface: 'contact', maxConsecutiveFailures: 3 }];
  return (await loadStationsFile(a.stations!)).stations;
}

/** Runs a batch with an open key provider; shared by run and demo. */
export async function runWithProvider(ctx: Ctx, a: { dir: string; resume: boolean; json: boolean; faceWorkers?: number }, provider: KeyProvider, configs: StationConfig[], registry: IssuanceRegistry): Promise<RunResult> {
  // The MAC too (runBatch checks it again), before any station is opened.
  const batch = await checkedBatch(ctx, 'run', a.dir, provider);
  // Before the stations are opened: a refused run does not touch the printers of the live one.
  const lock = lockBatch(batch.dir);
  const progress = createProgress({ tty: ctx.io.interactive && !a.json, write: (s) => ctx.io.err(s.replace(/\n$/, '')) });
  let opened;
  try {
    opened = openStations(configs, {
      prompt: (st, m) => ctx.io.err(`${st}: ${m}`),
      // bin/ is where host and simulator meet: simulated printers and `sim` encoders get their cards here.
      simulated: { stock: ssCardStock },
      simCards,
      onEvent: (e) => {
        if (e.type === 'state') progress.event({ type: 'station', station: e.station, state: e.state, ...(e.reason ? { reason: e.reason } : {}) });
      },
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  // SIGINT / SIGTERM: no new card is claimed, the cards in the encoders are finished, the run
  // ends with exit 1 and "stopped". A second signal quits at once (the journal survives that too).
  const abort = new AbortController();
  const onSig = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      ctx.io.err(`run: ${sig} again: stopped at once; run again with --resume so the cards left in the encoders are inspected first`);
      process.exit(EXIT_FAILED);
    }
    ctx.io.err(`run: ${sig}: stopping after the cards in the encoders (${sig} again to stop at once)`);
    abort.abort(sig);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSig);
  try {
    return await runBatch(batch, { provider, stations: opened.stations, resume: a.resume, registry, ...(a.faceWorkers !== undefined ? { faceWorkers: a.faceWorkers } : {}), onEvent: (e) => progress.event(e), signal: ctx.signal ?? abort.signal, lock });
  } catch (e) {
    if (e instanceof ResumeNeededError || e instanceof JournalError || e instanceof BatchInputError) throw prefixed(e, 'run');
    throw e;
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSig);
    await opened.close();
    lock.release();
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function report(ctx: Ctx, res: RunResult, json: boolean): void {
  const keyFault = res.keyFault ? { keyFault: { label: res.keyFault.label ?? null, version: res.keyFault.version ?? null, kcv: res.keyFault.kcv ?? null, message: res.keyFault.message } } : {};
  ctx.io.out(json ? JSON.stringify({ format: 'cardsmith-run', kind: res.kind, message: res.message, counts: res.counts, paused: res.paused, recovered: res.recovered, ...keyFault, ...(res.stopped ? { stopped: true } : {}) }) : res.message);
  const c = res.counts;
  if (res.kind === 'done' && (c.rejected > 0 || c.review > 0 || c.pending > 0 || c.inProgress > 0)) ctx.exitCode = EXIT_FAILED;
}

export function runCommand(ctx: Ctx): CommandModule {
  return {
    ...about('run'),
    builder: (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the batch folder (manifest.json + cards.jsonl, from cardsmith prep)' })
        .options({
          ...storeOptions,
          ...registryOptions,
          stations: { type: 'string', requiresArg: true, describe: 'a stations file (YAML): printers and readers' },
          sim: { type: 'number', requiresArg: true, describe: 'N simulated printer stations' },
          reader: { type: 'string', requiresArg: true, describe: 'one desk reader (PC/SC name or sim spec); the operator inserts cards' },
          resume: { type: 'boolean', default: false, describe: 'after a crash: inspect the cards left in the encoders, then go on' },
          'face-workers': { type: 'number', requiresArg: true, describe: 'worker threads drawing the card faces ahead of the cards (default one per core, at most 4; 0: each face drawn when its card is ejected, on the stations\' thread)' },
          json: { type: 'boolean', default: false, describe: 'JSON lines progress and a JSON summary' },
        })
        .example('$0 run batches/b1 --sim 4 --keystore keys.cks', 'four simulated printers')
        .example('$0 run batches/b1 --stations bureau.yaml --keystore keys.cks --resume', 'go on after a crash')
        .example('$0 run batches/b1 --sim 4 --keystore keys.cks --face-workers 1', 'one thread for the card faces (the other cores for other work)')
        .epilogue(
          'Exit 0 all issued, 1 any rejected/left undone (a key fault, a stop, another run live on DIR), 2 bad input. Ctrl-C (SIGINT) or SIGTERM: the cards in the encoders are finished, then the run stops. Passphrase: CARDSMITH_KEYSTORE_PASS or --pass-file.',
        ),
    handler: async (argv) => {
      const a = argv as unknown as RunArgs;
      if (a.faceWorkers !== undefined) {
        try {
          checkFaceWorkers(a.faceWorkers);
        } catch {
          throw new UsageError(`run: --face-workers takes a whole number ≥ 0, got ${String(a.faceWorkers)}`);
        }
      }
      const configs = await stationConfigs(a);
      const provider = await openStore(ctx.io, a, false);
      try {
        const registry = openRegistry(a);
        try {
          report(ctx, await runWithProvider(ctx, a, provider, configs, registry), a.json);
        } finally {
          registry.close();
        }
      } finally {
        await provider.close();
      }
    },
  };
}
