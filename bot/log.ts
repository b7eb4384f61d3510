import pino from 'pino';

/**
 * The bot's log. Callers pass ids, types and counts only; the redaction below is a second line of
 * defence against a child's name or a family's circumstances reaching a log line.
 */
export const log = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  redact: { paths: ['text', 'value', 'data', '*.text', '*.value', '*.data', 'activity', 'card', 'family', '*.family'], censor: '[redacted]' },
});
