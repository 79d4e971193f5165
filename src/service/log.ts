// Service log lines on stderr: time, level, text. Callers never pass tokens or secrets into messages.
import type { ServiceConfig } from './config.js';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One message is one line: control characters (a newline in a value a request carried) are written escaped. */
export function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function createLogger(level: ServiceConfig['logLevel'], write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const limit = level === 'silent' ? -1 : LEVELS.indexOf(level);
  const at = (name: (typeof LEVELS)[number]) => (message: string) => {
    if (LEVELS.indexOf(name) <= limit) write(`${new Date().toISOString()} ${name.padEnd(5)} ${oneLine(message)}`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
