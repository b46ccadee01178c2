/**
 * The three patch formats the Kubernetes API server accepts, as it applies them:
 * JSON merge patch (RFC 7386), strategic merge patch (lists of named things merge by their key) and
 * JSON patch (RFC 6902).
 */

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386: objects merge, `null` deletes, anything else (lists included) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

/** The merge keys of the core/apps types Gatehouse patches (from the API's `x-kubernetes-patch-merge-key`). */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
};

/** Strategic merge: like a merge patch, but a list with a merge key merges item by item (`$patch: delete` removes one). */
export function strategicMergePatch(target: Json, patch: Json, field?: string): Json {
  if (Array.isArray(patch)) {
    const key = field !== undefined ? MERGE_KEYS[field] : undefined;
    if (key === undefined || !Array.isArray(target)) return structuredClone(patch);
    const result = target.map((item) => structuredClone(item));
    for (const item of patch) {
      if (!isObject(item)) return structuredClone(patch);
      const at = result.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
      if (item['$patch'] === 'delete') {
        if (at >= 0) result.splice(at, 1);
      } else if (at >= 0) result[at] = strategicMergePatch(result[at] ?? null, item);
      else result.push(structuredClone(item));
    }
    return result;
  }
  if (!isObject(patch)) return structuredClone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _replace, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = strategicMergePatch(result[key] ?? null, value, key);
  }
  return result;
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

/** Why a JSON patch could not be applied (the server answers 422, or 409 for a failed `test`). */
export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
  constructor(
    message: string,
    readonly failedTest = false,
  ) {
    super(message);
  }
}

/** RFC 6902 on a copy of `target`; throws JsonPatchError when a path is missing or a `test` fails. */
export function jsonPatch(target: Json, operations: readonly JsonPatchOperation[]): Json {
  let document = structuredClone(target);
  for (const operation of operations) {
    switch (operation.op) {
      case 'add':
      case 'replace':
        document = put(document, pointer(operation.path), operation.value ?? null, operation.op);
        break;
      case 'remove':
        document = remove(document, pointer(operation.path));
        break;
      case 'copy':
      case 'move': {
        const from = pointer(operation.from ?? '');
        const value = get(document, from);
        if (operation.op === 'move') document = remove(document, from);
        document = put(document, pointer(operation.path), structuredClone(value), 'add');
        break;
      }
      case 'test':
        if (JSON.stringify(get(document, pointer(operation.path))) !== JSON.stringify(operation.value)) {
          throw new JsonPatchError(`test failed at ${operation.path}`, true);
        }
        break;
      default:
        throw new JsonPatchError(`unknown operation ${String((operation as { op: unknown }).op)}`);
    }
  }
  return document;
}

const pointer = (path: string): string[] => {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError(`path '${path}' must start with '/'`);
  return path
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
};

function get(document: Json, path: readonly string[]): Json {
  let node = document;
  for (const segment of path) {
    if (Array.isArray(node)) node = node[Number(segment)] as Json;
    else if (isObject(node) && segment in node) node = node[segment] as Json;
    else throw new JsonPatchError(`path /${path.join('/')} does not exist`);
    if (node === undefined) throw new JsonPatchError(`path /${path.join('/')} does not exist`);
  }
  return node;
}

function put(document: Json, path: readonly string[], value: Json, op: 'add' | 'replace'): Json {
  if (path.length === 0) return value;
  const parent = get(document, path.slice(0, -1));
  const last = path.at(-1) as string;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length || (op === 'replace' && index >= parent.length)) throw new JsonPatchError(`index ${last} out of range`);
    if (op === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) {
    if (op === 'replace' && !(last in parent)) throw new JsonPatchError(`path /${path.join('/')} does not exist`);
    parent[last] = value;
  } else throw new JsonPatchError(`parent of /${path.join('/')} is not a container`);
  return document;
}

function remove(document: Json, path: readonly string[]): Json {
  const parent = get(document, path.slice(0, -1));
  const last = path.at(-1) as string;
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw new JsonPatchError(`index ${last} out of range`);
    parent.splice(index, 1);
  } else if (isObject(parent) && last in parent) delete parent[last];
  else throw new JsonPatchError(`path /${path.join('/')} does not exist`);
  return document;
}

export type { Json, JsonObject };
