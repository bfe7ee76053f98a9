// The deployment files agree with the server (issue 11): the Dockerfile is multi-stage, FROM a build argument, runs
// as a non-root user with /data a volume and a HEALTHCHECK on /livez; the Kubernetes StatefulSet's pods each resolve
// to a valid `forelock serve` configuration whose peers are the headless Service's DNS names, probed on /readyz and
// /livez, with a PodDisruptionBudget that keeps a quorum.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { environmentLayer, parseHostPort, resolveServerConfig } from '../../src/server/config.js';

const K8S_DIR = 'cluster/k8s';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, whose shape the assertions check
type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, any> };

async function manifests(): Promise<Manifest[]> {
  const files = (await readdir(K8S_DIR)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
  const documents: Manifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(K8S_DIR, file), 'utf8'))) {
      expect(document.errors).toEqual([]);
      documents.push(document.toJS() as Manifest);
    }
  }
  return documents;
}

const only = (all: Manifest[], kind: string, predicate: (each: Manifest) => boolean = () => true): Manifest => {
  const found = all.filter((each) => each.kind === kind && predicate(each));
  expect(found).toHaveLength(1);
  return found[0]!;
};

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('the Dockerfile', () => {
  it('is multi-stage FROM a build argument, non-root, with /data a volume and a HEALTHCHECK on /livez', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const instructions = dockerfile
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(instructions[0]).toMatch(/^ARG BASE_IMAGE=/);
    for (const from of froms) expect(from).toMatch(/^FROM \$\{BASE_IMAGE\}/);
    const user = instructions.find((line) => line.startsWith('USER '));
    expect(user).toBe('USER 10001:10001');
    expect(instructions).toContain('VOLUME ["/data"]');
    expect(instructions.find((line) => line.startsWith('HEALTHCHECK '))).toContain('/livez');
    // The final stage runs what the first one laid out, and owns nothing but /data.
    expect(instructions).toContain('COPY --from=app --chown=10001:10001 /data /data');
  });
});

describe('the Kubernetes manifests', () => {
  it('give every pod a valid configuration whose peers are the headless Service names of the pods', async () => {
    const all = await manifests();
    const statefulSet = only(all, 'StatefulSet');
    const headless = only(all, 'Service', (service) => service.spec.clusterIP === 'None');
    const podLabels = statefulSet.spec.template.metadata.labels as Record<string, string>;
    expect(statefulSet.spec.serviceName).toBe(headless.metadata.name);
    expect(matches(headless.spec.selector, podLabels)).toBe(true);
    // Members must find each other before any of them is ready.
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');

    const [container] = statefulSet.spec.template.spec.containers;
    const port = (name: string): number =>
      container.ports.find((each: { name: string }) => each.name === name).containerPort;
    const replicas = statefulSet.spec.replicas as number;
    const podNames = Array.from({ length: replicas }, (_, i) => `${statefulSet.metadata.name}-${i}`);
    for (const podName of podNames) {
      const env: Record<string, string> = {};
      for (const variable of container.env as { name: string; value?: string; valueFrom?: unknown }[]) {
        // The only variable taken from the pod is its id, from its name.
        env[variable.name] = variable.value ?? (variable.valueFrom === undefined ? '' : podName);
      }
      const config = resolveServerConfig(environmentLayer(env));
      expect(config.id).toBe(podName);
      expect(Object.keys(config.peers)).toEqual(podNames);
      for (const [peer, address] of Object.entries(config.peers)) {
        expect(parseHostPort(address, 'peer')).toEqual({
          host: `${peer}.${headless.metadata.name}`,
          port: port('grpc'),
        });
      }
      expect(config.listen.port).toBe(port('grpc'));
      expect(config.http.port).toBe(port('http'));
      expect(config.dataDir).toBe(
        container.volumeMounts.find((mount: { name: string }) => mount.name === 'data').mountPath,
      );
    }
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(statefulSet.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
  });

  it('has a PodDisruptionBudget for the pods that never takes the quorum', async () => {
    const all = await manifests();
    const statefulSet = only(all, 'StatefulSet');
    const budget = only(all, 'PodDisruptionBudget');
    expect(matches(budget.spec.selector.matchLabels, statefulSet.spec.template.metadata.labels)).toBe(true);
    const replicas = statefulSet.spec.replicas as number;
    const quorum = Math.floor(replicas / 2) + 1;
    const available = budget.spec.minAvailable ?? replicas - budget.spec.maxUnavailable;
    expect(available).toBeGreaterThanOrEqual(quorum);
  });

  it('lists every manifest in its kustomization', async () => {
    const kustomization = parseAllDocuments(await readFile(join(K8S_DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS();
    const files = (await readdir(K8S_DIR)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });
});
