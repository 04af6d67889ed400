export interface LocalBroker {
  brokers: string[];
  kind: 'maven' | 'docker';
  /** The broker's process id, when it runs as a local process. */
  pid?: number | undefined;
  stop(): Promise<void>;
}

/** A local multi-node cluster whose nodes can be stopped and started one at a time. */
export interface LocalCluster extends LocalBroker {
  nodes: { id: number; bootstrap: string }[];
  pidOf(id: number): number | undefined;
  /** Stops one node (SIGKILL by default: a crash) and waits for it to exit. */
  kill(id: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again on its ports and data, and waits until it answers. */
  start(id: number): Promise<void>;
}
