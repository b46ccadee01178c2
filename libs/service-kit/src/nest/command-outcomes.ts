import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { DomainError } from '@gatehouse/domain';
import { type Observable, tap } from 'rxjs';
import { type CommandMetrics, commandMetrics } from '../command-metrics.js';
import type { ServiceContext } from '../service.js';
import { SERVICE_CONTEXT } from './nest-service.js';
import type { CommandRpcContext } from './transport.js';

/**
 * `@UseInterceptors(CommandOutcomes)` on a commands controller counts each command in
 * `gatehouse_<service>_commands_total{command,outcome}`: `duplicate` when the reply says so (a redelivered
 * command id), `refused` for a named domain error, `error` otherwise, `ok` else.
 */
@Injectable()
export class CommandOutcomes implements NestInterceptor {
  private readonly metrics: CommandMetrics;

  constructor(@Inject(SERVICE_CONTEXT) context: ServiceContext) {
    this.metrics = commandMetrics(context.metrics, context.name);
  }

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { command } = execution.switchToRpc().getContext<CommandRpcContext>().getCommand();
    return next.handle().pipe(
      tap({
        next: (reply: unknown) => this.metrics.commandHandled(command, (reply as { duplicate?: unknown } | null)?.duplicate === true ? 'duplicate' : 'ok'),
        error: (error: unknown) => this.metrics.commandHandled(command, error instanceof DomainError ? 'refused' : 'error'),
      }),
    );
  }
}
