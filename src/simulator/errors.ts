/**
 * Typed errors of the simulator, classified by `code` (never by message text). No `retryable`:
 * nothing in the simulator retries a call, and the one a retry could help is `API_FAILED` (a 5xx).
 */
export type SimulatorErrorCode = 'API_REFUSED' | 'API_FAILED' | 'DATA_INVALID' | 'TIMED_OUT';

export class SimulatorError extends Error {
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}
