import { type DynamicModule, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Registry } from 'prom-client';
import { HealthModule, type ReadinessCheck } from '../health.js';
import { createHttpApp } from '../http-app.js';
import { loggingModule } from '../logging.js';
import { MetricsModule } from '../metrics.js';

@Module({})
class OperationsModule {
  static forRoot(name: string, logLevel: string, checks: ReadinessCheck[], metrics: Registry): DynamicModule {
    return { module: OperationsModule, imports: [loggingModule(name, logLevel), HealthModule.forRoot(checks), MetricsModule.forRoot(metrics)] };
  }
}

export interface OperationsServerOptions {
  name: string;
  logLevel: string;
  checks: ReadinessCheck[];
  metrics: Registry;
  port: number;
  host: string;
}

export interface OperationsServer {
  app: NestFastifyApplication;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

/** The HTTP side of a standalone process: /health/live, /health/ready (the given checks) and /metrics only. */
export async function startOperationsServer({ name, logLevel, checks, metrics, port, host }: OperationsServerOptions): Promise<OperationsServer> {
  const app = await createHttpApp(OperationsModule.forRoot(name, logLevel, checks, metrics), { title: `Gatehouse ${name}`, version: '0.1.0' });
  // Signals are handled by the host (closeOnSignals), which stops the service before the HTTP side.
  await app.listen(port, host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  return { app, url, close: () => app.close() };
}
