/**
 * The partition a trigger's key lands on: kafkajs' default partitioner (murmur2 of the key,
 * positive, modulo the partition count, as the Java client), so a consumer reading by key and a
 * producer that lets the client pick agree with the partition we name explicitly.
 */
import { Partitioners, type PartitionMetadata } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();

export function partitionOf(topic: string, key: string, partitions: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}
