import pino from 'pino';

const options: pino.LoggerOptions = {
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  redact: { paths: ['text', 'value', 'data', '*.text', '*.value', '*.data', 'activity', 'card', 'family', '*.family'], censor: '[redacted]' },
};

/**
 * The bot's log. Callers pass ids, types and counts only; the redaction in its options is a second
 * line of defence against a child's name or a family's circumstances reaching a log line.
 *
 * JSON lines on stdout, for a container's log collector; or appended to the file named by
 * `EARLYHELP_LOG_FILE` (its folder made if need be), as `npm start` does to keep the console
 * readable. Written synchronously, so that nothing is lost when the process exits.
 */
export const log = process.env.EARLYHELP_LOG_FILE ? pino(options, pino.destination({ dest: process.env.EARLYHELP_LOG_FILE, mkdir: true, sync: true })) : pino(options);
