export { createSchedulingService, schedulingService } from './service.js';
export { SchedulingModule, type SchedulingServiceOptions } from './scheduling.module.js';
export { SlotRefusedError } from './schedulingService.js';
export { DEPLOYMENT_DUE_PURPOSE, moveLegacyStartTimers, START_TIMERS_CONSUMER } from './start-timers.js';
export { RequestSlotPayload, ReschedulePayload, SlotBookedResult, SchedulingEvents, SCHEDULING_CONTEXT } from '@gatehouse/contracts';
