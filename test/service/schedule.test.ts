import { describe, expect, it } from 'vitest';
import { nextDueAt, pickLane } from '../../src/service/schedule.js';
import type { QueueLane } from '../../src/service/store/types.js';

const lane = (memberId: string, dueAt: number | undefined, servedSeq: number): QueueLane => ({ memberId, dueAt, servedSeq });

describe('pickLane: which portal the worker serves next', () => {
  it('serves the portal served longest ago among those with work due, however much work each has', () => {
    const lanes = [lane('busy', 0, 7), lane('quiet', 500, 3), lane('later', 5000, 1)];
    expect(pickLane(lanes, 1000)).toBe('quiet');
    // Once served, the quiet portal goes to the back of the line.
    expect(pickLane([lane('busy', 0, 7), lane('quiet', 500, 8)], 1000)).toBe('busy');
  });

  it('skips portals whose job runs now, portals with nothing due and portals with nothing queued', () => {
    const lanes = [lane('running', 0, 1), lane('future', 2000, 0), lane('empty', undefined, 0), lane('due', 900, 5)];
    expect(pickLane(lanes, 1000, new Set(['running']))).toBe('due');
    expect(pickLane(lanes, 1000, new Set(['running', 'due']))).toBeUndefined();
  });

  it('among portals never served, the earliest due goes first', () => {
    expect(pickLane([lane('b', 300, 0), lane('a', 200, 0)], 1000)).toBe('a');
  });

  it('a backlog of 10,000 gets one turn per round: two portals alternate', () => {
    const lanes = new Map([['a', lane('a', 0, 0)], ['b', lane('b', 10, 0)]]);
    const order: string[] = [];
    for (let seq = 1; seq <= 6; seq++) {
      const next = pickLane([...lanes.values()], 100) as string;
      order.push(next);
      lanes.set(next, { ...lanes.get(next)!, servedSeq: seq });
    }
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });
});

describe('nextDueAt', () => {
  it('is the earliest due time of the portals not running now', () => {
    const lanes = [lane('a', 300, 0), lane('b', 100, 0), lane('c', undefined, 0)];
    expect(nextDueAt(lanes)).toBe(100);
    expect(nextDueAt(lanes, new Set(['b']))).toBe(300);
    expect(nextDueAt([lane('c', undefined, 0)])).toBeUndefined();
  });
});
