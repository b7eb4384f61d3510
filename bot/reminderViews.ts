import { permits } from '../src/access';
import { caseState } from '../src/caseState';
import { LocalDate } from '../src/localDate';
import { deadlineOf, Obligation } from '../src/obligations';
import type { PlannedItem, PlannedNotification } from '../src/reminders/plan';
import { plannedFromPayload } from '../src/reminders/reminderPayload';
import { StaffMember } from '../src/staff';
import { CaseRecord } from '../src/storage/caseLog';
import { formatDay, OBLIGATION_LABELS, STATUS_WORDS } from './cards/labels';
import { AdaptiveCard, expandCard } from './cards/template';
import { obligationsOf } from './caseViews';
import { doneActionOf } from './reminderWork';
import { BotServices } from './services';
import { nameIn, staffNames } from './staffNames';

/**
 * A reminder from the outbox drawn for its recipient when it is delivered (and again after each
 * action on it): the plan says which obligations, the case log says whether they are still owed.
 * An item met since the plan is left off; a reminder with nothing left is not sent at all. The
 * preview carries case references and obligations only; the body, in the person's own chat, the
 * family name beside the reference.
 */

export interface ReminderMessage {
  id: number;
  recipient?: { staffId: string } | { conversationId: string } | null;
  payload: Record<string, unknown>;
}

interface ItemView {
  index: number;
  caseId: string;
  heading: string;
  detail: string;
  statusText: string;
  canDone: boolean;
  doneLabel: string;
  canSnooze: boolean;
  snoozeDefault: string;
  deadline: string;
  deadlineDate: string;
  canNote: boolean;
  canReallocate: boolean;
}

/** Whether a planned item is still owed, and the obligation as it now stands (undefined for a CAF awaiting). */
function stillOwed(item: PlannedItem, record: CaseRecord, owed: Obligation[]): { owed: boolean; obligation?: Obligation } {
  if (item.kind === 'caf-awaiting') return { owed: caseState(record.events).cafAwaitingDecision?.id === item.obligationId };
  const obligation = owed.find((o) => o.id === item.obligationId);
  return { owed: !!obligation && (obligation.status === 'upcoming' || obligation.status === 'due-today' || obligation.status === 'overdue'), obligation };
}

const statusOf = (item: PlannedItem, o: Obligation | undefined) => (item.kind === 'caf-awaiting' ? STATUS_WORDS['awaiting-you'] : o?.status === 'overdue' ? STATUS_WORDS.overdue : o?.status === 'due-today' ? STATUS_WORDS['due-today'] : STATUS_WORDS['due-soon']);

/** The items still owed, read as the recipient (each case read audited, through the one access rule). */
async function itemViews(services: BotServices, viewer: StaffMember, plan: PlannedNotification): Promise<ItemView[]> {
  const today = services.today();
  const caseIds = [...new Set(plan.items.map((i) => i.caseId))];
  const records = new Map((await services.caseLog.readMany(caseIds, { actor: viewer.id })).map((r) => [r.caseId, r]));
  const snoozed = await services.reminders.snoozesOf(caseIds, viewer.id);
  const names = await staffNames(services, [...records.values()].map((r) => caseState(r.events).leadProfessional));
  const views: ItemView[] = [];
  for (const [index, item] of plan.items.entries()) {
    const record = records.get(item.caseId);
    if (!record) continue;
    const state = caseState(record.events);
    const lead = await services.directory.get(state.leadProfessional);
    const facts = { leadProfessional: state.leadProfessional, manager: state.manager, team: lead?.team ?? '' };
    if (!permits(viewer, 'read', facts) || state.status === 'closed') continue;
    const { owed, obligation } = stillOwed(item, record, obligationsOf(services, record.events));
    if (!owed) continue;
    const until = snoozed.get(item.caseId)?.get(item.obligationId);
    if (plan.type === 'digest' && until && until > today && obligation?.status !== 'overdue') continue;
    const deadline = obligation ? deadlineOf(obligation) : item.due;
    const whose = state.leadProfessional === viewer.id ? '' : ` (${nameIn(names, state.leadProfessional)})`;
    const label = item.kind === 'caf-awaiting' ? `CAF awaiting your authorisation since ${formatDay(item.due, today)}` : `${OBLIGATION_LABELS[item.obligation]}: ${obligation?.status === 'overdue' ? 'was due' : 'due'} ${formatDay(deadline, today)}${item.kind === 'open-escalation' ? ', escalated' : ''}`;
    const done = obligation ? doneActionOf(obligation) : null;
    views.push({
      index,
      caseId: item.caseId,
      heading: `${record.reference}${state.family?.name ? ` · ${state.family.name}` : ''}${whose}`,
      detail: label,
      statusText: statusOf(item, obligation).text,
      canDone: plan.type !== 'team-digest' && !!done && permits(viewer, done.permission, facts),
      doneLabel: done?.label ?? '',
      canSnooze: plan.type === 'digest' && item.kind === 'item' && !!obligation && obligation.status !== 'overdue' && services.calendar.addWorkingDays(today, 1) <= deadline,
      snoozeDefault: services.calendar.addWorkingDays(today, 1),
      deadline: formatDay(deadline, today),
      deadlineDate: deadline,
      canNote: plan.type === 'escalation' && permits(viewer, 'reallocate', facts),
      canReallocate: plan.type === 'escalation' && permits(viewer, 'reallocate', facts),
    });
  }
  return views;
}

/** What a notification may show: references and obligations, never a family's name. */
function previewOf(plan: PlannedNotification, items: ItemView[]): string {
  const shown = items.slice(0, 3).map((v) => {
    const item = plan.items[v.index];
    return `${item.case} ${item.kind === 'caf-awaiting' ? 'CAF awaiting you' : OBLIGATION_LABELS[item.obligation].toLowerCase()}`;
  });
  const more = items.length > 3 ? ` and ${items.length - 3} more` : '';
  if (plan.type === 'escalation') return `Escalation: ${shown[0] ?? 'an obligation'}`;
  if (plan.type === 'team-digest') return 'Your team this week';
  return shown.length ? `Due: ${shown.join('; ')}${more}` : 'Early Help: who cannot be reached';
}

/** The reminder card, or null when nothing in it is still owed (it is then not sent). */
export async function reminderCardFor(services: BotServices, viewer: StaffMember, message: ReminderMessage, extra: { message?: string; notice?: string } = {}): Promise<AdaptiveCard | null> {
  const plan = plannedFromPayload(message.payload);
  const today = services.today();
  const items = await itemViews(services, viewer, plan);
  const names = await staffNames(services, [...(plan.unreachable ?? []), ...(plan.onBehalfOf ?? [])]);
  const unreachable = (plan.unreachable ?? []).map((id) => nameIn(names, id));
  const team = plan.teamSummary ? await teamLines(services, plan) : { team: [], longOpen: [] };
  const nothing = items.length === 0 && unreachable.length === 0 && team.team.length === 0;
  if (nothing && !extra.notice && !extra.message) return null;
  const onBehalf = (plan.onBehalfOf ?? []).map((id) => nameIn(names, id));
  const first = plan.items[items[0]?.index ?? 0];
  const title =
    plan.type === 'escalation'
      ? `Escalation: ${first ? `${OBLIGATION_LABELS[first.obligation]} on case ${first.case}` : 'an obligation'}`
      : plan.type === 'team-digest'
        ? `${plan.teamSummary?.team ?? 'Your'} team: week of ${formatDay(plan.day as LocalDate, today)}`
        : `Your Early Help day: ${formatDay(plan.day as LocalDate, today)}`;
  const subtitle =
    plan.type === 'escalation'
      ? 'Not recorded by its deadline: the escalation process starts with you. It is recorded on the case.'
      : plan.type === 'digest'
        ? `${items.length} ${items.length === 1 ? 'item' : 'items'}: decisions and escalations first, then overdue, due today and due by the end of the next working day.${onBehalf.length ? ` Including the items of ${onBehalf.join(', ')} while they are away.` : ''}`
        : '';
  return expandCard('reminder', {
    summary: previewOf(plan, items),
    title,
    subtitle,
    message: extra.message ?? '',
    notice: extra.notice ?? '',
    empty: plan.type === 'team-digest' ? '' : 'Nothing left to do here.',
    items,
    reminderId: String(message.id),
    today,
    unreachable: unreachable.length ? `Cannot be reached in Teams: ${unreachable.join(', ')}. Their reminders wait until they open Early Help in Teams; please ask them to.` : '',
    team: team.team,
    longOpen: team.longOpen,
  });
}

async function teamLines(services: BotServices, plan: PlannedNotification): Promise<{ team: Array<{ line: string }>; longOpen: Array<{ line: string }> }> {
  const s = plan.teamSummary!;
  const names = await staffNames(services, [...s.workers.map((w) => w.worker), ...s.longOpenCases.map((c) => c.worker)]);
  const team = s.workers.map((w) => ({ line: `${nameIn(names, w.worker)}: ${w.openCases} open ${w.openCases === 1 ? 'case' : 'cases'} · ${w.caseloadPoints} / ${w.capacityPoints} points${w.caseloadPoints > w.capacityPoints ? ' (over capacity)' : ''} · ${w.overdue ? `${STATUS_WORDS.overdue.cue} ${w.overdue} overdue` : 'nothing overdue'}` }));
  const today = services.today();
  const longOpen = s.longOpenCases.map((c) => ({ line: `${c.case} (${nameIn(names, c.worker)}): allocated ${formatDay(c.allocatedOn, today)}, past the maximum since ${formatDay(c.maximumReachedOn, today)}` }));
  return { team, longOpen };
}

/** Draws a queued reminder for its recipient at delivery; null when it is no longer owed (cancelled, not sent). */
export async function renderReminder(services: BotServices, message: ReminderMessage): Promise<{ card: AdaptiveCard } | null> {
  const staffId = message.recipient && 'staffId' in message.recipient ? message.recipient.staffId : null;
  const viewer = staffId ? await services.directory.get(staffId) : null;
  if (!viewer?.active) return null;
  const card = await reminderCardFor(services, viewer, message);
  return card ? { card } : null;
}
