/** How `main` prints a command's failure (README, "CLI": errors are one clear line on stderr). */
import { errorMessage } from '../platform/errors.js';

/** Longest line printed; the rest is left to MODELWATCH_DEBUG. */
const MAX_LINE = 1_000;

/**
 * `text` on one line: every run of whitespace holding a line break becomes one space. A message
 * from a dependency may span lines (a ClickHouse server's embeds the query and its stack trace).
 */
export function oneLine(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (MODELWATCH_DEBUG=1 prints all of it)` : line;
}

/**
 * What goes to stderr for `err`: `modelwatch: <one line>`; with `debug` (MODELWATCH_DEBUG set),
 * then the whole message with its stack, and each cause's.
 */
export function failureText(err: unknown, debug: boolean): string {
  const line = `modelwatch: ${oneLine(errorMessage(err))}\n`;
  if (!debug) return line;
  const parts = [line];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const full = current instanceof Error ? (current.stack ?? current.message) : errorMessage(current);
    parts.push(`${depth === 0 ? '' : 'caused by: '}${full}\n`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('');
}
