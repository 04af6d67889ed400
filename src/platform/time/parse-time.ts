/**
 * Strict ISO-8601 parsing for every time the API and the CLI accept. `Date.parse` rolls
 * impossible dates over (`2026-02-30` becomes 2 March, `T24:00` the next day), so each field is
 * range-checked here before the instant is computed.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$/i;

const MINUTE = 60_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Epoch milliseconds of an ISO-8601 date (`2026-05-04`) or date-time (`2026-05-04T10:00`,
 * seconds and fractions optional, `T` or a space, `Z` or `±hh:mm` / `±hhmm` / `±hh`); a time
 * without an offset is UTC. Undefined when the text is not such a time or names a day, hour or
 * offset that does not exist. Fractions beyond milliseconds are truncated.
 */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  // A zone on a bare date (`2026-05-04Z`) is not ISO-8601.
  if (h === undefined && zone !== undefined) return undefined;
  let offset = 0;
  if (sign !== undefined) {
    const zoneHours = Number(oh);
    const zoneMinutes = Number(om ?? 0);
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offset = (sign === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * MINUTE;
  }
  const ms = Number((frac ?? '').padEnd(3, '0').slice(0, 3));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps them as given.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  return date.getTime() - offset;
}
