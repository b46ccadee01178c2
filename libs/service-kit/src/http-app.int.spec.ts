import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpStatus } from '@nestjs/common';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { createHttpApp, createMetricsRegistry, HealthModule, loggingModule, MetricsModule } from './index.js';

class ProbeDto extends createZodDto(z.strictObject({ environment: z.enum(['staging', 'production']), count: z.number().int().positive() })) {}

class StreamConflict extends Error {
  override name = 'WrongExpectedVersionError';
  constructor(readonly streamId: string) {
    super(`Stream '${streamId}': expected version 1, actual 2`);
  }
}

@Controller('probe')
class ProbeController {
  @Post()
  accept(@Body() body: ProbeDto): { accepted: ProbeDto } {
    return { accepted: body };
  }
  @Get('conflict')
  conflict(): never {
    throw new StreamConflict('release-1');
  }
  @Get('crash')
  crash(): never {
    throw new TypeError('secret internal detail');
  }
}

let dependencyUp = true;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;

@Module({
  imports: [
    loggingModule('probe', 'silent'),
    MetricsModule.forRoot(createMetricsRegistry('probe')),
    HealthModule.forRoot([{ name: 'store', check: async () => { if (!dependencyUp) throw new Error('connection refused'); } }]),
  ],
  controllers: [ProbeController],
})
class ProbeModule {}

describe('createHttpApp', () => {
  let app: NestFastifyApplication;
  let base: string;

  beforeAll(async () => {
    app = await createHttpApp(ProbeModule, { title: 'probe', version: '0', bodyLimitBytes: 1024 });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(() => app.close());

  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}/probe`, { method: 'POST', body, headers });

  it('passes a valid body through', async () => {
    const response = await post(JSON.stringify({ environment: 'staging', count: 2 }));
    expect(response.status).toBe(201);
    expect(await json(response)).toEqual({ accepted: { environment: 'staging', count: 2 } });
  });

  it('refuses a body that breaks the schema with 400 naming every field and reason', async () => {
    const response = await post(JSON.stringify({ environment: 'prod', count: -1, extra: true }));
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error).toBe('ValidationError');
    const fields = body.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['environment', 'count', '']));
    expect(body.message).toMatch(/environment: /);
    expect(body.issues.find((i: { field: string }) => i.field === '').reason).toMatch(/extra/);
  });

  it('refuses malformed JSON, wrong content types and oversized bodies with 4xx', async () => {
    expect((await post('{"environment":')).status).toBe(400);
    expect((await post('environment=staging', { 'content-type': 'text/csv' })).status).toBe(415);
    const big = await post(JSON.stringify({ environment: 'staging', count: 1, pad: 'x'.repeat(2048) }));
    expect(big.status).toBe(413);
    expect((await json(big)).error).toBe('PayloadTooLarge');
  });

  it('maps named errors to their status with their facts', async () => {
    const response = await fetch(`${base}/probe/conflict`);
    expect(response.status).toBe(HttpStatus.CONFLICT);
    const body = await json(response);
    expect(body).toMatchObject({ error: 'WrongExpectedVersionError', details: { streamId: 'release-1' } });
  });

  it('hides unexpected errors behind a 500 with a correlation id', async () => {
    const response = await fetch(`${base}/probe/crash`, { headers: { 'x-correlation-id': 'corr-123' } });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-correlation-id')).toBe('corr-123');
    const body = await json(response);
    expect(body).toEqual({ error: 'InternalError', message: expect.any(String), correlationId: 'corr-123' });
    expect(JSON.stringify(body)).not.toContain('secret');
  });

  it('reports liveness, readiness with the failing dependency, and metrics', async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    dependencyUp = false;
    const notReady = await fetch(`${base}/health/ready`);
    expect(notReady.status).toBe(503);
    expect((await json(notReady)).message).toBe('store: connection refused');
    dependencyUp = true;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_http_requests_total\{method="POST",route="\/probe",status="201",service="probe"\} \d+/);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await json(await fetch(`${base}/docs/openapi.json`));
    expect(Object.keys(doc.paths)).toContain('/probe');
  });
});
