import { CaseEvent, NewCaseEvent, validateNewEvent } from './caseEvents';

/**
 * A case that lives only in memory: the events given, numbered as the log would number them.
 * For the CLI's `deadlines` ("what would be due if ...") and for tests and benchmarks.
 */
export function hypotheticalCase(events: readonly NewCaseEvent[], caseId = 'hypothetical'): CaseEvent[] {
  return events.map((e, i) => {
    const valid = validateNewEvent(e);
    return {
      ...valid,
      id: `${caseId}#${i + 1}`,
      caseId,
      sequence: i + 1,
      recordedAt: `${valid.effectiveOn}T12:00:00.000Z`,
    } as CaseEvent;
  });
}
