import { type DynamicModule, Module } from '@nestjs/common';
import { ChangeRequestCommandsController, FlagCommandsController, HotfixCommandsController, ReleasePlanCommandsController } from './commands.controller.js';
import { NOTIFICATION_WEBHOOK_URL, ReleaseCommunicationController } from './communication.controller.js';
import { ChangeRequestReactionsController } from './reactions.controller.js';
import { ServiceTimers } from './timers.provider.js';

@Module({})
export class ChangeRequestsModule {
  /** The communication plan goes out only where there is somewhere to send it (a webhook URL). */
  static with({ notificationWebhookUrl }: { notificationWebhookUrl?: string | undefined }): DynamicModule {
    const commands = [ChangeRequestCommandsController, HotfixCommandsController, FlagCommandsController, ReleasePlanCommandsController];
    const communicates = notificationWebhookUrl !== undefined && notificationWebhookUrl !== '';
    return {
      module: ChangeRequestsModule,
      controllers: [...commands, ChangeRequestReactionsController, ...(communicates ? [ReleaseCommunicationController] : [])],
      providers: [ServiceTimers, ...(communicates ? [{ provide: NOTIFICATION_WEBHOOK_URL, useFactory: () => notificationWebhookUrl }] : [])],
    };
  }
}
