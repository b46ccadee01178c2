import { ValidationError } from '../errors.js';
import { releaseNotesJson, releaseNotesMarkdown } from './releaseNotes.js';
import type { ReleaseChange } from './release.js';

const changes: ReleaseChange[] = [
  { kind: 'feature', description: 'Advanced campaign scheduling with time zones' },
  { kind: 'fix', description: 'Fixed email template rendering in Outlook' },
  { kind: 'security', description: 'Patched OpenSSL vulnerability (CVE-2025-XXXX)' },
  { kind: 'feature', description: 'Real-time collaboration on campaign drafts' },
  { kind: 'migration', description: 'Database migration required for analytics tables' },
  { kind: 'improvement', description: 'Improved database query performance by 40%' },
];

describe('release notes', () => {
  it('renders the seeds’ layout with sections in order', () => {
    expect(releaseNotesMarkdown({ version: '2.1.0', product: 'PenguinMails', releasedAt: '2025-10-28T10:00:00Z', changes })).toBe(
      [
        '# Release 2.1.0 - PenguinMails (October 28, 2025)',
        '',
        '## New Features',
        '- Advanced campaign scheduling with time zones',
        '- Real-time collaboration on campaign drafts',
        '',
        '## Bug Fixes',
        '- Fixed email template rendering in Outlook',
        '',
        '## Technical Improvements',
        '- Improved database query performance by 40%',
        '',
        '## Migration Notes',
        '- Database migration required for analytics tables',
        '',
        '## Security Updates',
        '- Patched OpenSSL vulnerability (CVE-2025-XXXX)',
        '',
      ].join('\n'),
    );
  });

  it('omits empty sections and dates in UTC', () => {
    const md = releaseNotesMarkdown({ version: '2.0.4', product: 'PenguinMails', releasedAt: '2026-11-26T23:30:00-05:00', changes: [{ kind: 'fix', description: 'Checkout null pointer' }] });
    expect(md).toBe('# Release 2.0.4 - PenguinMails (November 27, 2026)\n\n## Bug Fixes\n- Checkout null pointer\n');
  });

  it('has a JSON form with the same sections', () => {
    const json = releaseNotesJson({ version: '2.1.0', product: 'PenguinMails', releasedAt: '2026-03-31T12:00:00Z', changes });
    expect(json.date).toBe('2026-03-31');
    expect(json.sections.map((s) => [s.heading, s.items.length])).toEqual([
      ['New Features', 2],
      ['Bug Fixes', 1],
      ['Technical Improvements', 1],
      ['Migration Notes', 1],
      ['Security Updates', 1],
    ]);
  });

  it('refuses a malformed release date', () => {
    expect(() => releaseNotesJson({ version: '1.0.0', product: 'P', releasedAt: 'Oct 28', changes })).toThrow(ValidationError);
  });
});
