import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when `command args…` runs and exits 0 within the timeout. */
export async function commandWorks(command: string, args: string[], timeoutMs = 15_000): Promise<boolean> {
  try {
    await run(command, args, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
) {
  return run(command, args, {
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A new cluster id as Kafka's `StorageTool random-uuid` makes it (`Uuid.randomUuid`: a random
 * UUID in URL-safe base64 without padding, drawn again while it starts with '-'), without a JVM
 * start for it (~1.5 CPU s at every first start of a broker).
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
