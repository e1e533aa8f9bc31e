import type { CommandModule } from 'yargs';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { createStore, storeOptions, type StoreArgs } from './common.js';

export function initCommand(ctx: Ctx): CommandModule {
  return {
    command: 'init',
    describe: 'create an empty key store (file, or a cardsmith index in a PKCS#11 token) and its audit log',
    builder: (y) =>
      y
        .options({ ...storeOptions, 'audit-hash': { choices: ['sha256', 'sm3'] as const, default: 'sha256' as const, describe: 'hash that chains the audit log' } })
        .example('CARDSMITH_KEYSTORE_PASS=… $0 keys init --keystore issuer.keys', 'a file store (passphrase from the environment)')
        .example('$0 keys init --keystore issuer.keys --pass-file /run/secrets/keystore-pass --audit-hash sm3', 'passphrase from a file, SM3 audit chain')
        .example('$0 keys init --keystore pkcs11:token=cardsmith --pin-file pin.txt --audit-log hsm.audit', 'in a PKCS#11 token'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { auditHash: 'sha256' | 'sm3' };
      const store = await createStore(ctx.io, a);
      const path = store.auditPath;
      await store.close();
      emit(ctx.io, a.json, { keystore: a.keystore, backend: store.backend, auditLog: path, auditHash: a.auditHash }, `created ${a.keystore} (${store.backend}); audit log ${path}`);
    },
  };
}
