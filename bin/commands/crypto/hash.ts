import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { hash, HASH_ALGS, type HashAlg } from '../../../crypto/hash.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { messageFrom, messageOptions, outputOptions } from '../../options.js';

export function hashCommand(ctx: Ctx): CommandModule {
  return {
    command: 'hash',
    describe: 'hash a message with SM3, SHA-1 or SHA-256',
    builder: (y) =>
      y
        .options({
          alg: { choices: HASH_ALGS, default: 'sm3' as const, describe: 'hash algorithm' },
          ...messageOptions,
          ...outputOptions,
        })
        .example('$0 crypto hash --alg sm3 --text abc', 'SM3("abc"), the GB/T 32905 example')
        .example('$0 crypto hash --alg sha256 --file applet.cap --json', 'a file hash as JSON'),
    handler: (argv) => {
      const a = argv as unknown as { alg: HashAlg; json: boolean; data?: Uint8Array; text?: string; file?: string };
      const digest = toHex(hash(a.alg, messageFrom(a)));
      emit(ctx.io, a.json, { alg: a.alg, digest }, digest);
    },
  };
}
