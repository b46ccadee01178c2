export { createSchedulingService, schedulingService } from './service.js';
export { SchedulingModule, type SchedulingServiceOptions } from './scheduling.module.js';
export { SlotRefusedError, dueTimerId, TIMER_POLL_INTERVAL_MS, DEPLOYMENT_DUE_PURPOSE } from './schedulingService.js';
export { RequestSlotPayload, ReschedulePayload, SlotBookedResult, SchedulingEvents, SCHEDULING_CONTEXT } from '@gatehouse/contracts';
