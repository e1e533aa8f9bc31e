// Problems data preparation reports. Inputs (profile, batch) carry file:line:column from the
// layers that read them; these errors are about what prep itself cannot do. Never a secret inside.

/** Prep cannot go on: exit code 2 for bad inputs, 1 for an operation that failed. */
export class PrepError extends Error {
  override readonly name = 'PrepError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
  }
}
