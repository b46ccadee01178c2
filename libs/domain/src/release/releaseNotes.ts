import type { ReleaseChange, ReleaseChangeKind } from './release.js';
import { isIsoInstant, toMs } from '../clock.js';
import { ValidationError } from '../errors.js';

/** The seeds' release-notes sections, in order. */
export const RELEASE_NOTES_SECTIONS: ReadonlyArray<{ kind: ReleaseChangeKind; heading: string }> = [
  { kind: 'feature', heading: 'New Features' },
  { kind: 'fix', heading: 'Bug Fixes' },
  { kind: 'improvement', heading: 'Technical Improvements' },
  { kind: 'migration', heading: 'Migration Notes' },
  { kind: 'security', heading: 'Security Updates' },
];

export interface ReleaseNotesInput {
  version: string;
  /** Product name in the header, e.g. "PenguinMails". */
  product: string;
  /** Release date (ISO instant); rendered as a UTC calendar date. */
  releasedAt: string;
  changes: readonly ReleaseChange[];
}

export interface ReleaseNotesJson {
  version: string;
  product: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  sections: Array<{ kind: ReleaseChangeKind; heading: string; items: string[] }>;
}

const LONG_DATE = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric' });

/** Release notes as data: non-empty sections in the seeds' order, items in change order. */
export function releaseNotesJson(input: ReleaseNotesInput): ReleaseNotesJson {
  const at = toMs(input.releasedAt);
  if (!isIsoInstant(input.releasedAt)) throw new ValidationError('release notes', [{ field: 'releasedAt', reason: `"${input.releasedAt}" is not an ISO-8601 instant` }]);
  return {
    version: input.version,
    product: input.product,
    date: new Date(at).toISOString().slice(0, 10),
    sections: RELEASE_NOTES_SECTIONS.map(({ kind, heading }) => ({ kind, heading, items: input.changes.filter((c) => c.kind === kind).map((c) => c.description.trim()) })).filter(
      (s) => s.items.length > 0,
    ),
  };
}

/** "# Release 2.1.0 - PenguinMails (October 28, 2025)" followed by one "## Heading" list per non-empty section. */
export function releaseNotesMarkdown(input: ReleaseNotesInput): string {
  const notes = releaseNotesJson(input);
  const header = `# Release ${notes.version} - ${notes.product} (${LONG_DATE.format(new Date(toMs(input.releasedAt)))})`;
  const sections = notes.sections.map((s) => [`## ${s.heading}`, ...s.items.map((item) => `- ${item}`)].join('\n'));
  return [header, ...sections].join('\n\n') + '\n';
}
