/** Which clusters a deployment touches, in which order (pure: the policy decides, the executor follows). */
import type { EnvironmentPolicy } from './schema.js';

export interface ClusterTarget {
  /** The cluster's name in the policy, e.g. "prod-k8s-cluster-03". */
  name: string;
  region: string;
  /** kubeconfig context (the policy's `context`, else the cluster's name). */
  context: string;
}

/** One wave: every cluster of one region, in policy order. */
export interface DeploymentWave {
  index: number;
  region: string;
  clusters: ClusterTarget[];
}

/**
 * The environment's deployment waves: region by region in the order of `regions`, cluster by cluster inside
 * a region. A cluster without a region belongs to the environment's only region (the load check refuses it
 * when there are several).
 */
export function deploymentWaves(policy: EnvironmentPolicy): DeploymentWave[] {
  const onlyRegion = policy.regions.length === 1 ? policy.regions[0] : undefined;
  const targets = policy.clusters.map((cluster) => ({ name: cluster.name, region: cluster.region ?? onlyRegion ?? '', context: cluster.context ?? cluster.name }));
  return policy.regions
    .map((region) => targets.filter((target) => target.region === region))
    .filter((clusters) => clusters.length > 0)
    .map((clusters, index) => ({ index, region: clusters[0]!.region, clusters }));
}

/** Problems with an environment's clusters, as `[path segments, problem]`; checked when the policy file is parsed. */
export function clusterProblems(policy: EnvironmentPolicy): [(string | number)[], string][] {
  const problems: [(string | number)[], string][] = [];
  const seen = new Map<string, number>();
  policy.clusters.forEach((cluster, i) => {
    const first = seen.get(cluster.name);
    if (first !== undefined) problems.push([['clusters', i, 'name'], `cluster '${cluster.name}' is listed twice (first at clusters[${first}])`]);
    else seen.set(cluster.name, i);
    if (cluster.region === undefined) {
      if (policy.regions.length !== 1) problems.push([['clusters', i, 'region'], `cluster '${cluster.name}' must name its region: the environment has ${policy.regions.length} regions (${policy.regions.join(', ')}) and deploys region by region`]);
    } else if (!policy.regions.includes(cluster.region)) {
      problems.push([['clusters', i, 'region'], `cluster '${cluster.name}' is in region '${cluster.region}', which is not one of the environment's regions (${policy.regions.join(', ')})`]);
    }
  });
  return problems;
}
