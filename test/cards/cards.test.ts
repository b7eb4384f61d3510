import { cardSchemaValidator, parseWarnings, walkCard } from '../helpers/adaptiveCards';
import {
  allocationCard,
  cafAuthorisationCard,
  cafDecidedCard,
  caseCard,
  caseListCard,
  helpCard,
  noticeCard,
  personalChatCard,
  tafMeetingCard,
  tafMembersCard,
  unknownUserCard,
  welcomeCard,
} from '../../bot/cards/cards';
import { AdaptiveCard } from '../../bot/cards/template';
import { LocalDate } from '../../src/localDate';


const d = (s: string) => s as LocalDate;
const FAMILY = 'Fernsby';
const CHILD = 'Tallulah';
const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

const EXAMPLES: Array<[string, AdaptiveCard, { reference?: string }]> = [
  ['welcome', welcomeCard(), {}],
  ['help', helpCard('what is for lunch'), {}],
  ['unknown user', unknownUserCard('your Early Help systems administrator'), {}],
  ['notice', noticeCard({ title: 'Case EH-2041 allocated to you', summary: 'Case EH-2041 allocated to you', caseId: 'c1', reference: 'EH-2041' }), { reference: 'EH-2041' }],
  ['notice without a case', noticeCard({ title: 'Done', summary: 'Done' }), {}],
  ['case details asked for in a channel', personalChatCard({ title: 'Case EH-2041: details are for your personal chat.', summary: 'Open in your personal chat', command: 'case EH-2041' }), {}],
  [
    'allocation',
    allocationCard({ today: '2026-11-23' as LocalDate, workers: [{ id: 'w1', name: 'Sam Patel', points: 14, capacity: 20 }, { id: 'w2', name: 'Alex Kim', points: 3, capacity: 20 }] }),
    {},
  ],
  [
    'allocation re-shown with an error and the values entered',
    allocationCard({
      today: '2026-11-23' as LocalDate,
      workers: [{ id: 'w1', name: 'Sam Patel', points: 14, capacity: 20 }],
      values: { reference: 'EH-2041', familyName: FAMILY, children: `${CHILD}, 2019-04-02`, source: 'cin-step-down', leadProfessional: 'w1', caseloadPoints: 7, cafRequired: false, initialActions: 'x'.repeat(3000) },
      message: 'A CIN or SGCP step-down arrives with a plan: add the CAF Support Plan.',
    }),
    {},
  ],
  [
    'allocation past capacity, asking the manager to confirm the new total',
    allocationCard({
      today: '2026-11-23' as LocalDate,
      workers: [{ id: 'w1', name: 'Sam Patel', points: 18, capacity: 20 }],
      values: { reference: 'EH-2041', familyName: FAMILY, source: 'referral', leadProfessional: 'w1', caseloadPoints: 5, allocatedOn: '2026-11-20' },
      message: 'Sam Patel would carry 23 points, past their capacity of 20 (now 18). Confirm to allocate anyway.',
      confirm: { worker: 'Sam Patel', total: 23, capacity: 20 },
    }),
    {},
  ],
  [
    'case',
    caseCard({
      caseId: 'c1',
      reference: 'EH-2041',
      version: 3,
      family: FAMILY,
      children: [`${CHILD} ${FAMILY}, 7`, `Rex ${FAMILY}`],
      referralReason: 'School attendance below 80%',
      initialActions: 'Call mum; check school attendance',
      existingPlan: 'CIN plan: weekly school contact',
      leadProfessional: 'Sam Patel',
      allocatedOn: 'Mon 23 Nov',
      statusText: 'Open',
      cafText: 'Required: due Mon 21 Dec',
      decision: { title: 'CAF returned by Morgan Reid on Thu 26 Nov', comments: `Add ${CHILD}'s voice` },
      alerts: ['The child was not seen at the visit on Wed 25 Nov: the next visit should see the child.', 'Outstanding: consent form (Business Support marks them received).'],
      obligations: [
        { kind: 'telephone-contact', due: 'Wed 25 Nov', status: 'overdue' },
        { kind: 'taf-review', due: 'Mon 15 Feb 2027', status: 'due-soon' },
        { kind: 'caf-assessment', due: 'Thu 26 Nov', status: 'due-today' },
      ],
      today: d('2026-11-26'),
      canLogWork: true,
      canRecordForms: true,
      supervisionText: 'Last Fri 20 Nov: record not yet returned',
      canManage: false,
      message: 'The contact date cannot be in the future.',
    }),
    { reference: 'EH-2041' },
  ],
  [
    'case as its manager sees it, a reallocation past capacity to confirm',
    caseCard({
      caseId: 'c1',
      reference: 'EH-2041',
      version: 3,
      family: FAMILY,
      children: [`${CHILD} ${FAMILY}, 7`],
      referralReason: '',
      initialActions: 'Call mum',
      existingPlan: '',
      leadProfessional: 'Sam Patel',
      allocatedOn: 'Mon 23 Nov',
      statusText: 'Open',
      cafText: 'Required: due Mon 21 Dec',
      alerts: [],
      obligations: [{ kind: 'supervision', due: 'Wed 23 Dec', status: 'on-track' }],
      today: d('2026-11-26'),
      canLogWork: true,
      canRecordForms: false,
      supervisionText: 'Last Fri 20 Nov: record returned Tue 24 Nov, not yet authorised',
      canManage: true,
      workers: [{ id: 'w2', name: 'Alex Kim', points: 18, capacity: 20 }],
      caseloadPoints: 4,
      supervisionsOutstanding: [{ on: d('2026-11-20'), title: 'Fri 20 Nov: record to authorise' }],
      reallocation: { to: 'w2', reason: 'Sam is away' },
      confirm: { worker: 'Alex Kim', total: 22, capacity: 20 },
      message: 'Alex Kim would carry 22 points, past their capacity of 20 (now 18). Confirm to allocate anyway.',
    }),
    { reference: 'EH-2041' },
  ],
  ['case with nothing outstanding', caseCard({ caseId: 'c1', reference: 'EH-1', version: 1, family: FAMILY, children: [], referralReason: '', initialActions: 'None recorded.', existingPlan: '', leadProfessional: 'Sam', allocatedOn: 'Mon 23 Nov', statusText: 'Closed', cafText: 'Not required', alerts: [], obligations: [], today: d('2026-11-26'), canLogWork: false, canRecordForms: false, supervisionText: 'None recorded yet', canManage: false }), { reference: 'EH-1' }],
  [
    'CAF authorisation in a personal chat',
    cafAuthorisationCard({ caseId: 'c1', reference: 'EH-2041', submissionId: 's1', worker: 'Sam Patel', submittedOn: d('2026-12-18'), cafDue: d('2026-12-21'), canDecide: true, decider: 'Morgan Reid' }),
    { reference: 'EH-2041' },
  ],
  [
    'CAF authorisation in a channel, refreshed for 60 people',
    cafAuthorisationCard({ caseId: 'c1', reference: 'EH-2041', submissionId: 's1', worker: 'Sam Patel', submittedOn: d('2026-12-18'), cafDue: d('2026-12-21'), canDecide: false, decider: 'Morgan Reid', refreshUserIds: ids(75) }),
    { reference: 'EH-2041' },
  ],
  ['CAF decided', cafDecidedCard({ reference: 'EH-2041', outcome: 'returned', decidedBy: 'Morgan Reid', decidedAt: '2026-12-18 14:05', worker: 'Sam Patel', comments: 'Add the voice of the child' }), { reference: 'EH-2041' }],
  ['my cases', caseListCard({ title: 'Your cases', empty: 'No cases.', cases: [{ caseId: 'c1', reference: 'EH-2041', family: FAMILY, next: 'Telephone contact by Wed 25 Nov', status: 'overdue' }] }), {}],
  ['my cases, none', caseListCard({ title: 'Your cases', empty: 'You have no open cases.', cases: [] }), {}],
  [
    'TAF meeting booked in Outlook, after the deadline, someone invited not free',
    tafMeetingCard({
      summary: 'First TAF meeting for EH-2041 booked: Tue 5 Jan, 09:30\u201311:00',
      title: 'First TAF meeting booked: Tue 5 Jan, 09:30\u201311:00',
      heading: `Case EH-2041 \u00b7 ${FAMILY}`,
      meetingId: ids(1)[0],
      caseId: 'c1',
      view: 'booked',
      warnings: ['This is after the deadline, Mon 4 Jan: nothing was free in time.', 'Someone invited is not free then.'],
      joinUrl: 'https://teams.microsoft.com/l/meetup-join/19%3ameeting',
      webLink: 'https://outlook.office365.com/owa/?itemid=AAMk',
      move: { title: 'Move', hint: 'On a working day, starting between 09:30 and 14:30 (London).', date: '2027-01-05', time: '09:30', today: '2026-12-18', timeMin: '09:30', timeMax: '14:30' },
    }),
    { reference: 'EH-2041' },
  ],
  [
    'TAF meeting in local mode, asked after its end whether it was held, re-shown with a message',
    tafMeetingCard({
      summary: 'Was the first TAF meeting for EH-2041 held?',
      title: 'Was the first TAF meeting for EH-2041 on Wed 23 Dec held?',
      heading: `Case EH-2041 \u00b7 ${FAMILY}`,
      meetingId: ids(1)[0],
      caseId: 'c1',
      view: 'outcome',
      message: 'Say why the meeting did not take place.',
      lines: ['It was booked for Wed 23 Dec, 09:30\u201311:00.'],
      icsUrl: 'http://localhost:3978/api/meetings/00000000-0000-4000-8000-000000000000.ics?u=s&e=1&s=x',
      record: { heldDate: '2026-12-23', today: '2026-12-24', reasons: [{ value: 'other', title: 'Another reason' }], values: { attended: `Mum, ${CHILD}'s school`, notHeldNote: 'Mum was ill' } },
      move: { title: 'Moved', hint: 'On a working day.', date: '2026-12-23', time: '09:30', today: '2026-12-24', timeMin: '09:30', timeMax: '14:30' },
    }),
    { reference: 'EH-2041' },
  ],
  [
    'TAF meeting that could not be booked',
    tafMeetingCard({ summary: 'The first TAF meeting for EH-2041 could not be booked in Outlook', title: 'The first TAF meeting for EH-2041 could not be booked in Outlook', heading: `Case EH-2041 \u00b7 ${FAMILY}`, meetingId: ids(1)[0], caseId: 'c1', view: 'failed', lines: ['What went wrong: http 403.'], canRetry: true }),
    { reference: 'EH-2041' },
  ],
  ['TAF members, none yet', tafMembersCard({ caseId: 'c1', reference: 'EH-2041', heading: `Case EH-2041 \u00b7 ${FAMILY}`, members: [], canEdit: true }), { reference: 'EH-2041' }],
  [
    'TAF members, an add refused beside the e-mail with what was entered',
    tafMembersCard({
      caseId: 'c1',
      reference: 'EH-2041',
      heading: `Case EH-2041 \u00b7 ${FAMILY}`,
      members: [
        { id: ids(2)[0], name: 'Pat Head', agency: 'Greenfield Primary', email: 'head@greenfield.sch.example' },
        { id: ids(2)[1], name: `Jade ${FAMILY}`, agency: 'Family', email: 'parent.one@family.example' },
      ],
      canEdit: true,
      message: 'Give their e-mail address, e.g. name@school.example.',
      field: 'memberEmail',
      values: { name: `Rex ${FAMILY}`, agency: '', email: 'rex at home', family: true },
    }),
    { reference: 'EH-2041' },
  ],
  [
    'TAF members of a closed case, a message at the top',
    tafMembersCard({ caseId: 'c1', reference: 'EH-2041', heading: 'Case EH-2041', members: [{ id: ids(1)[0], name: 'Pat Head', agency: 'Greenfield Primary', email: 'head@greenfield.sch.example' }], canEdit: false, message: 'Case EH-2041 is closed.', note: 'The case is closed: its TAF members can no longer be changed.' }),
    { reference: 'EH-2041' },
  ],
];

describe('Adaptive Cards', () => {
  const validate = cardSchemaValidator();

  test.each(EXAMPLES)('%s validates against the Adaptive Card 1.5 schema', (_name, card) => {
    const ok = validate(card);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test.each(EXAMPLES)('%s parses without warnings in the adaptivecards library', (_name, card) => {
    expect(parseWarnings(card)).toEqual([]);
  });

  test.each(EXAMPLES)('%s is fully expanded, declares version 1.5 at most, and its actions carry their verb for the Submit fallback', (_name, card) => {
    expect(JSON.stringify(card)).not.toContain('${');
    expect(Number(card.version)).toBeLessThanOrEqual(1.5);
    walkCard(card, (n) => {
      if (n.type === 'Action.Execute') {
        expect(typeof n.verb).toBe('string');
        expect((n.data as Record<string, unknown>).verb).toBe(n.verb);
      }
    });
  });

  test.each(EXAMPLES)("%s: what a notification may show names no family or child, only the case reference", (_name, card, expected) => {
    const preview = String(card.fallbackText ?? '');
    expect(preview).not.toContain(FAMILY);
    expect(preview).not.toContain(CHILD);
    if (expected.reference) expect(preview).toContain(expected.reference);
  });

  test('a CAF authorisation card refreshes for at most 60 people, and a decided card has no refresh and no buttons', () => {
    const channel = EXAMPLES.find(([n]) => n.includes('60 people'))![1] as { refresh: { userIds: string[] } };
    expect(channel.refresh.userIds).toHaveLength(60);
    const personal = EXAMPLES.find(([n]) => n.includes('personal chat'))![1];
    expect(personal.refresh).toBeUndefined();
    const decided = EXAMPLES.find(([n]) => n === 'CAF decided')![1];
    expect(decided.refresh).toBeUndefined();
    expect(decided.actions ?? []).toEqual([]);
  });

  test('people who cannot decide see the status, not the buttons', () => {
    const channel = EXAMPLES.find(([n]) => n.includes('60 people'))![1];
    const titles = (channel.actions as Array<{ title: string }>).map((a) => a.title);
    expect(titles).toEqual(['Good assessment checklist']);
    expect(JSON.stringify(channel.body)).toContain('Waiting for Morgan Reid to decide.');
  });

  test('the allocation form shows each worker with points against capacity, and keeps what was entered when re-shown', () => {
    const card = EXAMPLES.find(([n]) => n.startsWith('allocation re-shown'))![1];
    const inputs: Record<string, Record<string, unknown>> = {};
    walkCard(card, (n) => {
      if (typeof n.id === 'string') inputs[n.id] = n;
    });
    expect((inputs.leadProfessional.choices as Array<{ title: string }>)[0].title).toBe('Sam Patel (14 / 20 points)');
    expect(inputs.reference.value).toBe('EH-2041');
    expect(inputs.caseloadPoints.value).toBe(7);
    expect(inputs.cafRequired.value).toBe('false');
    expect(JSON.stringify(card.body)).toContain('add the CAF Support Plan');
  });

  test('the TAF members card says a refusal beside its field, keeps what was entered, and offers no change on a closed case', () => {
    const refused = EXAMPLES.find(([n]) => n.startsWith('TAF members, an add refused'))![1];
    const form = (refused.body as Array<{ items?: Array<Record<string, unknown>> }>).at(-1)!.items!;
    const email = form.findIndex((n) => n.id === 'memberEmail');
    expect(form[email].value).toBe('rex at home');
    expect(form[email + 1]).toMatchObject({ type: 'TextBlock', text: 'Give their e-mail address, e.g. name@school.example.', color: 'Attention' });
    expect(form.find((n) => n.id === 'memberFamily')!.value).toBe('true');
    const closed = EXAMPLES.find(([n]) => n.startsWith('TAF members of a closed case'))![1];
    const titles: string[] = [];
    walkCard(closed, (n) => {
      if (typeof n.type === 'string' && n.type.startsWith('Action.')) titles.push(n.title);
      if (typeof n.type === 'string' && n.type.startsWith('Input.')) titles.push(n.id);
    });
    expect(titles).toEqual(['Open case']);
  });
});
