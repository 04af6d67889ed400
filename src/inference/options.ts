/** How the core creates sessions and what it accepts. */
export interface InferenceOptions {
  /**
   * Threads one session uses inside an operator. The core is called from a service that already
   * keeps both cores of a small machine busy, so it does not spread out by itself.
   * @default 1
   */
  intraOpThreads?: number;
  /**
   * The largest artifact accepted, in bytes: an upload beyond it is `ARTIFACT_TOO_LARGE`.
   * @default 67108864 (64 MiB)
   */
  maxArtifactBytes?: number;
}

export interface ResolvedInferenceOptions {
  readonly intraOpThreads: number;
  readonly maxArtifactBytes: number;
}

export function resolveOptions(options: InferenceOptions = {}): ResolvedInferenceOptions {
  return {
    intraOpThreads: options.intraOpThreads ?? 1,
    maxArtifactBytes: options.maxArtifactBytes ?? 64 * 1024 * 1024,
  };
}
