import { Readable } from 'node:stream';
import { ConflictException, Controller, Get, HttpCode, HttpStatus, Inject, NotFoundException, Post, Query, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuditableEventStore, readLogTree, replayLines, replayNeedsTree, type ReplayFilter, type SignedTreeHead } from '@gatehouse/eventstore';
import type { Role } from '@gatehouse/policy';
import { RequestValidationError } from '@gatehouse/service-kit';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { EVENT_STORE } from '../tokens.js';
import { AuditReaderGuard } from './audit-access.js';
import { type EventView, toEventView } from './event-view.js';
import type { AuditSigningKey } from './signing-key.js';
import type { TreeHeadLog } from './tree-heads.js';

export const AUDIT_SIGNING_KEY = Symbol('AUDIT_SIGNING_KEY');
export const TREE_HEAD_LOG = Symbol('TREE_HEAD_LOG');

/** Who may have a tree head signed on demand: auditors and the roles that operate Gatehouse. */
export const TREE_HEAD_SIGNER_ROLES: readonly Role[] = ['auditor', 'security', 'sre', 'release_engineer'];

/** Leaves per page when the client does not ask for a number, and the most it may ask for. */
const DEFAULT_LEAF_PAGE = 1_000;
const MAX_LEAF_PAGE = 10_000;
const Count = z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number);
const Position = z.string().regex(/^\d{1,19}$/, 'must be a non-negative integer').transform(BigInt);

class InclusionQuery extends createZodDto(
  z.strictObject({
    position: Position.describe('global position of the event'),
    treeSize: Count.optional().describe('size of the tree to prove against; default: the latest signed tree head'),
  }),
) {}
class ConsistencyQuery extends createZodDto(
  z.strictObject({
    from: Count.describe('size of the older tree (the tree head the client trusts)'),
    to: Count.describe('size of the newer tree'),
  }),
) {}
class LeavesQuery extends createZodDto(
  z.strictObject({
    from: Count.default(0).describe('first leaf index'),
    limit: z.coerce.number().int().min(1).max(MAX_LEAF_PAGE).default(DEFAULT_LEAF_PAGE),
  }),
) {}

class ExportQuery extends createZodDto(
  z.strictObject({
    after: Position.optional().describe('exclusive global position to resume after (a position an earlier export ended with)'),
    until: Position.optional().describe('inclusive last global position'),
    stream: z.string().min(1).max(200).optional().describe('only this stream'),
    type: z.string().min(1).max(200).optional().describe('only events of this type'),
  }),
) {}

const hex = (hash: Buffer): string => hash.toString('hex');

/** The key tree heads are signed with: public, so anyone holding a head can check it. */
@ApiTags('audit')
@Controller('api/audit')
export class AuditKeyController {
  constructor(@Inject(AUDIT_SIGNING_KEY) private readonly key: AuditSigningKey) {}

  @Get('public-key')
  @ApiOperation({ summary: 'The ed25519 public key (PEM) that signs tree heads, and its key id' })
  publicKey(): { algorithm: 'ed25519'; keyId: string; publicKeyPem: string } {
    return { algorithm: 'ed25519', keyId: this.key.keyId, publicKeyPem: this.key.publicKeyPem };
  }
}

/**
 * Signed tree heads and Merkle proofs over the log (RFC 6962 / 9162 hashing). Proofs are computed
 * from the rows as stored now, so a client holding an older head detects a rewrite of history.
 */
@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(AuthGuard, AuditReaderGuard)
@Controller('api/audit')
export class TreeHeadController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: AuditableEventStore,
    @Inject(TREE_HEAD_LOG) private readonly treeHeads: TreeHeadLog,
  ) {}

  @Post('tree-heads')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Sign a tree head over the whole log now; recorded as an event and in the tree-head file' })
  async signTreeHead(@CurrentPrincipal() principal: Principal): Promise<{ treeHead: SignedTreeHead }> {
    requireAnyRole(principal, TREE_HEAD_SIGNER_ROLES, 'signing a tree head');
    return { treeHead: await this.treeHeads.produce(principal.sub) };
  }

  @Get('tree-heads/latest')
  @ApiOperation({ summary: 'The latest signed tree head recorded in the log' })
  async latestTreeHead(): Promise<{ treeHead: SignedTreeHead }> {
    const treeHead = await this.treeHeads.latest();
    if (treeHead === undefined) throw new NotFoundException({ error: 'NoTreeHead', message: 'no tree head has been signed yet: POST /api/audit/tree-heads' });
    return { treeHead };
  }

  @Get('proof/inclusion')
  @ApiOperation({ summary: 'Audit path of one event in the tree of a given size (default: the latest signed tree head)' })
  async inclusionProof(@Query() query: InclusionQuery): Promise<{
    treeSize: number;
    rootHash: string;
    leafIndex: number;
    leafHash: string;
    auditPath: string[];
    event: EventView;
  }> {
    const treeSize = query.treeSize ?? (await this.latestSignedSize());
    const log = await readLogTree(this.store, treeSize);
    if (log.tree.size < treeSize) throw new RequestValidationError([{ field: 'treeSize', reason: `the log holds ${log.tree.size} events, fewer than ${treeSize}` }]);
    const leafIndex = log.indexOf(query.position);
    const leaf = leafIndex === undefined ? undefined : log.leaves[leafIndex];
    if (leafIndex === undefined || leaf === undefined) {
      throw new RequestValidationError([{ field: 'position', reason: `no event at position ${query.position} among the first ${treeSize} events of the log` }]);
    }
    const [event] = await this.store.readStream(leaf.streamId, { fromVersion: leaf.streamVersion, maxCount: 1 });
    if (event === undefined || event.globalPosition !== leaf.globalPosition) {
      throw new ConflictException({ error: 'LogChanged', message: `the event at position ${query.position} changed while the proof was computed; ask again` });
    }
    return {
      treeSize,
      rootHash: hex(log.tree.root(treeSize)),
      leafIndex,
      leafHash: hex(log.tree.leaf(leafIndex)),
      auditPath: log.tree.inclusionProof(leafIndex, treeSize).map(hex),
      event: toEventView(event),
    };
  }

  @Get('proof/consistency')
  @ApiOperation({ summary: 'Proof that the tree of size `from` is a prefix of the tree of size `to`' })
  async consistencyProof(@Query() query: ConsistencyQuery): Promise<{ from: number; to: number; fromRoot: string; toRoot: string; proof: string[] }> {
    if (query.from > query.to) throw new RequestValidationError([{ field: 'from', reason: `must not exceed to (${query.to})` }]);
    const log = await readLogTree(this.store, query.to);
    if (log.tree.size < query.to) throw new RequestValidationError([{ field: 'to', reason: `the log holds ${log.tree.size} events, fewer than ${query.to}` }]);
    return {
      from: query.from,
      to: query.to,
      fromRoot: hex(log.tree.root(query.from)),
      toRoot: hex(log.tree.root(query.to)),
      proof: log.tree.consistencyProof(query.from, query.to).map(hex),
    };
  }

  @Get('leaves')
  @ApiOperation({ summary: 'The leaves of the log tree (event positions and hashes in commit order), paged by leaf index' })
  async leaves(@Query() query: LeavesQuery): Promise<{
    leaves: { index: number; globalPosition: string; streamId: string; streamVersion: string; eventHash: string }[];
    next: number | null;
  }> {
    const log = await readLogTree(this.store, query.from + query.limit);
    const page = log.leaves.slice(query.from, query.from + query.limit).map((leaf) => ({
      index: leaf.index,
      globalPosition: leaf.globalPosition.toString(),
      streamId: leaf.streamId,
      streamVersion: leaf.streamVersion.toString(),
      eventHash: leaf.eventHash,
    }));
    return { leaves: page, next: page.length === query.limit ? query.from + query.limit : null };
  }

  @Get('export')
  @ApiOperation({
    summary: 'Replay export: the log (or a filtered part) in commit order as JSON Lines, streamed, each event with its inclusion proof in the latest signed tree head (first line); gatehouse audit verify --offline checks it',
  })
  async export(@Query() query: ExportQuery): Promise<StreamableFile> {
    const treeHead = await this.treeHeads.latest();
    if (treeHead === undefined) throw new ConflictException({ error: 'NoTreeHead', message: 'no tree head has been signed yet: POST /api/audit/tree-heads first' });
    const filter: ReplayFilter = {
      ...(query.after === undefined || query.after === 0n ? {} : { after: query.after }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.stream === undefined ? {} : { streamId: query.stream }),
      ...(query.type === undefined ? {} : { eventType: query.type }),
    };
    // The whole log from the start needs no tree: the verifier rebuilds it from the events and checks the signed root.
    const log = replayNeedsTree(filter) ? await readLogTree(this.store, treeHead.treeSize) : undefined;
    if (filter.after !== undefined && log?.indexOf(filter.after) === undefined) {
      throw new RequestValidationError([{ field: 'after', reason: `no event at position ${query.after} in the signed log: resume after a position an export returned` }]);
    }
    if (query.after !== undefined && query.until !== undefined && query.until <= query.after) {
      throw new RequestValidationError([{ field: 'until', reason: `must be greater than after (${query.after})` }]);
    }
    const lines = replayLines(this.store, log, treeHead, filter);
    const ndjson = Readable.from((async function* () {
      for await (const line of lines) yield `${line}\n`;
    })());
    return new StreamableFile(ndjson, { type: 'application/x-ndjson' });
  }

  private async latestSignedSize(): Promise<number> {
    const latest = await this.treeHeads.latest();
    if (latest === undefined) throw new ConflictException({ error: 'NoTreeHead', message: 'no tree head has been signed yet: POST /api/audit/tree-heads, or pass treeSize' });
    return latest.treeSize;
  }
}
