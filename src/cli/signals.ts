/** Resolves at the first Ctrl-C or SIGTERM, so a long-running command can close what it started and exit. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
