/** An error the user can act on: its message says what is wrong and what to do; no stack trace is shown. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}
