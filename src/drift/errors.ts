/** Errors of the drift capability, classified by code (never by message). */
export type DriftErrorCode = 'UNKNOWN_MODEL' | 'UNKNOWN_VERSION' | 'NO_REFERENCE' | 'BAD_INPUT';

export class DriftError extends Error {
  constructor(
    readonly code: DriftErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DriftError';
  }

  get status(): 400 | 404 | 409 {
    switch (this.code) {
      case 'UNKNOWN_MODEL':
      case 'UNKNOWN_VERSION':
        return 404;
      case 'NO_REFERENCE':
        return 409;
      case 'BAD_INPUT':
        return 400;
    }
  }
}
