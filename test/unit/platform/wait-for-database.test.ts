import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isNetworkError, unavailableMessage } from '../../../src/platform/clickhouse/errors.js';
import { openDatabase, waitForDatabase } from '../../../src/platform/clickhouse/index.js';
import { errorMessage } from '../../../src/platform/errors.js';

/** A stand-in for a ClickHouse server on a free loopback port; its URL. */
async function fakeServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://u:secret@127.0.0.1:${(server.address() as AddressInfo).port}/modelwatch`;
}

/** What waitForDatabase throws for the server at `url`. */
async function failure(url: string): Promise<string> {
  const db = await openDatabase({ url, cluster: undefined, database: 'modelwatch', dataDir: '/nonexistent' });
  try {
    return await waitForDatabase(db).then(
      () => 'no error',
      (err: unknown) => errorMessage(err),
    );
  } finally {
    await db.close();
  }
}

/** A ClickHouse server's error answer, its text spread over lines as a server sends it. */
function refuse(code: number, type: string, text: string) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    const body = `Code: ${code}. DB::Exception: ${text}\nStack trace:\n0. DB::Exception::Exception(...)\n1. foo\n (${type}) (version 24.8.1)\n`;
    res.writeHead(500, { 'X-ClickHouse-Exception-Code': String(code) }).end(body);
  };
}

describe('waitForDatabase says what went wrong, in one line', () => {
  it('"is unreachable" when nothing listens', async () => {
    const message = await failure('http://u:secret@127.0.0.1:1/modelwatch');
    expect(message).toMatch(
      /^ClickHouse server http:\/\/u:\*\*\*@127\.0\.0\.1:1\/modelwatch is unreachable: .*ECONNREFUSED/,
    );
  });

  it('quotes the first line of a server that answered with an error, not "is unreachable"', async () => {
    const url = await fakeServer(
      refuse(
        497,
        'ACCESS_DENIED',
        "default: Not enough privileges. To execute this query, it's necessary to have the grant CREATE DATABASE.",
      ),
    );
    const message = await failure(url);
    expect(message).toMatch(/^ClickHouse server http:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/modelwatch answered: /);
    expect(message).toContain('Not enough privileges');
    expect(message).not.toContain('unreachable');
    expect(message).not.toContain('\n');
    expect(message).not.toContain('secret');
  });

  it('says a server refused the connection when it refused the login', async () => {
    const url = await fakeServer(
      refuse(
        516,
        'AUTHENTICATION_FAILED',
        'u: Authentication failed: password is incorrect, or there is no user with such name.',
      ),
    );
    const message = await failure(url);
    expect(message).toMatch(/^ClickHouse server \S+ refused the connection: .*Authentication failed/);
    expect(message).not.toContain('\n');
  });

  it('quotes another program on the port (an HTTP error page) as an answer', async () => {
    const url = await fakeServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html>\n<body>Not Found</body>\n</html>\n'),
    );
    const message = await failure(url);
    expect(message).toMatch(/^ClickHouse server \S+ answered: /);
    expect(message).not.toContain('\n');
  });
});

describe('network errors', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

  it('are refusals, unknown hosts, timeouts and resets, found through causes and every address tried', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'])
      expect(isNetworkError(withCode(`connect ${code} 10.0.0.1:8123`, code)), code).toBe(true);
    expect(isNetworkError(new Error('Timeout error.'))).toBe(true);
    expect(
      isNetworkError(new TypeError('fetch failed', { cause: withCode('getaddrinfo', 'ENOTFOUND') })),
    ).toBe(true);
    expect(isNetworkError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe(
      true,
    );
    const everyAddress = new AggregateError([
      withCode('connect ECONNREFUSED ::1:8123', 'ECONNREFUSED'),
      withCode('connect ECONNREFUSED 127.0.0.1:8123', 'ECONNREFUSED'),
    ]);
    expect(isNetworkError(everyAddress)).toBe(true);
  });

  it('are not a server that answered', () => {
    const answered = new ClickHouseError({
      message: 'default: Not enough privileges',
      code: '497',
      type: 'ACCESS_DENIED',
    });
    expect(isNetworkError(answered)).toBe(false);
    expect(isNetworkError(new Error('Unknown database'))).toBe(false);
    expect(unavailableMessage('ClickHouse server X', answered)).toBe(
      'ClickHouse server X answered: default: Not enough privileges',
    );
  });

  it('name the code when the message is empty (every address refused)', () => {
    const everyAddress = Object.assign(new AggregateError([withCode('', 'ECONNREFUSED')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(unavailableMessage('ClickHouse server X', everyAddress)).toBe(
      'ClickHouse server X is unreachable: ECONNREFUSED',
    );
  });

  it('on the embedded engine, say it failed', () => {
    expect(
      unavailableMessage('embedded ClickHouse at /d', new Error('Cannot lock file\nsecond line'), true),
    ).toBe('embedded ClickHouse at /d failed: Cannot lock file');
  });
});
