import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { InferenceCore } from './inference-core.js';

export interface InferenceCapability extends Capability {
  /** The one in-process core: every caller (shadow scoring, the simulator) shares its sessions. */
  core: InferenceCore;
}

/** The embedded inference core (SPEC 7): ONNX sessions held for the service, closed at stop. */
export const inference: CapabilityDefinition<InferenceCapability> = {
  name: 'inference',
  benches: {
    inference: {
      summary:
        'the inference core alone: rows/s for a 10-feature logistic model (objects, row- and column-major matrices)',
      load: async () => (await import('./bench.js')).inferenceBench,
    },
  },
  create() {
    const core = new InferenceCore();
    return { core, stop: () => core.close() };
  },
};
