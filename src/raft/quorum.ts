// Majority counting: the one rule every vote, commit, read and reconfiguration check counts with.

/** Members needed for a majority of `voters`. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}
