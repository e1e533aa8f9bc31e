import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { BLOCK_ALGS, blockCipher, crypt, type BlockAlg, type BlockMode } from '../../../crypto/block.js';
import { pad, unpadMethod2 } from '../../../crypto/padding.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { hexOption, outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

interface CipherArgs {
  alg: BlockAlg;
  mode: BlockMode;
  key: string;
  iv?: Uint8Array;
  data: Uint8Array;
  pad: 'none' | '1' | '2';
  json: boolean;
}

/** `crypto encrypt` and `crypto decrypt` share everything but the direction. */
export function cipherCommand(ctx: Ctx, direction: 'encrypt' | 'decrypt'): CommandModule {
  return {
    command: direction,
    describe: `${direction} with DES, 3DES, AES or SM4 in ECB or CBC mode`,
    builder: (y) =>
      y
        .options({
          alg: { choices: BLOCK_ALGS, demandOption: true, describe: 'block cipher (des = single DES, 8-byte key)' },
          mode: { choices: ['ecb', 'cbc'] as const, default: 'ecb' as const, describe: 'block mode' },
          key: { ...secretOption('the key'), demandOption: true },
          iv: hexOption('iv', 'CBC initial vector; zeros when omitted'),
          data: { ...hexOption('data', direction === 'encrypt' ? 'plaintext' : 'ciphertext'), demandOption: true },
          pad: {
            type: 'string',
            choices: ['none', '1', '2'] as const,
            default: 'none' as const,
            describe: direction === 'encrypt' ? 'ISO 9797-1 padding method to apply first' : 'ISO 9797-1 method 2 padding to strip after',
          },
          ...outputOptions,
        })
        .example(`$0 crypto ${direction} --alg sm4 --key env:K --data 0123456789ABCDEFFEDCBA9876543210`, 'one SM4 block, ECB')
        .example(`$0 crypto ${direction} --alg des3 --mode cbc --key file:k.hex --data 1122334455667788 --json`, '3DES-CBC with a zero IV, as JSON'),
    handler: async (argv) => {
      const a = argv as unknown as CipherArgs;
      const key = await readSecret(ctx.io, 'key', a.key);
      const { blockSize } = blockCipher(a.alg);
      let data = a.data;
      if (direction === 'encrypt' && a.pad !== 'none') data = pad(data, a.pad === '1' ? 1 : 2, blockSize);
      if (data.length % blockSize !== 0) {
        throw new UsageError(`--data is ${data.length} bytes, not a multiple of the ${blockSize}-byte block (add --pad 1 or --pad 2)`);
      }
      if (a.mode === 'ecb' && a.iv !== undefined) throw new UsageError('--iv only applies to --mode cbc');
      let out = crypt(a.alg, a.mode, direction, key, data, a.iv);
      if (direction === 'decrypt' && a.pad === '2') out = unpadMethod2(out);
      else if (direction === 'decrypt' && a.pad === '1') throw new UsageError('method 1 padding (zeros) cannot be stripped reliably; decrypt with --pad none');
      const hex = toHex(out);
      emit(ctx.io, a.json, { alg: a.alg, mode: a.mode, [direction === 'encrypt' ? 'ciphertext' : 'plaintext']: hex }, hex);
    },
  };
}
