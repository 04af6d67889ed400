/**
 * SQL over the stored record text (JCS) that does not parse it whole: the engine's JSON parser
 * (simdjson) gives up on a record holding an integer of 2^64 or more, which JCS writes in plain
 * digits up to 10^21, so `JSONExtract` on such a record returns nothing.
 *
 * `details` is found by position. The record's keys are sorted: `details` follows `action` and `at`
 * (strings, which cannot hold an unescaped `"`), and is followed by `entity_id` (optional) then
 * `kind`. Every value after `kind` is a string, so the last `,"kind":"` is the top-level one; it
 * follows `}` exactly when there is no `entity_id`, and otherwise the last `,"entity_id":"`
 * (top-level by the same argument) ends `details`. On a record that is not JCS (only a tampered
 * one) the positions mean nothing, and what is built from them does not match.
 */

/** 1-based position of the first character of `details` (its `{`). */
export const DETAILS_START_SQL = `(position(record, ',"details":') + 11)`;

const KIND_AT = `(length(record) + 2 - position(reverse(record), reverse(',"kind":"')) - 9)`;

/** 1-based position of the last character of `details` (its `}`). */
export const DETAILS_END_SQL = `if(substring(record, ${KIND_AT} - 1, 1) = '}', ${KIND_AT} - 1,
  length(record) + 2 - position(reverse(record), reverse(',"entity_id":"')) - 15)`;

/** The canonical text of `details`, exactly as hashed. */
export const DETAILS_TEXT_SQL = `substring(record, ${DETAILS_START_SQL}, ${DETAILS_END_SQL} - ${DETAILS_START_SQL} + 1)`;

/** The record with `details` replaced by `0`: what remains holds only strings, which every parser reads. */
export const RECORD_WITHOUT_DETAILS_SQL = `concat(substring(record, 1, ${DETAILS_START_SQL} - 1), '0', substring(record, ${DETAILS_END_SQL} + 1))`;
