/**
 * deploy/k8s/*.yaml: every document is built as its kubernetes-models model and validated against the
 * Kubernetes OpenAPI schema (types, required fields, enums), so a malformed manifest fails here. Those
 * validators ignore unknown keys, so the checks below also pin what each workload must carry: probes,
 * resources, the entry it runs, a Service selecting it, and policies identical to deploy/policies.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const k8sDir = path.join(root, 'deploy/k8s');
const SERVICES = ['change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'];

type Doc = Record<string, any>;
const MODELS: Record<string, new (data: any) => { validate(): void; toJSON(): unknown }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
};

const files = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort();
const docs: { file: string; doc: Doc }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(k8sDir, file), 'utf8')).map((parsed) => {
    if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: parsed.toJS() as Doc };
  }),
);
const ofKind = (kind: string) => docs.filter(({ doc }) => doc['kind'] === kind).map(({ doc }) => doc);

describe('deploy/k8s manifests', () => {
  it.each(docs.map(({ file, doc }) => [`${file} ${doc['kind']}/${doc['metadata']?.name}`, doc] as const))('%s is a valid Kubernetes object', (_label, doc) => {
    const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
    expect(Model).toBeDefined();
    expect(() => new Model!(doc).validate()).not.toThrow();
    expect(doc['metadata']['namespace'] ?? (doc['kind'] === 'Namespace' ? undefined : 'missing')).toBe(doc['kind'] === 'Namespace' ? undefined : 'gatehouse');
  });

  it('runs the gateway, the relay and each service, each with probes, resources and a Service', () => {
    const deployments = ofKind('Deployment');
    expect(deployments.map((d) => d['metadata']['name']).sort()).toEqual(['gateway', 'relay', ...SERVICES].sort());
    for (const deployment of deployments) {
      const name = deployment['metadata']['name'] as string;
      const pod = deployment['spec']['template'];
      expect(pod['metadata']['labels']).toMatchObject(deployment['spec']['selector']['matchLabels']);
      const [container] = pod['spec']['containers'];
      expect(container['command']).toEqual(['node', `apps/${name}/dist/main.js`]);
      expect(existsSync(path.join(root, 'apps', name, 'src/main.ts'))).toBe(true);
      expect(container['readinessProbe']['httpGet']).toEqual({ path: '/health/ready', port: 'http' });
      expect(container['livenessProbe']['httpGet']).toEqual({ path: '/health/live', port: 'http' });
      expect(container['ports']).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 8080 }));
      expect(container['resources']['requests']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container['resources']['limits']['memory']).toEqual(expect.any(String));
      expect(container['envFrom']).toEqual([{ configMapRef: { name: 'gatehouse-config' } }, { secretRef: { name: 'gatehouse-secrets' } }]);
      expect(container['volumeMounts']).toContainEqual({ name: 'policies', mountPath: '/etc/gatehouse/policies', readOnly: true });
      expect(pod['spec']['volumes']).toContainEqual({ name: 'policies', configMap: { name: 'gatehouse-policies' } });
      const service = ofKind('Service').find((s) => s['metadata']['name'] === name);
      expect(service?.['spec']['selector']).toEqual(deployment['spec']['selector']['matchLabels']);
      expect(service?.['spec']['ports'][0]['targetPort']).toBe('http');
    }
    expect(deployments.find((d) => d['metadata']['name'] === 'relay')!['spec']['replicas']).toBeGreaterThanOrEqual(2);
  });

  it('configures what the standalone host requires, with secrets only as placeholders', () => {
    const config = ofKind('ConfigMap').find((c) => c['metadata']['name'] === 'gatehouse-config')!;
    expect(config['data']).toMatchObject({ NATS_URL: expect.stringMatching(/^nats:\/\//), GATEHOUSE_POLICIES: '/etc/gatehouse/policies', HOST: '0.0.0.0', PORT: '8080' });
    const secret = ofKind('Secret').find((s) => s['metadata']['name'] === 'gatehouse-secrets')!;
    expect(Object.keys(secret['stringData']).sort()).toEqual(['DATABASE_URL', 'GATEHOUSE_JWT_SECRET']);
    const placeholders = (name: string) => Object.values(ofKind('Secret').find((s) => s['metadata']['name'] === name)!['stringData'] as Record<string, string>);
    expect(placeholders('gatehouse-nats').every((value) => value.startsWith('REPLACE-ME'))).toBe(true);
    expect(placeholders('gatehouse-command-keys').every((value) => value.startsWith('REPLACE-ME'))).toBe(true);
    expect(secret['stringData']['GATEHOUSE_JWT_SECRET']).toMatch(/^REPLACE-ME/);
    expect(secret['stringData']['GATEHOUSE_JWT_SECRET'].length).toBeGreaterThanOrEqual(32);
    expect(secret['stringData']['DATABASE_URL']).toMatch(/^postgres:\/\/.*REPLACE-ME/);
  });

  it('ships exactly the policies of deploy/policies', () => {
    const policies = ofKind('ConfigMap').find((c) => c['metadata']['name'] === 'gatehouse-policies')!;
    const dir = path.join(root, 'deploy/policies');
    const expected = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
    expect(policies['data']).toEqual(expected);
  });

  it('provides NATS with JetStream and PostgreSQL as StatefulSets', () => {
    const sets = ofKind('StatefulSet');
    expect(sets.map((s) => s['metadata']['name']).sort()).toEqual(['nats', 'postgres']);
    // JetStream is switched on by the configuration NATS runs (deploy/nats/nats-server.conf), not by a flag.
    expect(ofKind('ConfigMap').find((c) => c['metadata']['name'] === 'gatehouse-nats-config')!['data']['nats-server.conf']).toMatch(/^jetstream \{ store_dir: "\/data\/jetstream" \}$/m);
  });

  it('runs NATS with deploy/nats/nats-server.conf and its passwords, and each pod as its own NATS user', () => {
    const config = ofKind('ConfigMap').find((c) => c['metadata']['name'] === 'gatehouse-nats-config')!;
    expect(config['data']['nats-server.conf']).toBe(readFileSync(path.join(root, 'deploy/nats/nats-server.conf'), 'utf8'));
    const nats = ofKind('StatefulSet').find((s) => s['metadata']['name'] === 'nats')!['spec']['template']['spec'];
    expect(nats['containers'][0]['args']).toEqual(['-c', '/etc/nats/nats-server.conf', '-m', '8222']);
    expect(nats['containers'][0]['envFrom']).toEqual([{ secretRef: { name: 'gatehouse-nats' } }]);
    expect(nats['volumes']).toContainEqual({ name: 'config', configMap: { name: 'gatehouse-nats-config' } });
    const passwords = Object.keys(ofKind('Secret').find((s) => s['metadata']['name'] === 'gatehouse-nats')!['stringData']);
    const users = [...readFileSync(path.join(root, 'deploy/nats/nats-server.conf'), 'utf8').matchAll(/password: \$(\w+)/g)].map((m) => m[1]);
    expect(passwords.sort()).toEqual(users.sort());
    for (const deployment of ofKind('Deployment')) {
      const name = deployment['metadata']['name'] as string;
      const env = deployment['spec']['template']['spec']['containers'][0]['env'] as Doc[];
      const variable = (n: string) => env.find((e) => e['name'] === n);
      expect(variable('NATS_USER')).toEqual({ name: 'NATS_USER', value: name });
      expect(variable('NATS_PASSWORD')?.['valueFrom']['secretKeyRef']).toEqual({ name: 'gatehouse-nats', key: `GATEHOUSE_NATS_${name.toUpperCase().replace(/-/g, '_')}_PASSWORD` });
      expect(variable('GATEHOUSE_COMMAND_PUBLIC_KEYS')?.['valueFrom']['secretKeyRef']).toEqual({ name: 'gatehouse-command-keys', key: 'GATEHOUSE_COMMAND_PUBLIC_KEYS' });
      const signing = variable('GATEHOUSE_COMMAND_SIGNING_KEY')?.['valueFrom']['secretKeyRef'];
      expect(signing).toEqual(['gateway', 'approvals', 'deployments'].includes(name) ? { name: 'gatehouse-command-keys', key: `${name}-signing-key` } : undefined);
    }
  });
});
