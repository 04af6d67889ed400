/**
 * Request validation with Fastify's own compiler (its Ajv defaults and formats), in two settings.
 * A query string and path parameters are text, so they are coerced to the declared type (`limit=5`
 * is 5). A JSON body carries its own types and is not: coercion stored a policy's `"min": null` as
 * 0, `true` as 1, and took `"role": ["viewer"]` for `"viewer"` (review 27, F1).
 */
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';

type AjvServerOptions = Parameters<ValidatorFactory>[1];

const fastifyValidators = AjvCompiler();

/** The server's Ajv options with coercion off (JTD mode, which never coerces, is left as it is). */
function withoutCoercion(options: AjvServerOptions): AjvServerOptions {
  if (options?.mode === 'JTD') return options;
  return { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } };
}

/**
 * Fastify's `schemaController.compilersFactory.buildValidator`: the body is compiled without
 * coercion, every other part with the server's `ajv` options.
 */
export const uncoercedBodies: ValidatorFactory = (externalSchemas, options) => {
  const coercing = fastifyValidators(externalSchemas, options);
  const strict = fastifyValidators(externalSchemas, withoutCoercion(options));
  return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
};
