import { Database } from './database';

/**
 * Where the bot can reach people and chats proactively, kept in PostgreSQL so that any number of
 * bot instances share it. A reference is stored as the channel gave it, opaque to the core.
 */
export interface StoredConversation {
  conversationId: string;
  staffId: string | null;
  conversationType: string;
  reference: Record<string, unknown>;
}

export type ConversationStore = ReturnType<typeof createConversationStore>;

export function createConversationStore(db: Database) {
  return {
    async save(c: StoredConversation): Promise<void> {
      await db.query(
        `INSERT INTO conversation_references (conversation_id, staff_id, conversation_type, reference) VALUES ($1, $2, $3, $4)
         ON CONFLICT (conversation_id) DO UPDATE SET staff_id = COALESCE($2, conversation_references.staff_id), conversation_type = $3, reference = $4, updated_at = now()`,
        [c.conversationId, c.staffId, c.conversationType, JSON.stringify(c.reference)],
      );
    },
    /** True for exactly one caller per install, however many updates arrive at once. */
    async claimWelcome(conversationId: string): Promise<boolean> {
      const rows = await db.query('UPDATE conversation_references SET welcomed_at = now() WHERE conversation_id = $1 AND welcomed_at IS NULL RETURNING 1', [conversationId]);
      return rows.length === 1;
    },
    /**
     * The bot can no longer reach this chat (removed, or Teams says the conversation is gone):
     * the reference is dropped, so nothing more is sent to it until it is stored again.
     */
    async forget(conversationId: string): Promise<void> {
      await db.query('DELETE FROM conversation_references WHERE conversation_id = $1', [conversationId]);
    },
    /** Uninstalled: the next install is welcomed again. */
    async forgetWelcome(conversationId: string): Promise<void> {
      await db.query('UPDATE conversation_references SET welcomed_at = NULL WHERE conversation_id = $1', [conversationId]);
    },
    /** The staff who have a personal chat with the bot (who can be reached in Teams), in one read. */
    async staffWithPersonalChat(): Promise<Set<string>> {
      const rows = await db.query<{ staff_id: string }>(`SELECT DISTINCT staff_id FROM conversation_references WHERE conversation_type = 'personal' AND staff_id IS NOT NULL`);
      return new Set(rows.map((r) => r.staff_id));
    },
    async personalChatOf(staffId: string): Promise<StoredConversation | null> {
      const [row] = await db.query<{ conversation_id: string; staff_id: string; conversation_type: string; reference: Record<string, unknown> }>(
        `SELECT conversation_id, staff_id, conversation_type, reference FROM conversation_references WHERE staff_id = $1 AND conversation_type = 'personal' ORDER BY updated_at DESC LIMIT 1`,
        [staffId],
      );
      return row ? { conversationId: row.conversation_id, staffId: row.staff_id, conversationType: row.conversation_type, reference: row.reference } : null;
    },
    async get(conversationId: string): Promise<StoredConversation | null> {
      const [row] = await db.query<{ conversation_id: string; staff_id: string | null; conversation_type: string; reference: Record<string, unknown> }>(
        'SELECT conversation_id, staff_id, conversation_type, reference FROM conversation_references WHERE conversation_id = $1',
        [conversationId],
      );
      return row ? { conversationId: row.conversation_id, staffId: row.staff_id, conversationType: row.conversation_type, reference: row.reference } : null;
    },
    /** Remembers a card the bot posted, so that a decision can update every copy of it. */
    async recordPostedCard(card: { activityId: string; conversationId: string; caseId: string; purpose: string; subjectId: string }): Promise<void> {
      await db.query(
        'INSERT INTO posted_cards (activity_id, conversation_id, case_id, purpose, subject_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [card.activityId, card.conversationId, card.caseId, card.purpose, card.subjectId],
      );
    },
    async postedCards(purpose: string, subjectId: string): Promise<Array<{ activityId: string; conversationId: string }>> {
      const rows = await db.query<{ activity_id: string; conversation_id: string }>('SELECT activity_id, conversation_id FROM posted_cards WHERE purpose = $1 AND subject_id = $2', [purpose, subjectId]);
      return rows.map((r) => ({ activityId: r.activity_id, conversationId: r.conversation_id }));
    },
  };
}
