// Fault injection on chaos containers: crash, restart with data kept, stop-the-world pause, symmetric partition
// (network disconnect), one-way drops (iptables in the container's network namespace, applied from the host with
// nsenter), and delay/jitter/drop through the server's own transport fault hook (enabled only by a test flag).

import { docker, runHost } from './docker.js';
import type { ChaosEnv, EnvContainer } from './env.js';

/** Crashes the container (SIGKILL): no shutdown hook runs. */
export async function crash(container: EnvContainer): Promise<void> {
  await docker(['kill', '--signal', 'KILL', container.id]);
}

/** Starts a stopped or crashed container again; its filesystem (and so its data directory) and address are kept. */
export async function startAgain(container: EnvContainer): Promise<void> {
  await docker(['start', container.id]);
}

/** Stops the container gracefully (SIGTERM, then SIGKILL after `graceSeconds`) and starts it again. */
export async function restartGracefully(container: EnvContainer, graceSeconds = 5): Promise<void> {
  await docker(['restart', '--time', String(graceSeconds), container.id]);
}

/** Stops the container gracefully (SIGTERM, then SIGKILL after `graceSeconds`); its filesystem is kept. */
export async function stopGracefully(container: EnvContainer, graceSeconds = 10): Promise<void> {
  await docker(['stop', '--time', String(graceSeconds), container.id]);
}

/** Freezes every process of the container (cgroup freezer): like a stop-the-world GC pause. */
export async function pause(container: EnvContainer): Promise<void> {
  await docker(['pause', container.id]);
}

/** Thaws a paused container. */
export async function unpause(container: EnvContainer): Promise<void> {
  await docker(['unpause', container.id]);
}

/** Detaches the container from the environment's network: nothing reaches it and it reaches nothing. */
export async function disconnect(env: ChaosEnv, container: EnvContainer): Promise<void> {
  await docker(['network', 'disconnect', '--force', env.network.getName(), container.id]);
}

/** Reattaches the container at its own address. */
export async function reconnect(env: ChaosEnv, container: EnvContainer): Promise<void> {
  await docker(['network', 'connect', '--ip', container.ip, env.network.getName(), container.id]);
}

async function containerPid(container: EnvContainer): Promise<string> {
  return docker(['inspect', '-f', '{{.State.Pid}}', container.id]);
}

async function iptablesIn(container: EnvContainer, rule: readonly string[]): Promise<void> {
  await runHost('nsenter', ['-t', await containerPid(container), '-n', 'iptables', '-w', ...rule]);
}

/**
 * One-way partition: packets from `from` to each address in `toIps` are dropped (in `from`'s OUTPUT chain), while
 * traffic the other way still flows. TCP replies also flow back, so a connection opened by the far side still
 * delivers its requests to `from`, but nothing `from` sends to those addresses arrives.
 */
export async function dropOutgoing(from: EnvContainer, toIps: readonly string[]): Promise<void> {
  for (const ip of toIps) await iptablesIn(from, ['-A', 'OUTPUT', '-d', ip, '-j', 'DROP']);
}

/** Drops every packet `at` receives from each address in `fromIps` (in `at`'s INPUT chain). */
export async function dropIncoming(at: EnvContainer, fromIps: readonly string[]): Promise<void> {
  for (const ip of fromIps) await iptablesIn(at, ['-A', 'INPUT', '-s', ip, '-j', 'DROP']);
}

/** Cuts `side` off from every address in `otherIps`, both ways (rules in each of `side`'s containers). */
export async function partition(side: readonly EnvContainer[], otherIps: readonly string[]): Promise<void> {
  for (const container of side) {
    await dropOutgoing(container, otherIps);
    await dropIncoming(container, otherIps);
  }
}

/** Removes every iptables rule the helpers above added in `container`. */
export async function healDrops(container: EnvContainer): Promise<void> {
  await iptablesIn(container, ['-F', 'INPUT']);
  await iptablesIn(container, ['-F', 'OUTPUT']);
}

/** Transport faults for traffic from one node to one peer, as the server's `POST /test/faults` takes them. */
export interface TransportFault {
  /** The peer's node id. */
  readonly peer: string;
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Fraction of messages dropped, 0-1. */
  readonly dropRate: number;
}

/** Sets a transport fault on the node whose HTTP endpoint is `httpUrl` (needs `--test-fault-injection`). */
export async function setTransportFault(httpUrl: string, fault: TransportFault): Promise<void> {
  const response = await fetch(`${httpUrl}/test/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`POST ${httpUrl}/test/faults: ${response.status} ${await response.text()}`);
}
