import caseLog from './001_case_log';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in the order they apply. A migration once released is never edited: add the next one. */
export const MIGRATIONS: readonly Migration[] = [caseLog];
