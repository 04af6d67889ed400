export interface LocalBroker {
  brokers: string[];
  kind: 'maven' | 'docker';
  /** The broker's process id, when it runs as a local process. */
  pid?: number | undefined;
  stop(): Promise<void>;
}
