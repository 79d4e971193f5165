// Service log lines on stderr: time, level, text. Callers never pass tokens or secrets into messages.
import type { ServiceConfig } from './config.js';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export function createLogger(level: ServiceConfig['logLevel'], write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const limit = level === 'silent' ? -1 : LEVELS.indexOf(level);
  const at = (name: (typeof LEVELS)[number]) => (message: string) => {
    if (LEVELS.indexOf(name) <= limit) write(`${new Date().toISOString()} ${name.padEnd(5)} ${message}`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
