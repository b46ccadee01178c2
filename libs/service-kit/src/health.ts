import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, HttpCode, HttpStatus, Inject, Module, type DynamicModule, ServiceUnavailableException } from '@nestjs/common';

/** A readiness check: resolves when the dependency is usable, rejects with the reason otherwise. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
/** A readiness check must answer within this time or counts as failed. */
export const READINESS_TIMEOUT_MS = 2_000;

@Controller('health')
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  /** Liveness: the process answers; restart it if not. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (public)' })
  @HttpCode(HttpStatus.OK)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answered; take the instance out of rotation if not. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the process and its dependencies can serve requests; 503 names what is not ready (public)' })
  async ready(): Promise<{ status: 'ok'; checks: Record<string, 'ok'> }> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await runCheck(c)] as const));
    const failed = results.filter(([, r]) => r !== 'ok');
    if (failed.length > 0) {
      throw new ServiceUnavailableException({
        error: 'NotReady',
        message: failed.map(([name, reason]) => `${name}: ${reason}`).join('; '),
      });
    }
    return { status: 'ok', checks: Object.fromEntries(results.map(([name]) => [name, 'ok' as const])) };
  }
}

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

@Module({})
export class HealthModule {
  static forRoot(checks: ReadinessCheck[]): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [{ provide: READINESS_CHECKS, useValue: checks }],
    };
  }
}
