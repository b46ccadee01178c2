/**
 * `gatehouse approve` right after a review completes: the gateway answers 503 APPROVALS_NOT_OPENED_YET while the
 * approvals service has not opened the request (nothing written). The CLI asks again with the same Idempotency-Key,
 * and does not wait out any other answer. The gateway here is a stand-in that answers with the real error bodies;
 * against the real one: apps/cli/src/lifecycle.int.spec.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXIT_NOT_FOUND, EXIT_OK, EXIT_UNAVAILABLE, run, type CliIo } from '../index.js';

const CHANGE = '16922737-d13a-5df5-a84b-0f177f7db381';
const NOT_OPENED = {
  error: 'ServiceUnavailable',
  message: `the approvals service is catching up on the log: change ${CHANGE} awaits approval, but its approval request was not opened within 3000 ms …; retry`,
  details: { code: 'APPROVALS_NOT_OPENED_YET', approvalId: CHANGE, waitedMs: 3000 },
};

describe('gatehouse approve while the approval request is being opened', () => {
  let server: Server;
  let url: string;
  let answers: Array<{ status: number; body: unknown }>;
  let requests: IncomingMessage[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request);
      const { status, body } = answers.shift() ?? { status: 500, body: { error: 'unexpected request' } };
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests = [];
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  async function approve() {
    let stdout = '';
    let stderr = '';
    const slept: number[] = [];
    const io: CliIo = {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: { GATEHOUSE_URL: url, GATEHOUSE_TOKEN: 'token' },
      cwd: process.cwd(),
      now: () => new Date(),
      sleep: async (ms) => void slept.push(ms),
    };
    const code = await run(['approve', CHANGE, '--role', 'code_reviewer'], io);
    return { code, stdout, stderr, slept };
  }

  it('asks again with the same Idempotency-Key until the request is open, then prints the approval', async () => {
    answers = [
      { status: 503, body: NOT_OPENED },
      { status: 503, body: NOT_OPENED },
      { status: 200, body: { result: { status: 'pending', events: ['ApprovalGranted'], outstanding: [] } } },
    ];
    const { code, stdout, slept } = await approve();
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(new RegExp(`^approved ${CHANGE} as code_reviewer`));
    expect(slept).toHaveLength(2);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill(`POST /api/change-requests/${CHANGE}/approvals`));
    const keys = new Set(requests.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not wait out a change that does not exist, or a gateway that cannot reach the service', async () => {
    answers = [{ status: 404, body: { error: 'NotFoundError', message: `changeRequest ${CHANGE} does not exist; create it first` } }];
    const missing = await approve();
    expect(missing).toMatchObject({ code: EXIT_NOT_FOUND, slept: [] });
    expect(requests).toHaveLength(1);

    requests = [];
    answers = [{ status: 503, body: { error: 'ServiceUnavailable', message: 'the approvals service is not running', details: { code: 'NO_RESPONDER' } } }];
    const down = await approve();
    expect(down).toMatchObject({ code: EXIT_UNAVAILABLE, slept: [], stderr: expect.stringContaining('the approvals service is not running') });
    expect(requests).toHaveLength(1);
  });
});
