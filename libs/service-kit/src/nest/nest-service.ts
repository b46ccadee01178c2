import { type DynamicModule, type LoggerService, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ServiceContext, ServiceDefinition, ServiceLogger } from '../service.js';
import { BusErrorPassThrough, GatehouseTransport } from './transport.js';

/** Injection token of the {@link ServiceContext} the host started the service with: `@Inject(SERVICE_CONTEXT) ctx: ServiceContext`. */
export const SERVICE_CONTEXT = 'GATEHOUSE_SERVICE_CONTEXT';

/** Holds the service context for every provider and controller of the service's module. */
@Module({})
class ServiceContextModule {
  static with(context: ServiceContext, service: Type | DynamicModule): DynamicModule {
    // A factory rather than useValue: Nest hashes a dynamic module's values to name it, and the context holds the store.
    return { module: ServiceContextModule, global: true, imports: [service], providers: [{ provide: SERVICE_CONTEXT, useFactory: () => context }], exports: [SERVICE_CONTEXT] };
  }
}

/**
 * A service declared the NestJS way: `module`'s controllers carry its `@MessagePattern` commands and
 * `@EventPattern` reactions, served by {@link GatehouseTransport} on the host's bus and consumers. Each start
 * builds the service's own Nest microservice (its context is its own: name, signing identity, metrics label);
 * stop closes it (consumers, then commands, then the providers' shutdown hooks).
 */
export function nestService(name: string, module: Type | DynamicModule): ServiceDefinition {
  return {
    name,
    async start(context) {
      const app = await NestFactory.createMicroservice(ServiceContextModule.with(context, module), {
        strategy: new GatehouseTransport({ commands: context.commands, events: context.events }),
        logger: nestLogger(context.logger),
        // A service that cannot start is the host's failure to report, never a process abort.
        abortOnError: false,
      });
      app.useGlobalFilters(new BusErrorPassThrough());
      try {
        await app.listen();
      } catch (error) {
        await app.close().catch(() => undefined);
        throw error;
      }
      return { stop: () => app.close() };
    },
  };
}

/** Nest's own messages (bootstrap, route mapping) go to the service's logger, warnings and errors only. */
function nestLogger(logger: ServiceLogger): LoggerService {
  const text = (message: unknown): string => (message instanceof Error ? message.message : String(message));
  return {
    log: () => undefined,
    error: (message: unknown, ...rest: unknown[]) => logger.error({ nest: rest.map(String) }, text(message)),
    warn: (message: unknown, ...rest: unknown[]) => logger.warn({ nest: rest.map(String) }, text(message)),
  };
}
