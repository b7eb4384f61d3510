import { Activity, ConversationReference, TestAdapter, TurnContext } from 'botbuilder';
import { renderMessage } from '../../bot/rendering';
import { startDeliveryLoop } from '../../bot/deliveryLoop';
import { EarlyHelpBot } from '../../bot/earlyHelpBot';
import { Dispatcher } from '../../src/delivery/dispatcher';
import { Notifier } from '../../bot/notifier';
import { BotServices, createBotServices } from '../../bot/services';
import { AdaptiveCard } from '../../bot/cards/template';
import { Database } from '../../src/storage/database';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { StaffMember } from '../../src/staff';
import { SAM, TEAM } from './demoStaff';

export interface Sent {
  conversationId: string;
  activity: Partial<Activity>;
}

/**
 * botbuilder's TestAdapter, able to continue a conversation from a stored reference as the real
 * CloudAdapter does, and keeping every activity sent or updated, with the conversation it went to.
 */
export class ProactiveTestAdapter extends TestAdapter {
  readonly sent: Sent[] = [];
  readonly updated: Sent[] = [];

  override async sendActivities(context: TurnContext, activities: Partial<Activity>[]) {
    for (const activity of activities) this.sent.push({ conversationId: context.activity.conversation.id, activity });
    return super.sendActivities(context, activities);
  }

  override async updateActivity(context: TurnContext, activity: Partial<Activity>): Promise<void> {
    this.updated.push({ conversationId: activity.conversation?.id ?? context.activity.conversation.id, activity });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async continueConversationAsync(_appId: any, reference: Partial<ConversationReference>, logicOrAudience: any, maybeLogic?: any): Promise<void> {
    const logic = (typeof logicOrAudience === 'function' ? logicOrAudience : maybeLogic) as (context: TurnContext) => Promise<void>;
    const activity = TurnContext.applyConversationReference({ type: 'event', name: 'continueConversation' }, reference, true);
    await this.runMiddleware(new TurnContext(this, activity), logic);
  }
}

export interface BotUnderTest {
  adapter: ProactiveTestAdapter;
  delivery: Dispatcher;
  bot: EarlyHelpBot;
  services: BotServices;
  today: { value: string };
  /** Runs one incoming activity through the bot; returns what was sent during it. */
  send(activity: Partial<Activity>): Promise<Sent[]>;
  /** A message from a member of staff in their personal chat with the bot. */
  say(member: StaffMember, text: string): Promise<Sent[]>;
  /** An Action.Execute from a member of staff; returns the card that replaces the one clicked. */
  execute(member: StaffMember, verb: string, data: Record<string, unknown>, conversation?: { id: string; conversationType: string }): Promise<{ status: number; card: AdaptiveCard; sent: Sent[] }>;
  /** Installs the bot in a member's personal chat (stores the reference; welcome). */
  install(member: StaffMember): Promise<Sent[]>;
  /** An allocation form as a manager fills it in (a fictional family, a new reference each time), with `extra` fields over it. */
  allocationForm(extra?: Record<string, unknown>): Record<string, unknown> & { reference: string };
  /** A manager allocates a case from the form; fails the test if no case was opened. */
  allocate(manager: StaffMember, extra?: Record<string, unknown>): Promise<{ status: number; card: AdaptiveCard; sent: Sent[]; caseId: string; reference: string }>;
}

export const personalChatOf = (m: StaffMember) => `personal:${m.id}`;

export async function botUnderTest(db: Database, staff: readonly StaffMember[] = TEAM): Promise<BotUnderTest> {
  await createStaffDirectory(db).save(staff, 'test');
  const today = { value: '2026-11-23' };
  const services = createBotServices(db, { now: () => new Date(`${today.value}T10:00:00Z`) });
  const adapter = new ProactiveTestAdapter();
  // The outbox's sender over the same adapter, as the server runs it: the pacing is Teams' own, and
  // every turn below waits until what it queued has been delivered (or set to wait).
  const delivery = startDeliveryLoop({ db, adapter, appId: '', conversations: services.conversations, render: (message) => renderMessage(services, message), dispatcher: { pollMs: 50 } });
  const bot = new EarlyHelpBot(services, new Notifier(adapter, '', services.conversations), delivery);
  const drain = async () => {
    for (let i = 0; i < 50; i++) {
      const run = await delivery.runOnce();
      if (run.claimed === 0 && (await pendingCount(db)) === 0) return;
      if (run.claimed === 0) await new Promise((r) => setTimeout(r, 20));
    }
  };
  let n = 0;
  const from = (m: StaffMember) => ({ id: `29:${m.id}`, name: m.name, aadObjectId: m.id });
  const send = async (activity: Partial<Activity>) => {
    const before = adapter.sent.length;
    await adapter.processActivity({ id: `act-${++n}-${Date.now()}`, channelId: 'msteams', serviceUrl: 'https://smba.example/', recipient: { id: '28:bot', name: 'Early Help' }, ...activity } as Activity, (ctx) => bot.run(ctx));
    await drain();
    return adapter.sent.slice(before);
  };
  let references = 0;
  const allocationForm = (extra: Record<string, unknown> = {}) => ({
    reference: `EH-${3000 + ++references}`,
    familyName: 'Fernsby',
    children: 'Tallulah Fernsby, 2019-04-02\nRex Fernsby',
    referralReason: 'Attendance',
    source: 'referral',
    leadProfessional: SAM.id,
    // No points: the tests allocate many cases to Sam (capacity 20); capacity has tests of its own (test/bot/caseload.test.ts).
    caseloadPoints: '0',
    initialActions: 'Call mum',
    cafRequired: 'true',
    ...extra,
  });
  const harness: BotUnderTest = {
    adapter,
    bot,
    delivery,
    services,
    today,
    send,
    say: (member, text) => send({ type: 'message', text, from: from(member), conversation: { id: personalChatOf(member), conversationType: 'personal' } as never }),
    install: (member) =>
      send({ type: 'installationUpdate', action: 'add', from: from(member), conversation: { id: personalChatOf(member), conversationType: 'personal' } as never }),
    async execute(member, verb, data, conversation) {
      const sent = await send({
        type: 'invoke',
        name: 'adaptiveCard/action',
        from: from(member),
        conversation: (conversation ?? { id: personalChatOf(member), conversationType: 'personal' }) as never,
        value: { action: { type: 'Action.Execute', verb, data: { verb, ...data } }, trigger: 'manual' },
      });
      const response = sent.find((s) => s.activity.type === 'invokeResponse')!.activity.value as { status: number; body: { statusCode: number; value: AdaptiveCard } };
      return { status: response.body.statusCode, card: response.body.value, sent: sent.filter((s) => s.activity.type !== 'invokeResponse') };
    },
    allocationForm,
    async allocate(manager, extra = {}) {
      const form = allocationForm(extra);
      const result = await harness.execute(manager, 'allocateCase', form);
      const [row] = await db.query<{ id: string }>('SELECT id FROM cases WHERE reference = $1', [form.reference]);
      if (!row) throw new Error(`not allocated: ${textOf(result.card)}`);
      return { ...result, caseId: row.id, reference: form.reference };
    },
  };
  return harness;
}

/** The Adaptive Card in a sent message. */
export function cardOf(sent: Sent | undefined): AdaptiveCard {
  const content = sent?.activity.attachments?.[0]?.content as AdaptiveCard | undefined;
  if (!content) throw new Error(`no card in ${JSON.stringify(sent?.activity)}`);
  return content;
}

/** All the text a card shows, for assertions that read as what a person sees. */
export function textOf(card: AdaptiveCard): string {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      for (const key of ['text', 'title', 'value']) if (typeof o[key] === 'string') out.push(o[key] as string);
      Object.values(o).forEach(walk);
    }
  };
  walk(card.body);
  walk(card.actions);
  return out.join('\n');
}

/** Messages the outbox still owes (pending, claimed or not). */
async function pendingCount(db: Database): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE status = 'pending' AND kind IN ('card', 'case-view') AND not_before <= now()`);
  return row.n;
}

/**
 * The sends the adapter makes outside a person's turn (a `continueConversation`: the outbox's
 * deliveries, or a card sent to someone's own chat), recorded as they happen, in order. The same
 * activity objects as in `adapter.sent`, so `activity.id` is the id the outbox records as delivered.
 */
export function recordProactiveSends(adapter: ProactiveTestAdapter): Sent[] {
  const proactive: Sent[] = [];
  const send = adapter.sendActivities.bind(adapter);
  adapter.sendActivities = async (context: TurnContext, activities: Partial<Activity>[]) => {
    if (context.activity.type === 'event' && context.activity.name === 'continueConversation') {
      for (const activity of activities) proactive.push({ conversationId: context.activity.conversation.id, activity });
    }
    return send(context, activities);
  };
  return proactive;
}

/** A person opens their existing personal chat with the bot (Teams' conversationUpdate, the bot among the members added). */
export function openChat(b: BotUnderTest, member: StaffMember): Promise<Sent[]> {
  return b.send({
    type: 'conversationUpdate',
    membersAdded: [{ id: '28:bot', name: 'Early Help' }],
    from: { id: `29:${member.id}`, name: member.name, aadObjectId: member.id } as never,
    conversation: { id: personalChatOf(member), conversationType: 'personal' } as never,
  });
}

/**
 * Waits until the outbox owes nothing to anyone who can be reached: no `card` or `case-view` row is
 * pending for a person or chat that has a conversation with the bot (pacing may hold one back a
 * moment after a turn's drain). Rows for people who have never opened the bot are left waiting.
 */
export async function settleDelivery(b: BotUnderTest, timeoutMs = 15_000): Promise<void> {
  const db = b.services.db;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox o
        WHERE o.status = 'pending' AND o.kind IN ('card', 'case-view', 'reminder')
          AND EXISTS (SELECT 1 FROM conversation_references c
                       WHERE (o.recipient_staff_id IS NOT NULL AND c.staff_id = o.recipient_staff_id AND c.conversation_type = 'personal')
                          OR (o.conversation_id IS NOT NULL AND c.conversation_id = o.conversation_id))`,
    );
    if (row.n === 0) return;
    if (Date.now() > deadline) throw new Error(`the outbox still owes ${row.n} message(s) to people who can be reached after ${timeoutMs} ms`);
    const run = await b.delivery.runOnce();
    if (run.claimed === 0) await new Promise((r) => setTimeout(r, 50));
  }
}
