import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** bot/log.ts reads its settings once, when first loaded: each case loads a fresh copy. */
function freshLog(env: Record<string, string | undefined>): typeof import('../../bot/log').log {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    let log!: typeof import('../../bot/log').log;
    jest.isolateModules(() => {
      log = (require('../../bot/log') as typeof import('../../bot/log')).log;
    });
    return log;
  } finally {
    process.env = saved;
  }
}

test('under test the log is silent unless LOG_LEVEL says otherwise', () => {
  expect(freshLog({ LOG_LEVEL: undefined, EARLYHELP_LOG_FILE: undefined }).level).toBe('silent');
  expect(freshLog({ LOG_LEVEL: 'warn', EARLYHELP_LOG_FILE: undefined }).level).toBe('warn');
});

test('with EARLYHELP_LOG_FILE the log lines are appended to that file (its folder made), still redacted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-log-'));
  const file = path.join(dir, 'logs', 'earlyhelp.log');
  try {
    const log = freshLog({ LOG_LEVEL: 'warn', EARLYHELP_LOG_FILE: file });
    log.info({ caseId: 'c1' }, 'below the level');
    log.warn({ caseId: 'c1', text: 'the family said something' }, 'request refused');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ level: 40, caseId: 'c1', text: '[redacted]', msg: 'request refused' })]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
