/** postgres://user@host:port/db — a database URL for messages: no password, no parameters. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return 'the PostgreSQL database';
  }
}
