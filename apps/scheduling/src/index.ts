export { createSchedulingService, schedulingService, SlotRefusedError, dueTimerId, TIMER_POLL_INTERVAL_MS, DEPLOYMENT_DUE_PURPOSE, type SchedulingServiceOptions } from './schedulingService.js';
export { RequestSlotPayload, ReschedulePayload, SlotBookedResult, SchedulingEvents, SCHEDULING_CONTEXT } from '@gatehouse/contracts';
