import caseLog from './001_case_log';
import staffAndBot from './002_staff_and_bot';
import delivery from './003_delivery';
import caseImport from './004_case_import';
import reminders from './005_reminders';
import reminderCache from './006_reminder_cache';
import tafMeetings from './007_taf_meetings';
import reminderDigestDay from './008_reminder_digest_day';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in the order they apply. A migration once released is never edited: add the next one. */
export const MIGRATIONS: readonly Migration[] = [caseLog, staffAndBot, delivery, caseImport, reminders, reminderCache, tafMeetings, reminderDigestDay];
