import type { CommandModule } from 'yargs';
import { about } from '../index.js';
import type { Ctx } from '../../context.js';
import { cipherCommand } from './cipher.js';
import { deriveCommand } from './derive.js';
import { hashCommand } from './hash.js';
import { kcvCommand } from './kcv.js';
import { macCommand } from './mac.js';
import { keygenCommand, signCommand, verifyCommand } from './sm2.js';

export function cryptoCommand(ctx: Ctx): CommandModule {
  return {
    ...about('crypto'),
    builder: (y) =>
      y
        .command(kcvCommand(ctx))
        .command(deriveCommand(ctx))
        .command(cipherCommand(ctx, 'encrypt'))
        .command(cipherCommand(ctx, 'decrypt'))
        .command(macCommand(ctx))
        .command(hashCommand(ctx))
        .command(signCommand(ctx))
        .command(verifyCommand(ctx))
        .command(keygenCommand(ctx))
        .demandCommand(1, 'name a crypto command (cardsmith crypto --help lists them)')
        .example('$0 crypto kcv --alg des3 --key env:KEY', 'KCV of a key')
        .example('$0 crypto derive --method kdf3 --master env:KMC --data 00010203040506070809 --json', 'an SCP03 key set'),
    handler: () => undefined,
  };
}
