import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PEOPLE, logFileFor, peopleFromArgs } from '../scripts/start';

describe('npm start: who is signed in, and where the log goes', () => {
  test('with no --as, a playground for the manager and one for the worker', () => {
    expect(DEFAULT_PEOPLE).toEqual(['manager', 'worker']);
    expect(peopleFromArgs([])).toEqual(['manager', 'worker']);
  });

  test('--as takes any demo person by key, hyphenated key or first name, alone or in a list', () => {
    expect(peopleFromArgs(['--as', 'worker'])).toEqual(['worker']);
    expect(peopleFromArgs(['--as=dutyManager'])).toEqual(['dutyManager']);
    expect(peopleFromArgs(['--as', 'duty-manager,business-support'])).toEqual(['dutyManager', 'businessSupport']);
    expect(peopleFromArgs(['--as', 'manager, worker2'])).toEqual(['manager', 'worker2']);
    expect(peopleFromArgs(['--as', 'Ada,jo,alex,dana'])).toEqual(['administrator', 'businessSupport', 'worker2', 'dutyManager']);
    expect(peopleFromArgs(['--as', 'worker,sam'])).toEqual(['worker']);
  });

  test('--as with someone who is not a demo person names the choices', () => {
    expect(() => peopleFromArgs(['--as', 'boss'])).toThrow('--as: boss is not one of the demo people: choose from manager, worker, worker2, businessSupport, dutyManager, administrator');
    expect(() => peopleFromArgs(['--as'])).toThrow(/--as: name a demo person/);
  });

  test('the log goes to EARLYHELP_LOG_FILE, else beside the embedded database, else (in memory) to a temporary file', () => {
    expect(logFileFor({ EARLYHELP_LOG_FILE: 'x/bot.log', EARLYHELP_DATA_DIR: 'memory://' })).toBe(path.resolve('x/bot.log'));
    expect(logFileFor({})).toBe(path.resolve('data', 'earlyhelp.log'));
    expect(logFileFor({ EARLYHELP_DATA_DIR: '/srv/earlyhelp' })).toBe('/srv/earlyhelp/earlyhelp.log');
    expect(logFileFor({ EARLYHELP_DATA_DIR: 'memory://' }).startsWith(os.tmpdir())).toBe(true);
  });
});
