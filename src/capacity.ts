/**
 * Caseload capacity (seed 000: the caseload tracking sheet): each case carries points, each worker
 * a capacity. Allocating past capacity is the manager's call, made knowingly: they are shown the new
 * total and confirm it, and the confirmation is recorded with the case.
 */
export interface CapacityAfter {
  /** Points the worker carries now, on cases not closed. */
  current: number;
  /** Points the worker would carry with this case. */
  total: number;
  capacity: number;
  /** Whether the new total is past the worker's capacity. */
  over: boolean;
}

export function capacityAfter(current: number, adding: number, capacity: number): CapacityAfter {
  const total = current + adding;
  return { current, total, capacity, over: total > capacity };
}

/**
 * Whether a confirmation covers this allocation: the manager confirmed this very total (a total
 * that has moved since they saw it, because someone else allocated meanwhile, asks again).
 */
export function confirmationCovers(check: CapacityAfter, confirmedTotal: number | undefined): boolean {
  return !check.over || confirmedTotal === check.total;
}
