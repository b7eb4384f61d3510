import type { LocalDate } from '../localDate';
import type { ObligationKind } from '../obligations';
import { isInDigest, isOpen } from './digest';
import type { DigestBook } from './digestBook';
import { cafAwaitingItem, plannedItem } from './items';
import type { People } from './people';
import type { CaseSnapshot } from './types';

/** Supervision is reminded to both the worker and the supervising manager (issue 8). */
export const SUPERVISION_KINDS: ReadonlySet<ObligationKind> = new Set(['supervision', 'supervision-record', 'supervision-authorised']);

/** The day a sweep plans digests for, worked out once per sweep. */
export interface DigestDay {
  today: LocalDate;
  /** The last day the day's digests list (`digestHorizonEnd`). */
  horizon: LocalDate;
  people: People;
}

/**
 * What one case puts in the day's digests: to the lead professional's manager, a CAF awaiting
 * their authorisation and the escalations still open (those of this very sweep too, so that the
 * digest says the same whenever in the day it is planned); to the lead professional (or whoever
 * covers while they are away) the case's items; supervision items to the supervising manager as
 * well. An obligation reaches a person once: an open escalation is not listed again as an item.
 */
export function addCaseToDigests(book: DigestBook, c: CaseSnapshot, escalatedNow: ReadonlySet<string>, day: DigestDay): void {
  if (c.state.status === 'closed') return;
  const { today, horizon, people } = day;
  const escalated = (id: string) => c.escalated.has(id) || escalatedNow.has(id);
  const manager = people.managerFor(c.state);
  const awaiting = cafAwaitingItem(c);
  if (awaiting) book.add(manager, awaiting);
  let recipient: ReturnType<People['itemsRecipient']> | undefined;
  for (const o of c.obligations) {
    const openEscalation = escalated(o.id) && isOpen(o);
    if (openEscalation) book.add(manager, plannedItem(c, o, today, 'open-escalation'));
    if (!isInDigest(o, today, horizon, c.snoozed.get(o.id))) continue;
    recipient ??= people.itemsRecipient(c.state);
    const item = plannedItem(c, o, today);
    book.add(recipient.recipient, openEscalation && recipient.recipient === manager ? null : item, recipient.onBehalfOf);
    if (!SUPERVISION_KINDS.has(o.kind)) continue;
    const supervisor = people.supervisorFor(c.state);
    if (supervisor && supervisor !== recipient.recipient && !(openEscalation && supervisor === manager)) book.add(supervisor, item);
  }
}
