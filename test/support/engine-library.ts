import { readdirSync, readFileSync } from 'node:fs';

/** Whether another process maps the engine library now (a parallel test file's engine). */
export function othersMapEngine(): boolean {
  return readdirSync('/proc').some((pid) => {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
    try {
      return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('/libchdb.so');
    } catch {
      return false; // gone meanwhile, or not ours to read
    }
  });
}
