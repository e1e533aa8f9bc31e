import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { diversify, emvOptionAData, type DiversifyMethod, type KeyType } from '../../../crypto/diversify.js';
import { kcv, type KcvAlg } from '../../../crypto/kcv.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { hexOption, outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

const METHODS: readonly DiversifyMethod[] = ['emv', 'visa2', 'kdf3', 'cps11', 'pboc', 'emv-option-a'];
const KEY_TYPES: readonly KeyType[] = ['enc', 'mac', 'dek'];
/** Methods that derive a key set (one key per type) from the INITIALIZE UPDATE diversification data. */
const KEY_SET_METHODS = new Set<DiversifyMethod>(['emv', 'visa2', 'kdf3', 'cps11']);

interface DeriveArgs {
  method: DiversifyMethod;
  master: string;
  data?: Uint8Array;
  pan?: string;
  psn?: string;
  keyType?: KeyType;
  alg?: 'des3' | 'sm4' | 'aes';
  json: boolean;
}

function resultAlg(a: DeriveArgs): KcvAlg {
  if (a.method === 'kdf3') return 'aes';
  if (a.method === 'pboc' && a.alg === 'sm4') return 'sm4';
  return 'des3';
}

function diversificationData(a: DeriveArgs): Uint8Array {
  if (a.method === 'emv-option-a' && a.pan !== undefined) {
    if (a.data !== undefined) throw new UsageError('give either --data or --pan/--psn, not both');
    return emvOptionAData(a.pan, a.psn ?? '00');
  }
  if (a.data === undefined) throw new UsageError(`--data is required for --method ${a.method}`);
  return a.data;
}

export function deriveCommand(ctx: Ctx): CommandModule {
  return {
    command: 'derive',
    describe: 'derive a card key from a master key (GP emv/visa2/kdf3, CPS 1.1 KMC, PBOC levels, EMV Option A)',
    builder: (y) =>
      y
        .options({
          method: { choices: METHODS, demandOption: true, describe: 'diversification method' },
          master: { ...secretOption('master key'), demandOption: true },
          data: hexOption('data', 'diversification data: 10 bytes KDD (emv, visa2, kdf3, cps11), 8/16/24 bytes (pboc, one block per level), 8 bytes A block (emv-option-a)'),
          pan: { type: 'string', describe: 'emv-option-a: the PAN digits (instead of --data)' },
          psn: { type: 'string', describe: 'emv-option-a: the PAN sequence number, 2 digits', default: undefined },
          'key-type': { choices: KEY_TYPES, describe: 'which key of the set (emv, visa2, kdf3, cps11); all three when omitted' },
          alg: { choices: ['des3', 'sm4', 'aes'] as const, describe: 'pboc: des3 (default) or sm4' },
          ...outputOptions,
        })
        .example('$0 crypto derive --method emv --master env:KMC --data 0000AABBCCDDEEFF0011 --key-type enc', 'the card ENC key for that KDD')
        .example('$0 crypto derive --method pboc --alg sm4 --master file:mk.hex --data 3201000073780000', 'one PBOC level with SM4')
        .example('$0 crypto derive --method emv-option-a --master env:IMK --pan 12345678901234567 --psn 01 --json', 'ICC master key, as JSON'),
    handler: async (argv) => {
      const a = argv as unknown as DeriveArgs;
      const master = await readSecret(ctx.io, 'master', a.master);
      const data = diversificationData(a);
      const alg = resultAlg(a);
      const derive = (keyType?: KeyType) => {
        const key = diversify({ method: a.method, master, data, keyType, alg: a.alg });
        return { key: toHex(key), kcv: toHex(kcv(alg, key)) };
      };
      if (KEY_SET_METHODS.has(a.method) && a.keyType === undefined) {
        const keys = Object.fromEntries(KEY_TYPES.map((t) => [t, derive(t)]));
        const text = KEY_TYPES.map((t) => `${t}  ${keys[t]!.key}  KCV ${keys[t]!.kcv}`).join('\n');
        emit(ctx.io, a.json, { method: a.method, keys }, text);
        return;
      }
      const one = derive(a.keyType);
      emit(ctx.io, a.json, { method: a.method, ...(a.keyType ? { keyType: a.keyType } : {}), ...one }, `${one.key}  KCV ${one.kcv}`);
    },
  };
}
