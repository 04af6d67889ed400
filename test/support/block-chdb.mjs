// Loaded with `node --import`: every import or require of chdb fails as it does where chdb's
// platform package is missing (e.g. linux arm64 without it), so a test can prove a command
// starts without the embedded engine.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'chdb' || specifier.startsWith('chdb/')) {
      const err = new Error(
        `Cannot find package '${specifier}' (blocked: chdb's platform package is missing)`,
      );
      err.code = 'ERR_MODULE_NOT_FOUND';
      throw err;
    }
    return nextResolve(specifier, context);
  },
});
