/**
 * Headless Chromium from the command line (Debian's `chromium`; .ci/run installs it): the DOM after
 * the page's scripts ran, every console message, and screenshots. No puppeteer: the CLI's
 * `--dump-dom`, `--screenshot` and `--enable-logging=stderr` are enough.
 */
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = 'chromium';

export function hasChromium(): boolean {
  return spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface ChromiumRun {
  stdout: string;
  /**
   * Console messages of the page, as `"text", source: url (line)` (every level, uncaught errors and
   * blocked requests included: Chromium logs them all as INFO:CONSOLE).
   */
  console: string[];
  stderr: string;
}

function run(args: string[], timeoutMs: number): Promise<ChromiumRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CHROMIUM,
      [
        '--headless=new',
        // Tests run as root in containers, where the sandbox cannot start.
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--enable-logging=stderr',
        '--v=0',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`chromium exited ${code}: ${stderr.slice(-2_000)}`));
      const consoleLines = stderr
        .split('\n')
        .filter((l) => l.includes(':CONSOLE'))
        .map((l) => l.replace(/^\[[^\]]*\]\s*/, ''));
      resolve({ stdout, stderr, console: consoleLines });
    });
  });
}

/** The page's DOM after load (scripts run), and its console messages. */
export function dumpDom(file: string, timeoutMs = 60_000): Promise<ChromiumRun> {
  return run(['--virtual-time-budget=5000', '--dump-dom', pathToFileURL(file).href], timeoutMs);
}

/** A PNG of the page at the given window size. */
export function screenshot(
  file: string,
  png: string,
  size: { width: number; height: number },
  timeoutMs = 60_000,
): Promise<ChromiumRun> {
  return run(
    [
      '--hide-scrollbars',
      `--window-size=${size.width},${size.height}`,
      '--virtual-time-budget=5000',
      `--screenshot=${png}`,
      pathToFileURL(file).href,
    ],
    timeoutMs,
  );
}
