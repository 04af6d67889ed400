/**
 * The one in-process core (SPEC 7): models loaded once per key, their sessions reused by every
 * caller (the shadow scorer, the simulator) until unloaded or the core is closed.
 */
import { InferenceError } from './errors.js';
import { loadModel, loadModelFile, type ModelArtifact, type ModelFileOptions } from './load-model.js';
import type { OnnxModel } from './onnx-model.js';
import type { InferenceOptions } from './options.js';

export class InferenceCore {
  private readonly models = new Map<string, Promise<OnnxModel>>();
  private closed = false;

  constructor(private readonly options: InferenceOptions = {}) {}

  /**
   * The model under `key`, loaded from `artifact` the first time. The key names one artifact
   * (e.g. `model@version` or its SHA-256): a second call with the same key returns the first
   * model and ignores its artifact. A failed load is forgotten, so a later call tries again.
   */
  load(key: string, artifact: ModelArtifact): Promise<OnnxModel> {
    return this.once(key, () => loadModel(artifact, this.options));
  }

  /** As `load`, from `NAME.onnx` and its sidecar. */
  loadFile(
    key: string,
    file: string,
    options: Omit<ModelFileOptions, keyof InferenceOptions> = {},
  ): Promise<OnnxModel> {
    return this.once(key, () => loadModelFile(file, { ...this.options, ...options }));
  }

  /** The loaded (or loading) model under `key`. */
  get(key: string): Promise<OnnxModel> | undefined {
    return this.models.get(key);
  }

  get keys(): string[] {
    return [...this.models.keys()];
  }

  /** Releases the model's session once its batches in flight finish. */
  async unload(key: string): Promise<void> {
    const model = this.models.get(key);
    if (!model) return;
    this.models.delete(key);
    await model.then(
      (m) => m.close(),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.keys.map((key) => this.unload(key)));
  }

  /** A model whose worker thread stopped is loaded again (once, however many callers saw it). */
  private replace(
    key: string,
    stale: Promise<OnnxModel>,
    load: () => Promise<OnnxModel>,
  ): Promise<OnnxModel> {
    if (this.models.get(key) === stale) {
      this.models.delete(key);
      void stale.then((m) => m.close()).catch(() => undefined);
    }
    return this.once(key, load);
  }

  private once(key: string, load: () => Promise<OnnxModel>): Promise<OnnxModel> {
    if (this.closed)
      return Promise.reject(new InferenceError('MODEL_CLOSED', 'the inference core is closed'));
    const known = this.models.get(key);
    if (known) return known.then((model) => (model.workerFailed ? this.replace(key, known, load) : model));
    const loading = load();
    this.models.set(key, loading);
    void loading.catch(() => {
      if (this.models.get(key) === loading) this.models.delete(key);
    });
    return loading;
  }
}
