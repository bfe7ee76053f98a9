// The local test image: built by scripts/build-test-image.sh (nothing pulled), reused while its inputs are unchanged.

import { fileURLToPath } from 'node:url';
import { runHost } from './docker.js';

/** Name of the image every chaos container runs. */
export const TEST_IMAGE = process.env.FORELOCK_TEST_IMAGE ?? 'forelock-test:latest';

const buildScript = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));

/** Builds the test image when it is missing or older than dist/ (the script checks a content hash). */
export async function ensureTestImage(): Promise<void> {
  await runHost('bash', [buildScript], 300_000);
}
