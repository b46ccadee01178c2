export { APPROVALS_CONSUMERS, approvalsService, approvalStream, requestApprovalsFor, PROCESS_MANAGER_ACTOR } from './service.js';
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
