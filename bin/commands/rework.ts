// cardsmith rework requeue|resolve DIR RECORD --reason TEXT: an operator's decision on one record,
// written to the journal, the issuance registry and DIR/audit.log (personalization/registry/rework.ts).
// cardsmith registry show: what the bureau's issuance registry holds.
// Exit 0 done, 2 bad usage or a record in the wrong state.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { about } from './index.js';
import { DoubleIssueError, Journal, JournalError, StaleClaimError } from '../../personalization/journal/index.js';
import { CARD_STATES, RegistryConflictError, RegistryStateError, type CardState } from '../../personalization/registry/index.js';
import { reservationFor } from '../../personalization/registry/reservation.js';
import { requeueRecord, resolveIssued, resolveNotIssued, type ReworkContext } from '../../personalization/registry/rework.js';
import { BatchInputError, loadBatch } from '../../personalization/runner/run.js';
import { lockBatch } from '../../personalization/runner/lock.js';
import type { Ctx } from '../context.js';
import { prefixed, UsageError } from '../errors.js';
import { emit } from '../io.js';
import { openRegistry, registryOptions, registryPath, type RegistryArgs } from './registry-file.js';

interface ReworkArgs extends RegistryArgs {
  dir: string;
  record: string;
  reason: string;
  issued?: boolean;
  notIssued?: boolean;
  chip?: string;
  json: boolean;
}

const locate = {
  ...registryOptions,
  keystore: { type: 'string', requiresArg: true, describe: 'the key store the batch was prepared with: the registry is found beside it (it is not opened)' },
  reason: { type: 'string', demandOption: true, requiresArg: true, describe: 'why: it goes into the journal, the registry and the audit log' },
  json: { type: 'boolean', default: false, describe: 'one JSON object' },
} as const;

function positionals(y: Argv): Argv {
  return y.positional('dir', { type: 'string', describe: 'the batch folder' }).positional('record', { type: 'string', describe: 'the record id (cardsmith report DIR lists them)' });
}

/** Opens what a decision needs, runs it, and maps the library's refusals to exit 2. */
function withRework(ctx: Ctx, a: ReworkArgs, fn: (c: ReworkContext) => void, done: string): void {
  if (!Journal.exists(a.dir)) throw new UsageError(`rework: ${a.dir} has no journal: only a batch that has run has records to rework`);
  if (!existsSync(registryPath(a))) throw new UsageError(`rework: the issuance registry ${registryPath(a)} does not exist: give --registry FILE (or --keystore)`);
  // Not while a run holds the batch: its stations would not see the decision.
  const lock = lockBatch(a.dir);
  let journal: Journal;
  try {
    journal = Journal.open(a.dir);
  } catch (e) {
    lock.release();
    if (e instanceof JournalError) throw prefixed(e, 'rework');
    throw e;
  }
  const registry = openRegistry(a);
  try {
    const batch = journal.meta()['batch_id'];
    if (batch === undefined) throw new UsageError(`rework: the journal of ${a.dir} names no batch`);
    fn({ dir: a.dir, journal, registry, batch, operator: userInfo().username });
    const rec = journal.get(a.record)!;
    emit(ctx.io, a.json, { format: 'cardsmith-rework', record: a.record, state: rec.state, chipSerial: rec.chipSerial }, `${a.record}: ${done} (now ${rec.state})`);
  } catch (e) {
    // Here the registry's refusals and state rules and the journal's issue rules mean the operator
    // named a record or chip that does not fit: bad input (exit 2), although the runner treats them
    // as card faults or failed operations. ReworkError and the other JournalErrors are input already.
    if (e instanceof RegistryConflictError || e instanceof RegistryStateError || e instanceof DoubleIssueError || e instanceof StaleClaimError) throw new UsageError(e.message);
    throw e;
  } finally {
    registry.close();
    journal.close();
    lock.release();
  }
}

export function reworkCommand(ctx: Ctx): CommandModule {
  return {
    ...about('rework'),
    builder: (y) =>
      y
        .command({
          command: 'requeue <dir> <record>',
          describe: 'a rejected record (or one in review whose card is not good) goes back to pending: a new card at the next run',
          builder: (y2) =>
            positionals(y2)
              .options(locate)
              .example('$0 rework requeue batches/b1 3f2a9c… --reason "reject bin emptied, chip fault fixed" --keystore keys.store', 'the record gets a card at the next cardsmith run'),
          handler: (argv) => {
            const a = argv as unknown as ReworkArgs;
            withRework(ctx, a, (c) => requeueRecord(c, a.record, a.reason), 'requeued');
          },
        })
        .command({
          command: 'resolve <dir> <record>',
          describe: 'a record in review, after looking at its card: --issued --chip HEX (the card is good) or --not-issued',
          builder: (y2) =>
            positionals(y2)
              .options({
                ...locate,
                issued: { type: 'boolean', describe: 'the card is good: issue the record on --chip' },
                'not-issued': { type: 'boolean', describe: 'the card is not good (or was not found): back to pending' },
                chip: { type: 'string', requiresArg: true, describe: 'with --issued: the chip serial of the card you checked (cardsmith verify DIR --reader NAME prints it)' },
              })
              .example('$0 rework resolve batches/b1 3f2a9c… --issued --chip 04A1B2C3D4E5F607 --reason "verified in the desk reader" --keystore keys.store', 'journal and registry issue the record on that chip')
              .example('$0 rework resolve batches/b1 3f2a9c… --not-issued --reason "card destroyed" --keystore keys.store', 'the record goes back to pending'),
          handler: (argv) => {
            const a = argv as unknown as ReworkArgs;
            if (a.issued === a.notIssued || (a.issued !== true && a.notIssued !== true)) throw new UsageError('rework resolve: give exactly one of --issued or --not-issued');
            if (a.notIssued) return withRework(ctx, a, (c) => resolveNotIssued(c, a.record, a.reason), 'resolved as not issued');
            if (a.chip === undefined) throw new UsageError('rework resolve --issued: give --chip HEX, the chip serial of the card you checked');
            const batch = loadReworkBatch(a.dir);
            const script = batch.scripts.get(a.record);
            if (!script) throw new UsageError(`rework: record ${a.record} is not in ${a.dir}/cards.jsonl`);
            withRework(
              ctx,
              a,
              (c) => resolveIssued(c, reservationFor(batch.manifest, c.batch, script, a.chip!, 'operator'), a.reason),
              `resolved as issued on chip ${a.chip.toUpperCase()}`,
            );
          },
        })
        .demandCommand(1, 'name a subcommand: rework requeue | rework resolve'),
    handler: () => {},
  };
}

function loadReworkBatch(dir: string): ReturnType<typeof loadBatch> {
  try {
    return loadBatch(dir);
  } catch (e) {
    if (e instanceof BatchInputError) throw prefixed(e, 'rework');
    throw e;
  }
}

export function registryCommand(ctx: Ctx): CommandModule {
  return {
    ...about('registry'),
    builder: (y) =>
      y
        .command({
          command: 'show',
          describe: 'cards per state and the latest cards (--product, --state, --limit)',
          builder: (y2) =>
            y2
              .options({
                ...registryOptions,
                keystore: { type: 'string', requiresArg: true, describe: 'find the registry beside this key store (it is not opened)' },
                product: { type: 'string', requiresArg: true, describe: 'only this product (profile name)' },
                state: { type: 'string', choices: [...CARD_STATES], describe: 'only cards in this state' },
                limit: { type: 'number', default: 20, describe: 'the latest N cards (0: counts only)' },
                json: { type: 'boolean', default: false, describe: 'one JSON object' },
              })
              .example('$0 registry show --registry bureau/issuance-registry.sqlite', 'counts per state, then the 20 latest cards')
              .example('$0 registry show --keystore keys.store --state replaced --json', 'replaced cards as JSON'),
          handler: (argv) => {
            const a = argv as unknown as RegistryArgs & { product?: string; state?: CardState; limit: number; json: boolean };
            if (!existsSync(registryPath(a))) throw new UsageError(`registry show: ${registryPath(a)} does not exist`);
            const registry = openRegistry(a);
            try {
              const counts = registry.counts();
              const cards = a.limit > 0 ? registry.cards({ ...(a.product ? { product: a.product } : {}), ...(a.state ? { state: a.state } : {}), limit: a.limit }) : [];
              const lines = [
                `${registry.path}: ${CARD_STATES.map((s) => `${counts[s]} ${s}`).join(', ')}`,
                ...cards.map((c) => `  ${c.issuedAt ?? c.reservedAt} ${c.product} ${c.cardNumber ?? '-'} chip ${c.chip} ${c.state}${c.replacement ? ` (replaces: ${c.replacement.kind})` : ''} batch ${c.batch} at ${c.station}${c.reason ? ` — ${c.reason}` : ''}`),
              ];
              emit(ctx.io, a.json, { format: 'cardsmith-registry', path: registry.path, counts, holderKey: registry.holderKey() ?? null, cards }, lines.join('\n'));
            } finally {
              registry.close();
            }
          },
        })
        .demandCommand(1, 'name a subcommand: registry show'),
    handler: () => {},
  };
}
