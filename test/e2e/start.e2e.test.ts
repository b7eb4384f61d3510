import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Browser } from 'playwright-core';
import { freePort, launchChromium, PlaygroundUser } from './harness';

/**
 * `npm start` as a newcomer runs it: scripts/start.ts itself, in its own process, on an in-memory
 * database. It must start a playground for the manager and one for the worker, print their
 * addresses and nothing a person cannot read, and stop cleanly on Ctrl-C.
 */
jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');

let child: ChildProcess | undefined;
let browser: Browser | undefined;
let stdout = '';
let stderr = '';
let logFile: string | undefined;

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (logFile) fs.rmSync(logFile, { force: true });
});

/** Resolves with everything printed so far once `pattern` has been printed; rejects if the process ends first. */
function printed(pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(stdout)) {
        done();
        resolve(stdout);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`scripts/start.ts exited (${code}) before printing ${pattern}:\n${stdout}\n${stderr}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`scripts/start.ts did not print ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child!.stdout!.off('data', check);
      child!.off('exit', onExit);
    };
    child!.stdout!.on('data', check);
    child!.once('exit', onExit);
    check();
  });
}

test('npm start opens Teams for the manager and for the worker, prints only readable lines, and stops on Ctrl-C', async () => {
  const [port, playgroundPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EARLYHELP_DATA_DIR: 'memory://',
    PORT: String(port),
    PLAYGROUND_PORT: String(playgroundPort),
    HOST: '127.0.0.1',
    // As a newcomer's shell has them: not jest's.
    NODE_ENV: undefined,
    NODE_OPTIONS: undefined,
    LOG_LEVEL: undefined,
    EARLYHELP_LOG_FILE: undefined,
    DATABASE_URL: undefined,
    MicrosoftAppId: undefined,
  };
  child = spawn(process.execPath, ['--require', 'tsx/cjs', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));

  const [, out] = await Promise.all([launchChromium().then((b) => (browser = b)), printed(/Ctrl-C stops/, 60_000)]);
  const manager = out.match(/^ {2}Manager {2}Morgan Reid: (http:\/\/127\.0\.0\.1:\d+)$/m)?.[1];
  const worker = out.match(/^ {2}Worker {3}Sam Patel: {3}(http:\/\/127\.0\.0\.1:\d+)$/m)?.[1];
  expect({ manager, worker }).toEqual({ manager: expect.stringMatching(/^http/), worker: expect.stringMatching(/^http/) });
  expect(manager).not.toBe(worker);
  logFile = out.match(/The log \(warn and above\) is in (\S+)\. Ctrl-C stops\./)?.[1];
  expect(logFile).toBeDefined();

  const open = async (url: string, name: string) => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(url);
    await page.locator('[data-lexical-editor="true"][role="textbox"]').waitFor({ timeout: 20_000 });
    return new PlaygroundUser(page, name);
  };
  const [morgan, sam] = await Promise.all([open(manager!, 'Morgan Reid'), open(worker!, 'Sam Patel')]);
  for (const user of [morgan, sam]) {
    await user.botMessage('I keep track of every timescale on your cases');
    expect(await user.page.locator('body').innerText()).toContain(user.name);
  }
  // Who each page is signed in as, in the bot's own words: the manager sees the team, the worker their own.
  await morgan.ask('my cases', 'North Early Help team cases');
  await sam.ask('my cases', 'Your cases');
  await morgan.screenshot('start-manager');
  await sam.screenshot('start-worker');

  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    const t0 = Date.now();
    child!.once('exit', (code) => resolve({ code, ms: Date.now() - t0 }));
  });
  child.kill('SIGINT');
  child.kill('SIGINT'); // a second Ctrl-C while stopping changes nothing
  const { code, ms } = await exited;
  expect(code).toBe(0);
  expect(ms).toBeLessThan(8000);

  const console = stdout + stderr;
  expect(console).not.toContain('DeprecationWarning');
  expect(console).not.toMatch(/^\{"level"/m);
  expect(stderr).toBe('');
  expect(fs.existsSync(logFile!)).toBe(true);
});
