import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { StatusLine } from './status-line.js';

export type { Logger };

export interface LoggerOptions {
  /** @default 'modelwatch' */
  name?: string;
  /**
   * `json`: one JSON object a line (what log collectors read); `pretty`: coloured, readable lines
   * (pino-pretty). @default 'json'
   */
  format?: 'json' | 'pretty';
  /** Pretty logs are written above this progress line (see StatusLine). @default none */
  status?: StatusLine;
}

/** Structured logs to stderr, so stdout stays free for command output (bootstrap address, reports). */
export function createLogger(level: string, options: string | LoggerOptions = {}): Logger {
  const {
    name = 'modelwatch',
    format = 'json',
    status,
  } = typeof options === 'string' ? { name: options } : options;
  if (format === 'json') return pino({ name, level, base: undefined }, pino.destination(2));
  const out = status ?? new StatusLine();
  const stream = pretty({
    sync: true,
    colorize: out.isTTY,
    ignore: 'name,logger,timestamp',
    singleLine: true,
    translateTime: 'HH:MM:ss',
    destination: new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        out.above(chunk.toString());
        callback();
      },
    }),
  });
  return pino({ name, level, base: undefined }, stream);
}

/** `json` or `pretty` from the configuration, else readable on a terminal and JSON elsewhere. */
export function logFormat(configured: 'json' | 'pretty' | undefined, isTTY: boolean): 'json' | 'pretty' {
  return configured ?? (isTTY ? 'pretty' : 'json');
}
