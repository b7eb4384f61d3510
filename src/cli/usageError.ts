/** Bad input on the command line: the message names the option or field; the exit code is 2 and nothing is written. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
