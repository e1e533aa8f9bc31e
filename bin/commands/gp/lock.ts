// `cardsmith gp lock|unlock|terminate`: SET STATUS (GP Card Specification 2.3.1 §11.10) of an
// application (P1 40, lock = b8 set) or of the card (P1 80: CARD_LOCKED 7F, back to SECURED 0F,
// TERMINATED FF). Locking and terminating need --force; terminating cannot be undone by anyone.
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { aidArg, gpOptions, withSession, type GpArgs } from './common.js';

type LockArgs = GpArgs & { aid?: string; card: boolean; force: boolean };

function lockUnlock(ctx: Ctx, lock: boolean): CommandModule {
  const verb = lock ? 'lock' : 'unlock';
  return {
    command: `${verb} [aid]`,
    describe: lock ? 'lock an application or, with --card, the card (needs --force)' : 'unlock an application or, with --card, the card',
    builder: (y) =>
      y
        .positional('aid', { type: 'string', describe: 'application AID (hex)' })
        .options({
          ...gpOptions,
          card: { type: 'boolean', default: false, describe: 'the whole card (card life cycle) instead of an application' },
          ...(lock ? { force: { type: 'boolean', default: false, describe: 'required: a locked card answers only its ISD' } } : {}),
        })
        .example(`$0 gp ${verb} A0000001515350AA01 --reader sim:gp${lock ? ' --force' : ''}`, `${verb} one application`)
        .example(`$0 gp ${verb} --card --reader sim:gp${lock ? ' --force' : ''} --json`, `${verb} the card`),
    handler: async (argv) => {
      const a = argv as unknown as LockArgs;
      if (a.card === (a.aid !== undefined)) throw new UsageError(`gp ${verb}: give an application AID or --card (one of them)`);
      if (lock && !a.force) throw new UsageError(`gp lock ${a.card ? '--card' : a.aid}: ${a.card ? 'a locked card only answers its ISD' : 'a locked application cannot be selected'}; add --force`);
      const aid = aidArg(a.aid, 'aid');
      await withSession(ctx, a, async ({ session }) => {
        if (a.card) await session.setCardState(lock ? 'locked' : 'secured');
        else await session.setApplicationLock(aid!, lock);
        const what = a.card ? 'card' : toHex(aid!);
        emit(ctx.io, a.json, { [verb === 'lock' ? 'locked' : 'unlocked']: what }, `${verb}ed ${what}`);
      });
    },
  };
}

export function lockCommand(ctx: Ctx): CommandModule {
  return lockUnlock(ctx, true);
}

export function unlockCommand(ctx: Ctx): CommandModule {
  return lockUnlock(ctx, false);
}

export function terminateCommand(ctx: Ctx): CommandModule {
  return {
    command: 'terminate',
    describe: 'terminate the card (card life cycle TERMINATED: irreversible, needs --force)',
    builder: (y) =>
      y
        .options({ ...gpOptions, force: { type: 'boolean', default: false, describe: 'required: nobody can use the card afterwards' } })
        .example('$0 gp terminate --reader sim:gp --force', 'end the card\'s life'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs & { force: boolean };
      if (!a.force) throw new UsageError('gp terminate ends the card for good (no command can undo it); add --force');
      await withSession(ctx, a, async ({ session }) => {
        await session.setCardState('terminated');
        emit(ctx.io, a.json, { terminated: true }, 'card terminated');
      });
    },
  };
}
