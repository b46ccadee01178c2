/** HTTP request bodies of the hotfix lane (shown at /docs); unknown fields are refused. */
import { CompletePostIncidentReviewPayload, CompleteStagingValidationPayload, CreateHotfixBranchPayload, IdentifyIncidentPayload, StartStagingValidationPayload } from '@gatehouse/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

/** The incident the lane is opened for; the caller is recorded as its reporter. */
export class IdentifyIncidentDto extends createZodDto(z.strictObject(IdentifyIncidentPayload.pick({ incidentId: true, service: true, severity: true, identifiedAt: true }).shape)) {}

/** The branch and the production tag it starts from (checked against what production runs). */
export class CreateHotfixBranchDto extends createZodDto(z.strictObject(CreateHotfixBranchPayload.pick({ branch: true, fromTag: true }).shape)) {}

/** The hotfix release (type hotfix) now running in staging. */
export class StartStagingValidationDto extends createZodDto(z.strictObject(StartStagingValidationPayload.pick({ releaseId: true }).shape)) {}

export class CompleteStagingValidationDto extends createZodDto(z.strictObject(CompleteStagingValidationPayload.pick({ outcome: true, notes: true }).shape)) {}

export class PostIncidentReviewDto extends createZodDto(z.strictObject(CompletePostIncidentReviewPayload.pick({ reviewRef: true }).shape)) {}
