/** A password in a connection string, also in one too malformed to parse as a URL: user:password@ */
const PASSWORD = /([^\s:/@]+):([^\s@/]*)@/g;

/** `text` with the password of any connection string in it replaced by ***: for messages. */
export function hidePassword(text: string): string {
  return text.replace(PASSWORD, '$1:***@');
}

/** postgres://user@host:port/db — a database URL for messages: no password, no parameters. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.search = '';
    return hidePassword(u.toString());
  } catch {
    return hidePassword(url);
  }
}

/**
 * A PostgreSQL connection URL: postgres:// or postgresql:// with a host, or with the host as a parameter (a Unix
 * socket directory: postgres://user@/db?host=/run/postgresql, which the URL parser does not take but pg does).
 */
export function isPostgresUrl(value: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(value)) return false;
  if (/[?&]host=/.test(value)) return true;
  try {
    return new URL(value).hostname !== '';
  } catch {
    return false;
  }
}
