import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { kcv, type KcvAlg } from '../../../crypto/kcv.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

export const KCV_ALGS: readonly KcvAlg[] = ['des3', 'aes', 'sm4'];

export function kcvCommand(ctx: Ctx): CommandModule {
  return {
    command: 'kcv',
    describe: 'key check value of a key (3DES: 3DES(00..), AES: AES(01..) as GlobalPlatform, SM4: SM4(00..))',
    builder: (y) =>
      y
        .options({
          alg: { choices: KCV_ALGS, demandOption: true, describe: 'key algorithm' },
          key: { ...secretOption('the key'), demandOption: true },
          length: { type: 'number', default: 3, describe: 'KCV length in bytes' },
          ...outputOptions,
        })
        .example('$0 crypto kcv --alg des3 --key env:TEST_KEY', 'KCV of the key in $TEST_KEY')
        .example('$0 crypto kcv --alg aes --key file:ca.key --json', 'as JSON: {"alg":"aes","kcv":"…"}'),
    handler: async (argv) => {
      const a = argv as unknown as { alg: KcvAlg; key: string; length: number; json: boolean };
      const key = await readSecret(ctx.io, 'key', a.key);
      const value = toHex(kcv(a.alg, key, a.length));
      emit(ctx.io, a.json, { alg: a.alg, kcv: value }, value);
    },
  };
}
