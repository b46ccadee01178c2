/** Reading policy files is the CLI's job; the policy library only ever sees their contents. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPolicySet, type PolicyFile, type PolicySet } from '@gatehouse/policy';
import { CliInputError, type CliIo } from './io.js';

export const DEFAULT_POLICIES_DIR = 'deploy/policies';
export const POLICIES_ENV_VAR = 'GATEHOUSE_POLICIES';
const POLICY_FILE = /\.ya?ml$/i;

/** --policies (or a positional dir) wins, then $GATEHOUSE_POLICIES, then deploy/policies under the working directory. */
export function resolvePoliciesDir(io: CliIo, explicit?: string): string {
  return path.resolve(io.cwd, explicit ?? io.env[POLICIES_ENV_VAR] ?? DEFAULT_POLICIES_DIR);
}

export function readPolicyFiles(dir: string): PolicyFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => POLICY_FILE.test(name)).sort();
  } catch (error) {
    // Duck-typed: fs errors may come from another realm (e.g. under jest), failing instanceof Error.
    const reason = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
    throw new CliInputError(`cannot read policies directory ${dir} (${reason}); pass --policies <dir> or set ${POLICIES_ENV_VAR}`);
  }
  if (names.length === 0) throw new CliInputError(`no policy files (*.yaml) in ${dir}`);
  return names.map((name) => ({ name, contents: readFileSync(path.join(dir, name), 'utf8') }));
}

export function loadPolicies(io: CliIo, explicitDir?: string): { dir: string; policySet: PolicySet } {
  const dir = resolvePoliciesDir(io, explicitDir);
  return { dir, policySet: loadPolicySet(readPolicyFiles(dir)) };
}
