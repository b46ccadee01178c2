export { approvalsService } from './service.js';
export { ApprovalsModule } from './approvals.module.js';
export { APPROVALS_CONSUMERS, approvalStream, requestApprovalsFor, PROCESS_MANAGER_ACTOR } from './approvals.js';
export {
  APPROVALS_CONTEXT,
  APPROVALS_COMMANDS,
  GrantApprovalPayload,
  RejectApprovalPayload,
  RevokeApprovalPayload,
  GetApprovalPayload,
  ApprovalEventSchemas,
  type ApprovalReply,
} from '@gatehouse/contracts';
