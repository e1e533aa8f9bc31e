// What the profile commands share: where a profile is (a path or builtin:NAME) and how a
// profile that does not load becomes one line and exit code 2.
import { existsSync } from 'node:fs';
import type { Options } from 'yargs';
import { BUILTIN_PROFILES, builtinDir, resolveProfilePath } from '../../../profiles/index.js';
import { UsageError } from '../../errors.js';

export const profileArg = {
  describe: `the profile: a YAML file, or builtin:NAME (${BUILTIN_PROFILES.join(', ')})`,
  type: 'string',
} satisfies Options;

/** The file to read and the name to show in messages. */
export function profilePath(arg: string): { path: string; display: string } {
  if (arg.startsWith('builtin:')) {
    const name = arg.slice('builtin:'.length);
    const path = resolveProfilePath(arg, undefined);
    if (!existsSync(path)) throw new UsageError(`no built-in profile '${name}' (built-in: ${BUILTIN_PROFILES.join(', ')}; folder ${builtinDir()})`);
    return { path, display: path };
  }
  return { path: arg, display: arg };
}
