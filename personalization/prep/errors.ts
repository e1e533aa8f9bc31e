// Problems data preparation reports. Inputs (profile, batch) carry file:line:column from the
// layers that read them; these errors are about what prep itself cannot do. Never a secret inside.
import { CardsmithError } from '../../errors/index.js';

/** Prep cannot go on: 'input' for bad inputs (exit 2), 'operation' for an operation that failed (exit 1). */
export class PrepError extends CardsmithError {
  override readonly name = 'PrepError';
  constructor(
    message: string,
    readonly kind: 'input' | 'operation' = 'input',
  ) {
    super(message);
  }
}

/**
 * A failure to write `file` said plainly (exit 1): a full disk is the common one, and Node's own
 * message names neither the file nor what to do. Anything that is not a file-system error is
 * returned as it is.
 */
export function writeError(e: unknown, file: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new PrepError(`disk full while writing ${file}; nothing was prepared (free space, or choose another --out, and run prep again)`, 'operation');
  if (code === 'EIO' || code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'EFBIG') return new PrepError(`cannot write ${file} (${code}); nothing was prepared`, 'operation');
  return e;
}
