/** Typed errors of the simulator, classified by `code` (never by message text). */
export type SimulatorErrorCode = 'API_REFUSED' | 'API_FAILED' | 'DATA_INVALID' | 'TIMED_OUT';

export class SimulatorError extends Error {
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}
