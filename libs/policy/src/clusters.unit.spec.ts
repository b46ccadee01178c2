import { readdirSync, readFileSync } from 'node:fs';
import { deploymentWaves, getEnvironmentPolicy, loadPolicySet, PolicyValidationError } from './index.js';

const POLICY_DIR = new URL('../../../deploy/policies/', import.meta.url);
const file = (name: string) => ({ name, contents: readFileSync(new URL(name, POLICY_DIR), 'utf8') });
const production = () => file('production.yaml');
/** Every repository policy, with production's contents replaced (production promotes from staging, which needs development). */
const withProduction = (contents: string) => [...readdirSync(POLICY_DIR).filter((n) => n.endsWith('.yaml') && n !== 'production.yaml').map(file), { name: 'production.yaml', contents }];

function problemsOf(contents: string): string[] {
  try {
    loadPolicySet(withProduction(contents));
  } catch (error) {
    if (error instanceof PolicyValidationError) return error.issues.map((i) => `${i.path}: ${i.problem}`);
    throw error;
  }
  return [];
}

describe('deployment waves from the environment policy', () => {
  it('production goes region by region in policy order, cluster by cluster inside a region', () => {
    const policy = getEnvironmentPolicy(loadPolicySet(withProduction(production().contents)), 'production');
    expect(deploymentWaves(policy)).toEqual([
      { index: 0, region: 'us-west-2', clusters: [{ name: 'prod-k8s-cluster-01', region: 'us-west-2', context: 'prod-k8s-cluster-01' }, { name: 'prod-k8s-cluster-02', region: 'us-west-2', context: 'prod-k8s-cluster-02' }] },
      { index: 1, region: 'us-east-1', clusters: [{ name: 'prod-k8s-cluster-03', region: 'us-east-1', context: 'prod-k8s-cluster-03' }] },
      { index: 2, region: 'eu-west-1', clusters: [{ name: 'prod-k8s-cluster-04', region: 'eu-west-1', context: 'prod-k8s-cluster-04' }] },
    ]);
  });

  it('a cluster of a single-region environment belongs to that region; a context overrides the name', () => {
    const staging = getEnvironmentPolicy(loadPolicySet([file('staging.yaml'), file('development.yaml')]), 'staging');
    expect(deploymentWaves(staging)).toEqual([{ index: 0, region: 'us-west-2b', clusters: [{ name: 'staging-k8s-cluster-01', region: 'us-west-2b', context: 'staging-k8s-cluster-01' }] }]);
    const renamed = production().contents.replace('  - name: prod-k8s-cluster-03\n', '  - name: prod-k8s-cluster-03\n    context: arn:aws:eks:us-east-1:1:cluster/prod-03\n');
    const policy = getEnvironmentPolicy(loadPolicySet(withProduction(renamed)), 'production');
    expect(deploymentWaves(policy)[1]?.clusters[0]?.context).toBe('arn:aws:eks:us-east-1:1:cluster/prod-03');
  });

  it('reads back a version recorded before clusters named their regions (history, audits), while activation refuses it', () => {
    const before = production().contents.replace(/\n    region: [a-z0-9-]+/g, '');
    expect(problemsOf(before)).toEqual(expect.arrayContaining([expect.stringMatching(/must name its region/)]));
    const recorded = loadPolicySet(withProduction(before), { recorded: true });
    expect(getEnvironmentPolicy(recorded, 'production').clusters.map((c) => c.name)).toHaveLength(4);
  });

  it('refuses at load a cluster in a region the environment does not list, naming the cluster', () => {
    const contents = production().contents.replace('region: eu-west-1', 'region: ap-south-1');
    expect(problemsOf(contents)).toEqual([expect.stringMatching(/^clusters\[3\]\.region: cluster 'prod-k8s-cluster-04' is in region 'ap-south-1', which is not one of/)]);
  });

  it('refuses a cluster without a region in a multi-region environment, and a cluster listed twice', () => {
    const noRegion = production().contents.replace('  - name: prod-k8s-cluster-03\n    region: us-east-1\n', '  - name: prod-k8s-cluster-03\n');
    expect(problemsOf(noRegion)).toEqual([expect.stringMatching(/^clusters\[2\]\.region: cluster 'prod-k8s-cluster-03' must name its region/)]);
    const twice = production().contents.replace('name: prod-k8s-cluster-02', 'name: prod-k8s-cluster-01');
    expect(problemsOf(twice)).toEqual([expect.stringMatching(/^clusters\[1\]\.name: cluster 'prod-k8s-cluster-01' is listed twice/)]);
  });
});
