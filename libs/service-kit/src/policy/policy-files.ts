import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PolicyFile } from '@gatehouse/policy';

const POLICY_FILE = /\.ya?ml$/i;

/** Reads every YAML file of a policy folder, in name order so the policy version is stable. */
export async function readPolicyDirectory(directory: string): Promise<PolicyFile[]> {
  const names = (await readdir(directory)).filter((name) => POLICY_FILE.test(name)).sort();
  return Promise.all(names.map(async (name) => ({ name, contents: await readFile(path.join(directory, name), 'utf8') })));
}
