/**
 * The longest model id, model version and prediction id the collectors accept (SPEC 3.2), in
 * UTF-16 code units as zod and JSON Schema count them. Every route that takes one as a path
 * parameter or query accepts as long a one, or some ingested model could never be queried.
 */
export const MAX_EVENT_ID_LENGTH = 512;
