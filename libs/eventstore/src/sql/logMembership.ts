/**
 * Which stored rows belong to the log. readAll walks rows in (transaction_id, global_position)
 * order from just after ('0', 0) and returns a row once its transaction id is below the oldest
 * running transaction, so a row is part of the log the verifier walks if and only if:
 *  - it sorts after the log's start, and
 *  - its transaction id is one a committed transaction can have: below the snapshot's xmax
 *    (the first transaction id not yet assigned), or the reader's own transaction.
 * A row whose transaction_id was forged far ahead fails the second test forever (readAll would
 * never return it), one forged at or before ('0', 0) fails the first. Every read path applies this
 * predicate (never NULL, so that its negation is exact), so no reader (stream reads included) returns a row the verifier cannot see, and
 * `OUTSIDE_LOG` finds exactly those rows for verifyEventLog to name.
 */
export const IN_LOG = `((transaction_id, global_position) > ('0'::xid8, 0)
       AND (transaction_id < pg_snapshot_xmax(pg_current_snapshot()) OR coalesce(transaction_id = pg_current_xact_id_if_assigned(), false)))`;

export const OUTSIDE_LOG = `NOT ${IN_LOG}`;
