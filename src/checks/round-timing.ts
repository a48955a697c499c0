// When a check's next round is due: the one rule for the JS scheduler and the native engine (native/src/tcp_probe.cc
// RoundDone says the same in C++; test/unit/checks/round-timing.test.ts pins both to it).

/**
 * The time the round after one scheduled at `scheduledAt` (its place in the interval, the first round's respread
 * included) and started at `startedAt` is due, in the same clock.
 *
 * - On time (started less than an interval late): one interval after it was due. Rounds never drift: a round a little
 *   late is followed at its usual place.
 * - After a stall (started an interval or more late: a frozen process, a paused VM, a check slower than the interval):
 *   the first time of the check's own place in the interval that is at least half an interval after the late start.
 *   Checks stalled together (all started at once when the stall ended) so go back to their places, spread over the
 *   interval as before, instead of running together from then on; the gap to the late round stays between half an
 *   interval and one and a half.
 *
 * The caller starts the round no earlier than now and never while the previous one runs.
 */
export function nextRoundDue(scheduledAt: number, startedAt: number, intervalMs: number): number {
  if (startedAt - scheduledAt < intervalMs) return scheduledAt + intervalMs;
  const intervals = Math.ceil((startedAt + intervalMs / 2 - scheduledAt) / intervalMs);
  return scheduledAt + intervals * intervalMs;
}
