// Which portal the worker serves next: pure, no I/O. Each portal is a lane of its own queue; the worker runs at most
// one job per portal at a time (a portal's REST budget is its own, so its jobs wait on it, not on each other), and
// among the portals that have work due it serves the one served longest ago. A portal with 10,000 queued jobs
// therefore gets one turn in every round, like a portal with one.
import type { QueueLane } from './store/types.js';

export function pickLane(lanes: readonly QueueLane[], now: number, busy: ReadonlySet<string> = new Set()): string | undefined {
  let best: QueueLane | undefined;
  for (const lane of lanes) {
    if (lane.dueAt === undefined || lane.dueAt > now || busy.has(lane.memberId)) continue;
    if (!best || lane.servedSeq < best.servedSeq || (lane.servedSeq === best.servedSeq && lane.dueAt < (best.dueAt as number))) best = lane;
  }
  return best?.memberId;
}

/** When the next job of a portal not in `busy` falls due. */
export function nextDueAt(lanes: readonly QueueLane[], busy: ReadonlySet<string> = new Set()): number | undefined {
  let next: number | undefined;
  for (const lane of lanes) {
    if (lane.dueAt === undefined || busy.has(lane.memberId)) continue;
    if (next === undefined || lane.dueAt < next) next = lane.dueAt;
  }
  return next;
}
