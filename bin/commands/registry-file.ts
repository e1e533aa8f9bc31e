// Where the bureau's issuance registry is: --registry FILE, else CARDSMITH_REGISTRY, else
// issuance-registry.sqlite beside a file key store. prep, run, demo, verify and rework share it.
import { dirname, join, resolve } from 'node:path';
import type { Options } from 'yargs';
import { IssuanceRegistry } from '../../personalization/registry/index.js';
import { UsageError } from '../errors.js';

export const REGISTRY_FILE = 'issuance-registry.sqlite';

export const registryOptions = {
  registry: {
    type: 'string',
    requiresArg: true,
    describe: `the bureau's issuance registry (SQLite, created if missing; else CARDSMITH_REGISTRY, else ${REGISTRY_FILE} beside a file key store)`,
  },
} satisfies Record<string, Options>;

export interface RegistryArgs {
  registry?: string;
  keystore?: string;
}

/** The registry path for these arguments; a PKCS#11 key store has no folder to put it beside. */
export function registryPath(a: RegistryArgs): string {
  const given = a.registry ?? process.env['CARDSMITH_REGISTRY'];
  if (given !== undefined && given !== '') return given;
  if (a.keystore === undefined || a.keystore.startsWith('pkcs11:')) {
    throw new UsageError(`the issuance registry: give --registry FILE or set CARDSMITH_REGISTRY (a PKCS#11 key store has no folder to keep ${REGISTRY_FILE} beside)`);
  }
  return join(dirname(resolve(a.keystore)), REGISTRY_FILE);
}

export function openRegistry(a: RegistryArgs): IssuanceRegistry {
  return IssuanceRegistry.open(registryPath(a));
}
