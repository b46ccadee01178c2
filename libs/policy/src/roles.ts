import type { Role } from './schema.js';

/** How roles read in messages people see. */
export const ROLE_TITLES: Readonly<Record<Role, string>> = {
  developer: 'Developer',
  qa: 'QA',
  product: 'Product',
  code_reviewer: 'Code Reviewer',
  tech_lead: 'Tech Lead',
  sre: 'SRE',
  release_engineer: 'Release Engineer',
  dba: 'DBA',
  vp_engineering: 'VP Engineering',
  security: 'Security',
  auditor: 'Auditor',
};
