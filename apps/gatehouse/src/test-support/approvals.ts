/** A stream as `GET /api/streams/:id` returns it (the fields these helpers read). */
type ReadStream = (streamId: string) => Promise<{ events: Array<{ type: string }> }>;

/**
 * Waits until the approvals service opened the approval request of a change: it does so in reaction to the
 * completed review, so an approval sent right after the review's reply can meet "approval … does not exist".
 */
export async function approvalRequested(readStream: ReadStream, changeRequestId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readStream(`approval-${changeRequestId}`)).events.some((event) => event.type === 'ApprovalsRequested')) {
    if (Date.now() > deadline) throw new Error(`no ApprovalsRequested for ${changeRequestId} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
