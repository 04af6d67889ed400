import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logs to stderr, so stdout stays free for command output (bootstrap address, reports). */
export function createLogger(level: string, name = 'modelwatch'): Logger {
  return pino({ name, level, base: undefined }, pino.destination(2));
}
