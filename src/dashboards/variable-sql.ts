/**
 * Grafana template variables inside ClickHouse SQL. Grafana's `:sqlstring` and `:singlequote`
 * escape quotes but leave `\`, which ClickHouse reads as an escape inside '…': a model id holding
 * a backslash matched nothing or broke the query, and a crafted value (`x\' OR 1=1 --`, through a
 * dashboard URL) rewrote it. `:percentencode` leaves only `A-Z a-z 0-9 % - . _ ~` in the literal,
 * so no value can end it, and ClickHouse decodes it back.
 */

const decoded = (variable: string) => `decodeURLComponent('\${${variable}:percentencode}')`;

/** A single-valued variable's value as a ClickHouse String. */
export function variableValue(variable: string): string {
  return decoded(variable);
}

/**
 * A multi-valued variable's values as a ClickHouse Array(String). Grafana encodes them joined as
 * `{a,b}` (a lone value may come without braces), so a value holding a comma reads as two values.
 */
export function variableValues(variable: string): string {
  return `splitByChar(',', replaceRegexpOne(${decoded(variable)}, '(?s)^[{](.*)[}]$', '\\\\1'))`;
}
