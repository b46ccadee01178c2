/**
 * Turning policy file contents into a validated, versioned PolicySet. Pure: the caller reads files
 * and passes their contents; node:crypto is used only for hashing (no I/O).
 */
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { PolicySyntaxError, PolicyValidationError, UnknownEnvironmentError, type PolicyIssue } from './errors.js';
import { isKnownHolidayCalendar, knownHolidayNames } from './calendar/holidayWeekends.js';
import { clusterProblems } from './clusters.js';
import { EnvironmentPolicy } from './schema.js';

export interface PolicyFile {
  /** Name used in error messages; its base name must equal the environment, e.g. "production.yaml". */
  readonly name: string;
  readonly contents: string;
}

export interface PolicySet {
  readonly environments: Readonly<Record<string, EnvironmentPolicy>>;
  /** Non-optional environments in promotion order (promotesFrom before the environment), e.g. development, staging, production. */
  readonly promotionOrder: readonly string[];
  /** "sha256:<hex>" over the canonical (key-sorted, defaults applied) content of every environment. */
  readonly policyVersion: string;
}

type PathSegment = string | number;

/** Parse and validate one policy file. Throws PolicySyntaxError (bad YAML) or PolicyValidationError (schema). */
/**
 * Options for reading policy files. `recorded`: the files are a version recorded in the log (read back
 * for history, audits and re-derivation), checked by the schema only: the rules about clusters that
 * the executor needs to deploy (regions, contexts) apply when a version is activated, not to what was
 * in force before those rules existed.
 */
export interface LoadPolicyOptions {
  recorded?: boolean;
}

export function parsePolicyFile(fileName: string, contents: string, { recorded = false }: LoadPolicyOptions = {}): EnvironmentPolicy {
  const lineCounter = new LineCounter();
  const document = parseDocument(contents, { lineCounter, prettyErrors: false });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const position = lineCounter.linePos(syntaxError.pos[0]);
    throw new PolicySyntaxError(fileName, firstLine(syntaxError.message), position.line, position.col);
  }
  const parsed = EnvironmentPolicy.safeParse(document.toJS());
  if (!parsed.success) {
    throw new PolicyValidationError(parsed.error.issues.map((issue) => toPolicyIssue(fileName, issue, document, lineCounter)));
  }
  const clusters = recorded ? [] : clusterProblems(parsed.data);
  if (clusters.length > 0) {
    throw new PolicyValidationError(clusters.map(([path, problem]) => ({ file: fileName, path: formatPath(path), problem, ...positionOf(document, lineCounter, path) })));
  }
  return parsed.data;
}

/** Parse every file, then check the rules that span files. Collects every problem before throwing. */
export function loadPolicySet(files: readonly PolicyFile[], options: LoadPolicyOptions = {}): PolicySet {
  const issues: PolicyIssue[] = [];
  const parsed: { file: string; policy: EnvironmentPolicy }[] = [];
  if (files.length === 0) issues.push({ file: '(none)', path: '', problem: 'no policy files given' });
  for (const file of files) {
    try {
      parsed.push({ file: file.name, policy: parsePolicyFile(file.name, file.contents, options) });
    } catch (error) {
      if (error instanceof PolicyValidationError) issues.push(...error.issues);
      else throw error;
    }
  }
  issues.push(...crossFileIssues(parsed));
  if (issues.length > 0) throw new PolicyValidationError(issues);

  const environments: Record<string, EnvironmentPolicy> = {};
  for (const { policy } of parsed) environments[policy.environment] = policy;
  return {
    environments,
    promotionOrder: promotionOrder(environments),
    policyVersion: policyVersionOf(environments),
  };
}

/** The policy of one environment, or UnknownEnvironmentError naming the known ones. */
export function getEnvironmentPolicy(policySet: PolicySet, environment: string): EnvironmentPolicy {
  const policy = policySet.environments[environment];
  if (!policy) throw new UnknownEnvironmentError(environment, Object.keys(policySet.environments).sort());
  return policy;
}

export function formatPath(path: readonly PathSegment[]): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function toPolicyIssue(file: string, issue: z.core.$ZodIssue, document: Document, lineCounter: LineCounter): PolicyIssue {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  const position = positionOf(document, lineCounter, path);
  return { file, path: formatPath(path), problem: issue.message, ...position };
}

/** Line/column of the deepest existing node on `path` (a missing key points at its parent). */
function positionOf(document: Document, lineCounter: LineCounter, path: readonly PathSegment[]): { line?: number; column?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return {};
}

function crossFileIssues(parsed: readonly { file: string; policy: EnvironmentPolicy }[]): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const byName = new Map<string, string>();
  for (const { file, policy } of parsed) {
    const previous = byName.get(policy.environment);
    if (previous) issues.push({ file, path: 'environment', problem: `environment '${policy.environment}' is already defined in ${previous}` });
    byName.set(policy.environment, file);
    const baseName = baseNameOf(file);
    if (baseName !== policy.environment) {
      issues.push({ file, path: 'environment', problem: `environment '${policy.environment}' must match the file name '${baseName}'` });
    }
    issues.push(...duplicateRuleIdIssues(file, policy), ...holidayIssues(file, policy));
  }
  for (const { file, policy } of parsed) {
    if (policy.promotesFrom !== undefined && !byName.has(policy.promotesFrom)) {
      issues.push({ file, path: 'promotesFrom', problem: `promotes from unknown environment '${policy.promotesFrom}'` });
    }
    policy.testingGates.forEach((gate, i) => {
      if (!byName.has(gate.environment)) {
        issues.push({ file, path: `testingGates[${i}].environment`, problem: `gate runs in unknown environment '${gate.environment}'` });
      }
    });
  }
  issues.push(...promotionCycleIssues(parsed));
  return issues;
}

function baseNameOf(file: string): string {
  const last = file.split(/[\\/]/).at(-1) ?? file;
  return last.replace(/\.ya?ml$/i, '');
}

/** Rule ids appear in decision reasons, so they must be unique within an environment. */
function duplicateRuleIdIssues(file: string, policy: EnvironmentPolicy): PolicyIssue[] {
  const rules: { id: string; path: string }[] = [
    ...policy.windows.map((r, i) => ({ id: r.id, path: `windows[${i}].id` })),
    ...policy.blackouts.map((r, i) => ({ id: r.id, path: `blackouts[${i}].id` })),
    ...policy.freezes.map((r, i) => ({ id: r.id, path: `freezes[${i}].id` })),
    ...policy.rollback.automatic.triggers.map((r, i) => ({ id: r.id, path: `rollback.automatic.triggers[${i}].id` })),
    ...policy.testingGates.map((r, i) => ({ id: r.id, path: `testingGates[${i}].id` })),
    ...policy.monitoring.alertRules.map((r, i) => ({ id: r.id, path: `monitoring.alertRules[${i}].id` })),
    ...policy.approvals.standardChangeTemplates.map((r, i) => ({ id: r.id, path: `approvals.standardChangeTemplates[${i}].id` })),
  ];
  const firstPath = new Map<string, string>();
  const issues: PolicyIssue[] = [];
  for (const rule of rules) {
    const first = firstPath.get(rule.id);
    if (first) issues.push({ file, path: rule.path, problem: `duplicate rule id '${rule.id}' (first used at ${first})` });
    else firstPath.set(rule.id, rule.path);
  }
  return issues;
}

/** A misspelt holiday would silently block nothing: every named holiday must exist in its calendar. */
function holidayIssues(file: string, policy: EnvironmentPolicy): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  policy.blackouts.forEach((blackout, i) => {
    if (blackout.kind !== 'holiday_weekends') return;
    const { country, state, region } = blackout.calendar;
    if (!isKnownHolidayCalendar(blackout.calendar)) {
      issues.push({ file, path: `blackouts[${i}].calendar`, problem: `unknown holiday calendar '${[country, state, region].filter(Boolean).join('/')}'` });
      return;
    }
    const known = knownHolidayNames(blackout.calendar);
    blackout.holidays.forEach((name, j) => {
      if (!known.has(name)) {
        issues.push({ file, path: `blackouts[${i}].holidays[${j}]`, problem: `'${name}' is not a holiday of calendar ${country}; known: ${[...known].sort().join(', ')}` });
      }
    });
  });
  return issues;
}

function promotionCycleIssues(parsed: readonly { file: string; policy: EnvironmentPolicy }[]): PolicyIssue[] {
  const promotesFrom = new Map(parsed.map(({ policy }) => [policy.environment, policy.promotesFrom]));
  const issues: PolicyIssue[] = [];
  for (const { file, policy } of parsed) {
    const seen = [policy.environment];
    let current = policy.promotesFrom;
    while (current !== undefined && promotesFrom.has(current)) {
      if (seen.includes(current)) {
        if (current === policy.environment) {
          issues.push({ file, path: 'promotesFrom', problem: `promotion cycle: ${[...seen, current].join(' <- ')}` });
        }
        break;
      }
      seen.push(current);
      current = promotesFrom.get(current);
    }
  }
  return issues;
}

/** Depth along the promotesFrom chain orders the environments; optional ones are left out. */
function promotionOrder(environments: Readonly<Record<string, EnvironmentPolicy>>): string[] {
  const depth = (name: string): number => {
    let steps = 0;
    for (let current = environments[name]?.promotesFrom; current !== undefined; current = environments[current]?.promotesFrom) steps++;
    return steps;
  };
  return Object.values(environments)
    .filter((p) => !p.optional)
    .map((p) => p.environment)
    .sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

function policyVersionOf(environments: Readonly<Record<string, EnvironmentPolicy>>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(environments)).digest('hex')}`;
}

/** JSON with object keys sorted, so formatting and key order in the files do not change the version. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
