import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { BLOCK_ALGS, blockCipher, type BlockAlg } from '../../../crypto/block.js';
import { cmac } from '../../../crypto/cmac.js';
import { mac9797 } from '../../../crypto/mac.js';
import { pbocMac } from '../../../crypto/pboc-mac.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { hexOption, messageFrom, messageOptions, outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

const MAC_METHODS = ['9797-1', '9797-3', 'cmac', 'pboc'] as const;
type MacMethod = (typeof MAC_METHODS)[number];

interface MacArgs {
  method: MacMethod;
  alg: BlockAlg;
  key: string;
  padding: 1 | 2;
  iv?: Uint8Array;
  length?: number;
  data?: Uint8Array;
  text?: string;
  file?: string;
  json: boolean;
}

function computeMac(a: MacArgs, key: Uint8Array, message: Uint8Array): Uint8Array {
  switch (a.method) {
    case '9797-1':
      return mac9797({ alg: a.alg, algorithm: 1, padding: a.padding, key, data: message, iv: a.iv });
    case '9797-3':
      if (a.alg !== 'des' && a.alg !== 'des3') throw new UsageError('--method 9797-3 (retail MAC) is defined here for --alg des or des3 with a 16-byte key');
      return mac9797({ alg: a.alg, algorithm: 3, padding: a.padding, key, data: message, iv: a.iv });
    case 'cmac':
      if (a.iv !== undefined) throw new UsageError('--iv does not apply to CMAC');
      return cmac(a.alg, key, message);
    case 'pboc': {
      if (a.alg === 'aes') throw new UsageError('--method pboc takes --alg des, des3 or sm4');
      if (a.iv === undefined) throw new UsageError('--method pboc needs --iv (the card challenge, padded with zeros to a block)');
      return pbocMac({ alg: a.alg, key, iv: a.iv, data: message });
    }
  }
}

export function macCommand(ctx: Ctx): CommandModule {
  return {
    command: 'mac',
    describe: 'MAC over a message: ISO 9797-1 algorithm 1 or 3 (padding 1 or 2), CMAC, or the PBOC 4-byte MAC',
    builder: (y) =>
      y
        .options({
          method: { choices: MAC_METHODS, demandOption: true, describe: 'MAC algorithm' },
          alg: { choices: BLOCK_ALGS, demandOption: true, describe: 'block cipher underneath' },
          key: { ...secretOption('the MAC key'), demandOption: true },
          padding: { choices: [1, 2] as const, default: 2 as const, describe: 'ISO 9797-1 padding method (9797-1, 9797-3)' },
          iv: hexOption('iv', 'initial vector; zeros when omitted (pboc: the card challenge ‖ zeros)'),
          length: { type: 'number', describe: 'truncate the MAC to this many bytes (default: a block; pboc: 4)' },
          ...messageOptions,
          ...outputOptions,
        })
        .example('$0 crypto mac --method 9797-3 --alg des --key env:SMAC --data 8482000010AABBCCDDEEFF0011', 'a retail MAC, as SCP02 computes it')
        .example('$0 crypto mac --method cmac --alg aes --key file:mac.hex --data 00112233 --length 8', 'an 8-byte AES-CMAC')
        .example('$0 crypto mac --method pboc --alg sm4 --key env:K --iv 1122334400000000000000000000000 --data 04D6820004112233', 'PBOC line-protection MAC with SM4'),
    handler: async (argv) => {
      const a = argv as unknown as MacArgs;
      const key = await readSecret(ctx.io, 'key', a.key);
      const message = messageFrom(a);
      const full = computeMac(a, key, message);
      const length = a.length ?? full.length;
      if (!Number.isInteger(length) || length < 1 || length > full.length) {
        throw new UsageError(`--length must be between 1 and ${full.length}`);
      }
      const hex = toHex(full.subarray(0, length));
      emit(ctx.io, a.json, { method: a.method, alg: a.alg, blockSize: blockCipher(a.alg).blockSize, mac: hex }, hex);
    },
  };
}
