import { Database } from './database';

/**
 * What keeps booked meetings in step with Outlook (issue 9): the change-notification subscription
 * on each organiser's calendar, with the secret (`clientState`) Graph echoes in every notification,
 * and each calendar's delta link for the reconciliation. SQL only.
 */
export interface CalendarSubscription {
  id: string;
  mailbox: string;
  clientState: string;
  expiresAt: Date;
}

export type CalendarSyncStore = ReturnType<typeof createCalendarSyncStore>;

export function createCalendarSyncStore(db: Database) {
  const subscriptionOf = (r: { id: string; mailbox: string; client_state: string; expires_at: string | Date }): CalendarSubscription => ({ id: r.id, mailbox: r.mailbox, clientState: r.client_state, expiresAt: new Date(r.expires_at) });
  return {
    async subscriptions(): Promise<CalendarSubscription[]> {
      return (await db.query<{ id: string; mailbox: string; client_state: string; expires_at: string }>('SELECT id, mailbox, client_state, expires_at FROM graph_subscriptions ORDER BY mailbox')).map(subscriptionOf);
    },
    async subscription(id: string): Promise<CalendarSubscription | null> {
      const [r] = await db.query<{ id: string; mailbox: string; client_state: string; expires_at: string }>('SELECT id, mailbox, client_state, expires_at FROM graph_subscriptions WHERE id = $1', [id]);
      return r ? subscriptionOf(r) : null;
    },
    /** The mailbox's subscription, replacing any it had. */
    async saveSubscription(s: CalendarSubscription): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query('DELETE FROM graph_subscriptions WHERE mailbox = $1 AND id <> $2', [s.mailbox, s.id]);
        await tx.query(
          `INSERT INTO graph_subscriptions (id, mailbox, client_state, expires_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
          [s.id, s.mailbox, s.clientState, s.expiresAt.toISOString()],
        );
      });
    },
    async dropSubscription(id: string): Promise<void> {
      await db.query('DELETE FROM graph_subscriptions WHERE id = $1', [id]);
    },
    async deltaLink(mailbox: string): Promise<string | null> {
      const [r] = await db.query<{ delta_link: string | null }>('SELECT delta_link FROM calendar_sync WHERE mailbox = $1', [mailbox]);
      return r?.delta_link ?? null;
    },
    async saveDeltaLink(mailbox: string, link: string | null, window?: { start: Date; end: Date }): Promise<void> {
      await db.query(
        `INSERT INTO calendar_sync (mailbox, delta_link, window_start, window_end, synced_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (mailbox) DO UPDATE SET delta_link = EXCLUDED.delta_link, window_start = COALESCE(EXCLUDED.window_start, calendar_sync.window_start),
           window_end = COALESCE(EXCLUDED.window_end, calendar_sync.window_end), synced_at = now()`,
        [mailbox, link, window?.start.toISOString() ?? null, window?.end.toISOString() ?? null],
      );
    },
    /** The end of the window the mailbox's delta link covers. */
    async windowEnd(mailbox: string): Promise<Date | null> {
      const [r] = await db.query<{ window_end: string | Date | null }>('SELECT window_end FROM calendar_sync WHERE mailbox = $1', [mailbox]);
      return r?.window_end ? new Date(r.window_end) : null;
    },
  };
}
