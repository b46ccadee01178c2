/** nats-server 2.10 is the first to accept several filter subjects on one consumer. */
export function supportsMultipleFilterSubjects(serverVersion: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(serverVersion ?? '');
  if (match === null) return true;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 10);
}
