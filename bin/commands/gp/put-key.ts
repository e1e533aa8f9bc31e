// `cardsmith gp put-key`: PUT KEY of a new ISD key set (GP Card Specification 2.3.1 §11.8;
// Amendment D §7.2 for AES), the KCVs the card returns checked, then — in the same command — a new
// authentication with the new keys, and for --replace proof that the old keys no longer open a
// session: one INITIALIZE UPDATE with the old version, compared offline (no EXTERNAL AUTHENTICATE).
import type { CommandModule } from 'yargs';
import { AuthenticationError, cardCryptogramMatches, DIVERSIFICATIONS, initializeUpdate, type Diversification } from '../../../channels/index.js';
import type { Ctx } from '../../context.js';
import { EXIT_FAILED, OperationFailed, UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { secretOption } from '../../options.js';
import { aidArg, gpOptions, keySourceFrom, parseNumber, securityLevelFrom, withSession, type GpArgs } from './common.js';

interface PutKeyArgs extends GpArgs {
  'new-key'?: string;
  'new-kmc'?: string;
  'new-div'?: Diversification;
  'new-key-enc'?: string;
  'new-key-mac'?: string;
  'new-key-dek'?: string;
  'new-version'?: string;
  replace: boolean;
  force: boolean;
}

export function putKeyCommand(ctx: Ctx): CommandModule {
  return {
    command: 'put-key',
    describe: 'add a key set, or replace the current one (--replace --force), then authenticate with the new keys',
    builder: (y) =>
      y
        .options({
          ...gpOptions,
          'new-key': secretOption('new static key for ENC, MAC and DEK'),
          'new-kmc': secretOption('new master key; the card keys are diversified from it with --new-div'),
          'new-div': { choices: DIVERSIFICATIONS, describe: 'template for --new-kmc (default: --div)' },
          'new-key-enc': secretOption('new ENC key (with --new-key-mac, --new-key-dek)'),
          'new-key-mac': secretOption('new MAC key'),
          'new-key-dek': secretOption('new DEK key'),
          'new-version': { type: 'string', requiresArg: true, describe: 'version of the new key set (1..127; default: current + 1, or 1)' },
          replace: { type: 'boolean', default: false, describe: 'replace the key set used to authenticate (the old keys stop working)' },
          force: { type: 'boolean', default: false, describe: 'required with --replace' },
        })
        .example('$0 gp put-key --reader sim:gp --new-kmc env:NEW_KMC --div emv --replace --force', 'rotate the test keys to keys diversified from NEW_KMC')
        .example('$0 gp put-key --reader sim:gp --scp 03 --kmc env:OLD --div kdf3 --new-kmc env:NEW --replace --force --json', 'SCP03 rotation, as JSON')
        .example('$0 gp put-key --reader sim:gp --new-key file:new.hex --new-version 2', 'add a second key set, keep the first'),
    handler: async (argv) => {
      const a = argv as unknown as PutKeyArgs;
      if (a.replace && !a.force) throw new UsageError('gp put-key --replace overwrites the key set you authenticate with; if the new keys are lost the card is lost: add --force');
      const newSource = await keySourceFrom(ctx, a, 'new-');
      const requested = parseNumber(a['new-version'], 'new-version', 1, 0x7f);
      await withSession(ctx, a, async ({ session, keys: oldSource }) => {
        const channel = session.channel!;
        const scp = channel.protocol === 'scp02' ? 2 : 3;
        const oldVersion = channel.session.keyVersion;
        const newVersion = requested ?? (oldVersion >= 1 && oldVersion < 0x7f ? oldVersion + 1 : 1);
        const kdd = channel.session.kdd;
        const newKeys = newSource.keysFor(kdd, scp);
        const put = await session.putKeys({ keys: newKeys, newVersion, replaceVersion: a.replace ? oldVersion : 0 });
        // Authenticate again, with the new keys only.
        const sd = aidArg(a.sd, 'sd');
        await session.selectSd(sd);
        const fresh = await session.authenticate({ keys: newSource, keyVersion: newVersion, securityLevel: securityLevelFrom(a), ...(a.s16 ? { s16: true } : {}) });
        let oldKeys: 'still valid' | 'key version gone' | 'refused' = 'still valid';
        if (a.replace) {
          await session.selectSd(sd);
          try {
            const init = await initializeUpdate(session.transport, { keyVersion: oldVersion, ...(a.s16 ? { s16: true } : {}) });
            const old = oldSource.keysFor(init.response.kdd, init.response.scp);
            if (cardCryptogramMatches(old, init.response, init.hostChallenge, channel.session.i)) {
              ctx.exitCode = EXIT_FAILED;
              throw new OperationFailed(`put-key: the old keys (${oldSource.description}) still produce the card cryptogram of key version ${init.response.keyVersion}: the replacement did not take effect`);
            }
            oldKeys = 'refused';
          } catch (e) {
            if (!(e instanceof AuthenticationError) || e.sw !== 0x6a88) throw e;
            oldKeys = 'key version gone';
          }
        }
        const result = {
          replaced: a.replace ? oldVersion : null,
          version: put.version,
          kcvs: { enc: put.kcvs[0], mac: put.kcvs[1], dek: put.kcvs[2] },
          keys: newSource.description,
          reauthenticated: { protocol: fresh.protocol, keyVersion: fresh.session.keyVersion },
          oldKeys,
        };
        const text = [
          `${a.replace ? `replaced key set ${oldVersion} with` : 'added'} key set ${put.version} (${newSource.description}): ENC KCV ${put.kcvs[0]}, MAC KCV ${put.kcvs[1]}, DEK KCV ${put.kcvs[2]}`,
          `authenticated with the new keys (${fresh.protocol.toUpperCase()}, key version ${fresh.session.keyVersion})`,
          a.replace ? `old keys: ${oldKeys === 'key version gone' ? `key version ${oldVersion} no longer exists on the card` : 'refused (card cryptogram checked offline, no authentication attempt)'}` : `old key set ${oldVersion} still valid`,
        ].join('\n');
        emit(ctx.io, a.json, result, text);
      });
    },
  };
}
