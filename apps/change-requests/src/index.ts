export { changeRequestsService } from './service.js';
export { ConsumedEventSchemas, PROCESS_MANAGER_ACTOR } from './process-managers.js';
export {
  CHANGE_REQUESTS_CONTEXT,
  CHANGE_REQUESTS_COMMANDS,
  CreateReleasePayload,
  ReviseReleasePayload,
  SubmitChangePayload,
  StartReviewPayload,
  CompleteReviewPayload,
  RejectChangePayload,
  CancelChangePayload,
  CloseChangePayload,
  RecordMigrationPayload,
  GetChangePayload,
  GetReleasePayload,
  type CommandReply,
  type ChangeView,
  type ReleaseView,
} from '@gatehouse/contracts';
