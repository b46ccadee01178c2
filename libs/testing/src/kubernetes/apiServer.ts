import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { JSON_PATCH, jsonPatch, JsonPatchError, MERGE_PATCH, mergePatch, STRATEGIC_MERGE_PATCH, strategicMergePatch, type Json, type JsonObject, type JsonPatchOperation } from './patch.js';

/**
 * A stand-in Kubernetes API server over real HTTP, for the subset Gatehouse's executor uses: apps/v1
 * Deployments (get, list, watch, create, replace, patch in the three formats, delete), their ReplicaSets, v1
 * Services and Pods. `metadata.resourceVersion` is checked like the real server (409 on a stale one), and a
 * controller loop rolls Deployments out over time: new pods become ready one by one, old ones go, `status`
 * and the `Progressing` condition follow (ProgressDeadlineExceeded included). No admission, no auth, no
 * scheduling, no field managers: what is not listed here answers 404.
 */
export interface KubernetesStandInOptions {
  /** Name shown in errors and logs (the cluster it stands in for). */
  name: string;
  /** Milliseconds for each new pod to become ready. @defaultValue 20 */
  podReadyMs?: number;
  /** Controller loop period in ms. @defaultValue 5 */
  controllerIntervalMs?: number;
  /**
   * Real milliseconds per `progressDeadlineSeconds` second, so a test sees a deadline pass in ms.
   * @defaultValue 1000
   */
  msPerDeadlineSecond?: number;
  /** The controller's clock in ms. @defaultValue Date.now */
  now?: () => number;
  /** Port on 127.0.0.1. @defaultValue 0 (any free port) */
  port?: number;
}

/** What the fault knobs see of a request. */
export interface RequestSeen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** One request as the server answered it (or dropped it: status 0). */
export interface RequestRecord extends RequestSeen {
  status: number;
  at: number;
}

interface Fault {
  remaining: number;
  status: number | 'drop';
  when: (request: RequestSeen) => boolean;
}

type Kind = 'deployments' | 'replicasets' | 'services';
interface Rollout {
  templateHash: string;
  since: number;
  /** Once a rollout completed, its progress deadline no longer applies (pods failing later make it unavailable, not stuck). */
  completed: boolean;
}

const API_PREFIXES: Readonly<Record<Kind, string>> = { deployments: '/apis/apps/v1', replicasets: '/apis/apps/v1', services: '/api/v1' };
const LIST_KINDS: Readonly<Record<Kind | 'pods', string>> = { deployments: 'DeploymentList', replicasets: 'ReplicaSetList', services: 'ServiceList', pods: 'PodList' };
const OBJECT_KINDS: Readonly<Record<Kind, { kind: string; apiVersion: string }>> = {
  deployments: { kind: 'Deployment', apiVersion: 'apps/v1' },
  replicasets: { kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  services: { kind: 'Service', apiVersion: 'v1' },
};
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
const CRASH_RESTARTS = 3;

export class KubernetesStandIn {
  readonly name: string;
  /** Every request in order, with the status it got. */
  readonly requests: RequestRecord[] = [];
  private readonly objects: Record<Kind, Map<string, JsonObject>> = { deployments: new Map(), replicasets: new Map(), services: new Map() };
  private readonly rollouts = new Map<string, Rollout>();
  private readonly failingImages = new Map<string, string>();
  private readonly faults: Fault[] = [];
  private readonly watchers = new Set<{ namespace: string | undefined; response: ServerResponse }>();
  private readonly sockets = new Set<Socket>();
  private readonly requestListeners = new Set<(record: RequestRecord) => void>();
  private resourceVersion = 1;
  private stalled = false;
  private timer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private readonly podReadyMs: number;
  private readonly msPerDeadlineSecond: number;
  private readonly now: () => number;
  url = '';

  constructor({ name, podReadyMs = 20, msPerDeadlineSecond = 1_000, now = Date.now }: KubernetesStandInOptions) {
    this.name = name;
    this.podReadyMs = podReadyMs;
    this.msPerDeadlineSecond = msPerDeadlineSecond;
    this.now = now;
  }

  /** Starts the HTTP server and the controller loop. */
  static async start(options: KubernetesStandInOptions): Promise<KubernetesStandIn> {
    const standIn = new KubernetesStandIn(options);
    await standIn.listen(options.port ?? 0, options.controllerIntervalMs ?? 5);
    return standIn;
  }

  private async listen(port: number, intervalMs: number): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.timer = setInterval(() => this.reconcile(), intervalMs);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const watcher of this.watchers) watcher.response.end();
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- fault knobs ----

  /** Pods running `image` crash-loop (never ready) until `healPods`. */
  failPods(image: string, reason = 'CrashLoopBackOff'): void {
    this.failingImages.set(image, reason);
  }
  healPods(image: string): void {
    this.failingImages.delete(image);
  }
  /** A stalled controller observes nothing: no new generation is seen, no pod becomes ready. */
  stall(stalled = true): void {
    this.stalled = stalled;
  }
  /** The next `count` requests matching `when` get `status` (a Kubernetes Status body) instead of an answer. */
  rejectNext(count: number, status: number, when: (request: RequestSeen) => boolean = () => true): void {
    this.faults.push({ remaining: count, status, when });
  }
  /** The next `count` requests matching `when` have their connection destroyed before any answer (ECONNRESET). */
  dropNext(count: number, when: (request: RequestSeen) => boolean = () => true): void {
    this.faults.push({ remaining: count, status: 'drop', when });
  }
  clearFaults(): void {
    this.faults.length = 0;
    this.failingImages.clear();
    this.stalled = false;
  }
  /** Resolves with the first request (from now on) matching `predicate`. */
  nextRequest(predicate: (record: RequestRecord) => boolean): Promise<RequestRecord> {
    return new Promise((resolve) => {
      const listener = (record: RequestRecord) => {
        if (!predicate(record)) return;
        this.requestListeners.delete(listener);
        resolve(record);
      };
      this.requestListeners.add(listener);
    });
  }

  // ---- direct access for test setup and assertions (what `kubectl get -o json` would show) ----

  deployment(namespace: string, name: string): JsonObject | undefined {
    const found = this.objects.deployments.get(`${namespace}/${name}`);
    return found === undefined ? undefined : structuredClone(found);
  }
  service(namespace: string, name: string): JsonObject | undefined {
    const found = this.objects.services.get(`${namespace}/${name}`);
    return found === undefined ? undefined : structuredClone(found);
  }
  deploymentNames(namespace: string): string[] {
    return [...this.objects.deployments.keys()].filter((key) => key.startsWith(`${namespace}/`)).map((key) => key.slice(namespace.length + 1));
  }
  /** Creates (or replaces) objects as `kubectl apply` would, for test setup. */
  seed(kind: 'deployments' | 'services', object: JsonObject): void {
    const metadata = object['metadata'] as JsonObject;
    const namespace = (metadata['namespace'] as string | undefined) ?? 'default';
    const key = `${namespace}/${metadata['name'] as string}`;
    const existing = this.objects[kind].get(key);
    if (existing === undefined) this.create(kind, namespace, object);
    else this.write(kind, key, { ...structuredClone(object), metadata: { ...(object['metadata'] as JsonObject), resourceVersion: (existing['metadata'] as JsonObject)['resourceVersion'] as string } }, existing);
  }

  // ---- HTTP ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const raw = await readBody(request);
    const contentType = request.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      return this.reply({ method: request.method ?? 'GET', path: url.pathname, contentType, body: raw }, response, 400, status(400, 'BadRequest', 'request body is not JSON'));
    }
    const seen: RequestSeen = { method: request.method ?? 'GET', path: url.pathname, contentType, body };
    const fault = this.faults.find((f) => f.remaining > 0 && f.when(seen));
    if (fault !== undefined) {
      fault.remaining -= 1;
      if (fault.status === 'drop') {
        this.record(seen, 0);
        request.socket.destroy();
        return;
      }
      return this.reply(seen, response, fault.status, status(fault.status, reasonOf(fault.status), `injected by the stand-in '${this.name}'`));
    }
    try {
      const [code, answer] = this.route(seen, url, response);
      if (code === 0) {
        this.record(seen, 200);
        return;
      }
      this.reply(seen, response, code, answer);
    } catch (error) {
      this.reply(seen, response, 500, status(500, 'InternalError', String(error)));
    }
  }

  private reply(seen: RequestSeen, response: ServerResponse, code: number, answer: unknown): void {
    this.record(seen, code);
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer));
  }

  private record(seen: RequestSeen, code: number): void {
    const record = { ...seen, status: code, at: performance.now() };
    this.requests.push(record);
    for (const listener of [...this.requestListeners]) listener(record);
  }

  /** [status, body]; status 0 when the response is a watch stream left open. */
  private route(seen: RequestSeen, url: URL, response: ServerResponse): [number, unknown] {
    const { method, path } = seen;
    if (path === '/version') return [200, { major: '1', minor: '31', gitVersion: 'v1.31.0-gatehouse-stand-in', platform: 'linux/amd64' }];
    const match = /^\/(?:apis\/apps\/v1|api\/v1)(?:\/namespaces\/([^/]+))?\/(deployments|replicasets|services|pods)(?:\/([^/]+))?(?:\/(status))?$/.exec(path);
    if (match === null) return [404, status(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`)];
    const [, namespace, resource, name] = match as unknown as [string, string | undefined, Kind | 'pods', string | undefined];
    const expectedPrefix = resource === 'pods' ? '/api/v1' : API_PREFIXES[resource];
    if (!path.startsWith(expectedPrefix)) return [404, status(404, 'NotFound', `${resource} are not served under ${path}`)];
    const selector = url.searchParams.get('labelSelector') ?? undefined;
    if (resource === 'pods') {
      if (method !== 'GET' || name !== undefined) return [405, status(405, 'MethodNotAllowed', 'the stand-in serves pods as a list only')];
      return [200, this.list('pods', namespace, selector, this.pods(namespace))];
    }
    const kind = resource;
    if (name === undefined) {
      if (method === 'GET') {
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
          if (kind !== 'deployments') return [405, status(405, 'MethodNotAllowed', 'the stand-in watches deployments only')];
          this.watch(namespace, response, url.searchParams.get('resourceVersion') ?? undefined);
          return [0, undefined];
        }
        return [200, this.list(kind, namespace, selector, [...this.objects[kind].values()])];
      }
      if (method === 'POST' && namespace !== undefined) {
        if (kind === 'replicasets') return [405, status(405, 'MethodNotAllowed', 'replicasets are made by the deployment controller')];
        const object = seen.body as JsonObject | undefined;
        const objectName = (object?.['metadata'] as JsonObject | undefined)?.['name'];
        if (typeof objectName !== 'string' || objectName === '') return [422, status(422, 'Invalid', 'metadata.name: Required value')];
        if (this.objects[kind].has(`${namespace}/${objectName}`)) return [409, status(409, 'AlreadyExists', `${kind} "${objectName}" already exists`)];
        const invalid = validate(kind, object as JsonObject);
        if (invalid !== undefined) return [422, status(422, 'Invalid', invalid)];
        return [201, this.create(kind, namespace, object as JsonObject)];
      }
      return [405, status(405, 'MethodNotAllowed', `${method} on a ${kind} collection`)];
    }
    if (namespace === undefined) return [404, status(404, 'NotFound', 'namespaced resource without namespace')];
    const key = `${namespace}/${name}`;
    const existing = this.objects[kind].get(key);
    if (existing === undefined) return [404, status(404, 'NotFound', `${kind}.${OBJECT_KINDS[kind].apiVersion.split('/')[0] === 'v1' ? '' : 'apps'} "${name}" not found`)];
    switch (method) {
      case 'GET':
        return [200, existing];
      case 'DELETE':
        this.objects[kind].delete(key);
        if (kind === 'deployments') this.deleteOwned(namespace, name);
        this.bump();
        this.notify('DELETED', kind, existing);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind } }];
      case 'PUT': {
        const object = seen.body as JsonObject;
        const conflict = this.staleVersion(existing, object);
        if (conflict !== undefined) return [409, conflict];
        const invalid = validate(kind, object);
        if (invalid !== undefined) return [422, status(422, 'Invalid', invalid)];
        return [200, this.write(kind, key, object, existing)];
      }
      case 'PATCH': {
        let patched: Json;
        try {
          if (seen.contentType === MERGE_PATCH) patched = mergePatch(existing, seen.body as Json);
          else if (seen.contentType === STRATEGIC_MERGE_PATCH) patched = strategicMergePatch(existing, seen.body as Json);
          else if (seen.contentType === JSON_PATCH) patched = jsonPatch(existing, seen.body as JsonPatchOperation[]);
          else return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${JSON_PATCH}, ${MERGE_PATCH}, ${STRATEGIC_MERGE_PATCH}`)];
        } catch (error) {
          if (error instanceof JsonPatchError) return [error.failedTest ? 409 : 422, status(error.failedTest ? 409 : 422, error.failedTest ? 'Conflict' : 'Invalid', error.message)];
          throw error;
        }
        const conflict = this.staleVersion(existing, patched as JsonObject);
        if (conflict !== undefined) return [409, conflict];
        const invalid = validate(kind, patched as JsonObject);
        if (invalid !== undefined) return [422, status(422, 'Invalid', invalid)];
        return [200, this.write(kind, key, patched as JsonObject, existing)];
      }
      default:
        return [405, status(405, 'MethodNotAllowed', `${method} ${path}`)];
    }
  }

  /** A write naming a resourceVersion must name the current one (optimistic concurrency). */
  private staleVersion(existing: JsonObject, incoming: JsonObject): JsonObject | undefined {
    const sent = (incoming['metadata'] as JsonObject | undefined)?.['resourceVersion'];
    const current = (existing['metadata'] as JsonObject)['resourceVersion'];
    if (sent === undefined || sent === null || sent === current) return undefined;
    const name = (existing['metadata'] as JsonObject)['name'] as string;
    return status(409, 'Conflict', `Operation cannot be fulfilled on ${String(existing['kind']).toLowerCase()}s "${name}": the object has been modified; please apply your changes to the latest version and try again`);
  }

  private list(kind: Kind | 'pods', namespace: string | undefined, selector: string | undefined, items: JsonObject[]): JsonObject {
    const wanted = parseSelector(selector);
    const shown = items.filter((item) => {
      const metadata = item['metadata'] as JsonObject;
      if (namespace !== undefined && metadata['namespace'] !== namespace) return false;
      const labels = (metadata['labels'] ?? {}) as Record<string, string>;
      return Object.entries(wanted).every(([k, v]) => labels[k] === v);
    });
    return { kind: LIST_KINDS[kind], apiVersion: kind === 'services' || kind === 'pods' ? 'v1' : 'apps/v1', metadata: { resourceVersion: String(this.resourceVersion) }, items: shown };
  }

  private watch(namespace: string | undefined, response: ServerResponse, fromVersion: string | undefined): void {
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const watcher = { namespace, response };
    this.watchers.add(watcher);
    response.on('close', () => this.watchers.delete(watcher));
    // Without a resourceVersion a watch starts with the current objects, as synthetic ADDED events.
    if (fromVersion === undefined || fromVersion === '' || fromVersion === '0') {
      for (const object of this.objects.deployments.values()) {
        if (namespace === undefined || (object['metadata'] as JsonObject)['namespace'] === namespace) response.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
      }
    }
  }

  private notify(type: 'ADDED' | 'MODIFIED' | 'DELETED', kind: Kind, object: JsonObject): void {
    if (kind !== 'deployments') return;
    for (const { namespace, response } of this.watchers) {
      if (namespace === undefined || (object['metadata'] as JsonObject)['namespace'] === namespace) response.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private bump(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private create(kind: Kind, namespace: string, object: JsonObject): JsonObject {
    const metadata = { ...((object['metadata'] as JsonObject | undefined) ?? {}) };
    const created: JsonObject = {
      ...structuredClone(object),
      ...OBJECT_KINDS[kind],
      metadata: { ...metadata, namespace, uid: randomUUID(), resourceVersion: this.bump(), creationTimestamp: new Date(this.now()).toISOString(), ...(kind === 'deployments' ? { generation: 1 } : {}) },
    };
    if (kind === 'deployments') created['status'] = { observedGeneration: 0, replicas: 0 };
    this.objects[kind].set(`${namespace}/${metadata['name'] as string}`, created);
    this.notify('ADDED', kind, created);
    return created;
  }

  /** Stores a new version; a Deployment's generation moves when its spec does (status is the controller's). */
  private write(kind: Kind, key: string, object: JsonObject, existing: JsonObject): JsonObject {
    const before = existing['metadata'] as JsonObject;
    const after = (object['metadata'] as JsonObject | undefined) ?? {};
    const specChanged = JSON.stringify(object['spec']) !== JSON.stringify(existing['spec']);
    const metadataChanged = JSON.stringify({ ...after, resourceVersion: null }) !== JSON.stringify({ ...before, resourceVersion: null });
    if (!specChanged && !metadataChanged) return existing;
    const generation = kind === 'deployments' ? Number(before['generation'] ?? 1) + (specChanged ? 1 : 0) : undefined;
    const written: JsonObject = {
      ...structuredClone(object),
      ...OBJECT_KINDS[kind],
      metadata: { ...after, name: before['name'] as string, namespace: before['namespace'] as string, uid: before['uid'] as string, creationTimestamp: before['creationTimestamp'] as string, resourceVersion: this.bump(), ...(generation !== undefined ? { generation } : {}) },
      ...(kind === 'deployments' ? { status: existing['status'] ?? {} } : {}),
    };
    this.objects[kind].set(key, written);
    this.notify('MODIFIED', kind, written);
    return written;
  }

  private deleteOwned(namespace: string, name: string): void {
    for (const [key, rs] of this.objects.replicasets) {
      if (key.startsWith(`${namespace}/`) && ((rs['metadata'] as JsonObject)['ownerReferences'] as JsonObject[] | undefined)?.some((o) => o['name'] === name)) this.objects.replicasets.delete(key);
    }
    this.rollouts.delete(`${namespace}/${name}`);
  }

  // ---- the controller ----

  private reconcile(): void {
    if (this.stalled) return;
    const now = this.now();
    for (const [key, deployment] of this.objects.deployments) {
      const [namespace, name] = key.split('/') as [string, string];
      const spec = deployment['spec'] as JsonObject;
      const template = spec['template'] as JsonObject;
      const replicas = Number(spec['replicas'] ?? 1);
      const hash = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
      let rollout = this.rollouts.get(key);
      if (rollout?.templateHash !== hash) {
        rollout = { templateHash: hash, since: now, completed: false };
        this.rollouts.set(key, rollout);
      }
      const image = firstImage(template);
      const failing = image !== undefined && this.failingImages.has(image);
      const recreate = (spec['strategy'] as JsonObject | undefined)?.['type'] === 'Recreate';
      const elapsed = now - rollout.since;
      const readyNew = failing ? 0 : Math.min(replicas, this.podReadyMs <= 0 ? replicas : Math.floor(elapsed / this.podReadyMs));
      // Old pods (other templates) go as new ones become ready; Recreate removes them at once.
      const ownedOld = [...this.objects.replicasets.entries()].filter(([rsKey, rs]) => rsKey.startsWith(`${namespace}/${name}-`) && ((rs['metadata'] as JsonObject)['labels'] as JsonObject)['pod-template-hash'] !== hash);
      const oldReplicas = recreate ? 0 : Math.max(0, Math.min(ownedOld.reduce((n, [, rs]) => n + Number((rs['status'] as JsonObject)['replicas'] ?? 0), 0), replicas - readyNew));
      this.syncReplicaSets(namespace, name, deployment, hash, replicas, readyNew, oldReplicas, failing);
      const deadlineMs = Number(spec['progressDeadlineSeconds'] ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * this.msPerDeadlineSecond;
      const complete = readyNew === replicas && oldReplicas === 0;
      if (complete) rollout.completed = true;
      const progressing = complete || rollout.completed
        ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-${hash}" has successfully progressed.` }
        : elapsed > deadlineMs
          ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}-${hash}" has timed out progressing.` }
          : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}-${hash}" is progressing.` };
      const available = readyNew + oldReplicas;
      const status: JsonObject = {
        observedGeneration: Number((deployment['metadata'] as JsonObject)['generation']),
        replicas: replicas + oldReplicas,
        updatedReplicas: replicas,
        readyReplicas: available,
        availableReplicas: available,
        ...(replicas + oldReplicas - available > 0 ? { unavailableReplicas: replicas + oldReplicas - available } : {}),
        conditions: [{ type: 'Available', status: available >= replicas ? 'True' : 'False', reason: available >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' }, progressing],
      };
      if (JSON.stringify(status) === JSON.stringify(deployment['status'])) continue;
      const updated = { ...deployment, metadata: { ...(deployment['metadata'] as JsonObject), resourceVersion: this.bump() }, status };
      this.objects.deployments.set(key, updated);
      this.notify('MODIFIED', 'deployments', updated);
    }
  }

  private syncReplicaSets(namespace: string, name: string, deployment: JsonObject, hash: string, replicas: number, readyNew: number, oldReplicas: number, failing: boolean): void {
    const template = (deployment['spec'] as JsonObject)['template'] as JsonObject;
    const uid = (deployment['metadata'] as JsonObject)['uid'] as string;
    const key = `${namespace}/${name}-${hash}`;
    const labels = { ...(((template['metadata'] as JsonObject | undefined)?.['labels'] as JsonObject | undefined) ?? {}), 'pod-template-hash': hash };
    const current = this.objects.replicasets.get(key);
    const newSet: JsonObject = {
      ...OBJECT_KINDS.replicasets,
      metadata: { name: `${name}-${hash}`, namespace, labels, uid: (current?.['metadata'] as JsonObject | undefined)?.['uid'] ?? randomUUID(), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true }], resourceVersion: String(this.resourceVersion) },
      spec: { replicas, template: { ...template, metadata: { ...((template['metadata'] as JsonObject | undefined) ?? {}), labels } } },
      status: { replicas, readyReplicas: readyNew, availableReplicas: readyNew, ...(failing ? { failing: true } : {}) },
    };
    this.objects.replicasets.set(key, newSet);
    // Old sets shrink together to what is left of the old pods.
    let left = oldReplicas;
    for (const [rsKey, rs] of this.objects.replicasets) {
      if (rsKey === key || !rsKey.startsWith(`${namespace}/${name}-`)) continue;
      const had = Number((rs['status'] as JsonObject)['replicas'] ?? 0);
      const keep = Math.min(had, left);
      left -= keep;
      this.objects.replicasets.set(rsKey, { ...rs, spec: { ...(rs['spec'] as JsonObject), replicas: keep }, status: { replicas: keep, readyReplicas: keep, availableReplicas: keep } });
    }
  }

  /** Pods of every ReplicaSet: ready ones Running, the rest Pending, crash-looping when their image fails. */
  private pods(namespace: string | undefined): JsonObject[] {
    const pods: JsonObject[] = [];
    for (const rs of this.objects.replicasets.values()) {
      const metadata = rs['metadata'] as JsonObject;
      if (namespace !== undefined && metadata['namespace'] !== namespace) continue;
      const template = (rs['spec'] as JsonObject)['template'] as JsonObject;
      const replicas = Number((rs['spec'] as JsonObject)['replicas'] ?? 0);
      const ready = Number((rs['status'] as JsonObject)['readyReplicas'] ?? 0);
      const image = firstImage(template) ?? '';
      const crash = this.failingImages.get(image);
      for (let i = 0; i < replicas; i++) {
        const isReady = i < ready;
        const containerState: JsonObject = crash !== undefined ? { waiting: { reason: crash, message: `back-off restarting failed container (${image})` } } : isReady ? { running: { startedAt: new Date(this.now()).toISOString() } } : { waiting: { reason: 'ContainerCreating' } };
        pods.push({
          kind: 'Pod',
          apiVersion: 'v1',
          metadata: { name: `${metadata['name'] as string}-${i}`, namespace: metadata['namespace'] as string, labels: (template['metadata'] as JsonObject)['labels'] as JsonObject, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: metadata['name'] as string, controller: true }] },
          spec: template['spec'] as JsonObject,
          status: {
            phase: isReady || crash !== undefined ? 'Running' : 'Pending',
            conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }],
            containerStatuses: [{ name: firstContainerName(template) ?? 'app', image, ready: isReady, restartCount: crash !== undefined ? CRASH_RESTARTS : 0, state: containerState }],
          },
        });
      }
    }
    return pods;
  }
}

/** Starts one stand-in per cluster name. */
export async function startKubernetesStandIns(names: readonly string[], options: Omit<KubernetesStandInOptions, 'name' | 'port'> = {}): Promise<KubernetesStandIn[]> {
  return Promise.all(names.map((name) => KubernetesStandIn.start({ ...options, name })));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function status(code: number, reason: string, message: string): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function reasonOf(code: number): string {
  return ({ 409: 'Conflict', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' } as Record<number, string>)[code] ?? 'Unknown';
}

function parseSelector(selector: string | undefined): Record<string, string> {
  if (selector === undefined || selector === '') return {};
  return Object.fromEntries(
    selector.split(',').map((term) => {
      const [key, value] = term.split(/==?/) as [string, string | undefined];
      return [key.trim(), (value ?? '').trim()];
    }),
  );
}

/** The checks the real API server makes that Gatehouse could trip: a Deployment's selector must match its pods. */
function validate(kind: Kind, object: JsonObject): string | undefined {
  if (kind !== 'deployments') return undefined;
  const spec = object['spec'] as JsonObject | undefined;
  const selector = ((spec?.['selector'] as JsonObject | undefined)?.['matchLabels'] ?? {}) as Record<string, string>;
  const labels = ((((spec?.['template'] as JsonObject | undefined)?.['metadata'] as JsonObject | undefined)?.['labels'] ?? {}) as Record<string, string>);
  const mismatch = Object.entries(selector).find(([k, v]) => labels[k] !== v);
  if (Object.keys(selector).length === 0) return 'spec.selector: Required value';
  if (mismatch !== undefined) return `spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``;
  if (firstImage(spec?.['template'] as JsonObject) === undefined) return 'spec.template.spec.containers: Required value';
  return undefined;
}

function firstImage(template: JsonObject | undefined): string | undefined {
  const containers = (template?.['spec'] as JsonObject | undefined)?.['containers'] as JsonObject[] | undefined;
  const image = containers?.[0]?.['image'];
  return typeof image === 'string' ? image : undefined;
}

function firstContainerName(template: JsonObject): string | undefined {
  const containers = (template['spec'] as JsonObject | undefined)?.['containers'] as JsonObject[] | undefined;
  const name = containers?.[0]?.['name'];
  return typeof name === 'string' ? name : undefined;
}
