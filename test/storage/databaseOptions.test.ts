import path from 'node:path';
import { databaseOptionsFromEnv } from '../../src/storage/database';

describe('which database the environment chooses', () => {
  test('DATABASE_URL chooses the server, whatever else is set', () => {
    expect(databaseOptionsFromEnv({ DATABASE_URL: 'postgres://x@h/db', EARLYHELP_DATA_DIR: '/srv/eh' })).toEqual({ databaseUrl: 'postgres://x@h/db' });
  });

  test('otherwise the embedded database lives in EARLYHELP_DATA_DIR/pglite, ./data/pglite by default', () => {
    expect(databaseOptionsFromEnv({ EARLYHELP_DATA_DIR: '/srv/eh' })).toEqual({ dataDir: path.join('/srv/eh', 'pglite') });
    expect(databaseOptionsFromEnv({})).toEqual({ dataDir: path.join('data', 'pglite') });
  });

  test('memory:// keeps it in the process only', () => {
    expect(databaseOptionsFromEnv({ EARLYHELP_DATA_DIR: 'memory://' })).toEqual({ dataDir: 'memory://' });
  });
});
