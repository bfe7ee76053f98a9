// What a resumed session's locks become: the cluster lists, in the Opened frame, the locks it holds for the session;
// a lock the client holds that the list does not name with the same token was lost while the stream was away (revoked,
// or expired and granted anew). A lock the list names that the client does not know is a grant a re-sent acquire will
// claim, or the orphan of a cancelled acquire whose re-sent request releases it: nothing to do for it here. Pure: the
// SDK's Client and the lock simulator's clients both follow it (docs/design.md, "Simulation").

/** A lock by name and fencing token. */
export interface NamedToken {
  readonly name: string;
  readonly token: bigint;
}

/** The names of the locks in `held` that `listed` (what the cluster holds for the resumed session) does not name. */
export function locksLostOnResume(held: Iterable<NamedToken>, listed: Iterable<NamedToken>): string[] {
  const tokens = new Map<string, bigint>();
  for (const { name, token } of listed) tokens.set(name, token);
  const lost: string[] = [];
  for (const { name, token } of held) if (tokens.get(name) !== token) lost.push(name);
  return lost;
}
