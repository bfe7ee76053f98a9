// The chaos harness itself: one container from the local image running a plain node script (the fenced resource),
// reached from the host at its fixed address, and every container-level fault applied to it and healed.

import { describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { ChaosEnv } from './harness/env.js';
import { crash, disconnect, dropIncoming, healDrops, pause, reconnect, startAgain, unpause } from './harness/faults.js';
import { startFencedResource } from './harness/fenced-resource.js';
import { ensureTestImage } from './harness/image.js';
import { CHAOS_POLL } from './harness/wait.js';

describe('chaos harness', () => {
  it('runs a node script in a container at a fixed address and applies and heals faults', async () => {
    await ensureTestImage();
    const env = await ChaosEnv.create('smoke');
    onTestFinished(() => env.dispose());
    const resource = await startFencedResource(env, 50);
    expect(resource.container.ip).toBe(env.ip(50));

    // Fencing: a lower token than one already seen is refused; equal or higher is accepted.
    expect(await resource.write('k', 5n, 'a')).toBe(true);
    expect(await resource.write('k', 7n, 'b')).toBe(true);
    expect(await resource.write('k', 6n, 'late')).toBe(false);
    expect(await resource.write('k', 7n, 'c')).toBe(true);
    expect((await resource.acceptedWrites()).map((write) => write.value)).toEqual(['a', 'b', 'c']);

    // Pause freezes the process; unpause resumes it with its memory intact.
    await pause(resource.container);
    expect(await resource.answers(500)).toBe(false);
    await unpause(resource.container);
    expect(await resource.answers(5_000)).toBe(true);

    // Dropping what the container receives from the host's address on the bridge cuts the host off; healing restores.
    await dropIncoming(resource.container, [env.ip(1)]);
    expect(await resource.answers(500)).toBe(false);
    await healDrops(resource.container);
    expect(await resource.answers(5_000)).toBe(true);

    // Disconnecting from the network cuts it off both ways; reconnecting brings it back at the same address.
    await disconnect(env, resource.container);
    expect(await resource.answers(500)).toBe(false);
    await reconnect(env, resource.container);
    await waitFor('resource answers after reconnecting', () => resource.answers(1_000), 10_000, CHAOS_POLL);
    expect((await resource.acceptedWrites()).length).toBe(3);

    // A crash loses the process (and its in-memory state); starting again keeps the address.
    await crash(resource.container);
    expect(await resource.answers(500)).toBe(false);
    await startAgain(resource.container);
    await waitFor('resource answers after restart', () => resource.answers(1_000), 30_000, CHAOS_POLL);
    expect(await resource.acceptedWrites()).toEqual([]);
  });
});
