import type { StoredEvent } from '@gatehouse/eventstore';
import { busConsumer, busEvents, commandMetrics, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, type OnModuleDestroy } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { NOTIFICATION_CATEGORY } from '@gatehouse/contracts';
import { webhookNotifications } from './notification-webhook.js';
import { RELEASE_COMMUNICATION_CONSUMER, RELEASE_COMMUNICATION_EVENTS, type ReleaseCommunication, startReleaseCommunication } from './release-communication.js';

/** Where the communication plan's notifications are posted; the module includes this controller only when it is set. */
export const NOTIFICATION_WEBHOOK_URL = 'NOTIFICATION_WEBHOOK_URL';

/** The release communication plan: milestones (scheduled, started, rolled back) notify the plan's audiences. */
@Controller()
export class ReleaseCommunicationController implements OnModuleDestroy {
  private readonly communication: ReleaseCommunication;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext, @Inject(NOTIFICATION_WEBHOOK_URL) webhookUrl: string) {
    this.communication = startReleaseCommunication(ctx, commandMetrics(ctx.metrics, ctx.name), webhookNotifications(webhookUrl));
  }

  @EventPattern(
    busConsumer(RELEASE_COMMUNICATION_CONSUMER),
    busEvents({ categories: ['schedule', 'deployment', NOTIFICATION_CATEGORY], eventTypes: Object.keys(RELEASE_COMMUNICATION_EVENTS), dataSchemas: RELEASE_COMMUNICATION_EVENTS }),
  )
  onMilestone(@Payload() event: StoredEvent): Promise<void> {
    return this.communication.onMilestone(event);
  }

  onModuleDestroy(): Promise<void> {
    return this.communication.stop();
  }
}
