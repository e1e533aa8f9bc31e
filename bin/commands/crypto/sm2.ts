import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { sm2GenerateKeyPair, sm2PublicKey, sm2Sign, sm2Verify } from '../../../crypto/sm2.js';
import type { Ctx } from '../../context.js';
import { EXIT_FAILED, UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { hexOption, messageFrom, messageOptions, outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

interface MessageArgs {
  data?: Uint8Array;
  text?: string;
  file?: string;
  id: string;
  json: boolean;
}

const idOption = { id: { type: 'string', default: '1234567812345678', describe: 'SM2 user ID (ASCII) hashed into Z_A' } } as const;
const algOption = { alg: { choices: ['sm2'] as const, default: 'sm2' as const, describe: 'signature algorithm' } } as const;
const ascii = (s: string) => new TextEncoder().encode(s);

export function signCommand(ctx: Ctx): CommandModule {
  return {
    command: 'sign',
    describe: 'SM2 signature (SM3 with Z_A) over a message; prints r ‖ s',
    builder: (y) =>
      y
        .options({ ...algOption, key: { ...secretOption('32-byte SM2 private key'), demandOption: true }, ...idOption, ...messageOptions, ...outputOptions })
        .example('$0 crypto sign --key file:signer.key --text "message digest"', 'sign with the default user ID'),
    handler: async (argv) => {
      const a = argv as unknown as MessageArgs & { key: string };
      const privateKey = await readSecret(ctx.io, 'key', a.key);
      const signature = toHex(sm2Sign(privateKey, messageFrom(a), { id: ascii(a.id) }));
      emit(ctx.io, a.json, { alg: 'sm2', signature, publicKey: toHex(sm2PublicKey(privateKey)) }, signature);
    },
  };
}

export function verifyCommand(ctx: Ctx): CommandModule {
  return {
    command: 'verify',
    describe: 'verify an SM2 signature (r ‖ s); exit 0 when valid, 1 when not',
    builder: (y) =>
      y
        .options({
          ...algOption,
          'public-key': { ...hexOption('public-key', 'SM2 public key, 04 ‖ x ‖ y or compressed'), demandOption: true },
          signature: { ...hexOption('signature', 'r ‖ s, 64 bytes'), demandOption: true },
          ...idOption,
          ...messageOptions,
          ...outputOptions,
        })
        .example('$0 crypto verify --public-key 04AB… --signature F5A0… --text "message digest"', 'check a signature'),
    handler: (argv) => {
      const a = argv as unknown as MessageArgs & { publicKey: Uint8Array; signature: Uint8Array };
      if (a.signature.length !== 64) throw new UsageError(`--signature must be 64 bytes (r ‖ s), got ${a.signature.length}`);
      const valid = sm2Verify(a.publicKey, messageFrom(a), a.signature, { id: ascii(a.id) });
      emit(ctx.io, a.json, { alg: 'sm2', valid }, valid ? 'signature valid' : 'signature does NOT verify');
      if (!valid) ctx.exitCode = EXIT_FAILED;
    },
  };
}

export function keygenCommand(ctx: Ctx): CommandModule {
  return {
    command: 'keygen',
    describe: 'generate an SM2 key pair: the private key goes to a file (mode 600), the public key is printed',
    builder: (y) =>
      y
        .options({
          ...algOption,
          out: { type: 'string', demandOption: true, describe: 'file for the private key (hex); never printed' },
          force: { type: 'boolean', default: false, describe: 'overwrite an existing file' },
          ...outputOptions,
        })
        .example('$0 crypto keygen --out signer.key', 'then: cardsmith crypto sign --key file:signer.key --text hello'),
    handler: (argv) => {
      const a = argv as unknown as { out: string; force: boolean; json: boolean };
      const pair = sm2GenerateKeyPair();
      try {
        writeFileSync(a.out, toHex(pair.privateKey) + '\n', { mode: 0o600, flag: a.force ? 'w' : 'wx' });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new UsageError(code === 'EEXIST' ? `${a.out} exists; add --force to overwrite it` : `cannot write ${a.out} (${code ?? 'error'})`);
      } finally {
        pair.privateKey.fill(0);
      }
      const publicKey = toHex(pair.publicKey);
      emit(ctx.io, a.json, { alg: 'sm2', publicKey, privateKeyFile: a.out }, `public key ${publicKey}\nprivate key written to ${a.out}`);
    },
  };
}
