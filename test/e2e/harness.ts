import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { botConfigFromEnv } from '../../bot/config';
import { EchoBot } from '../../bot/echoBot';
import { RunningBot, startBot } from '../../bot/main';
import { RunningServer, startServer } from '../../bot/server';
import { launchPlayground, RunningPlayground } from '../../bot/playground/launch';
import { DemoPerson } from '../../bot/playground/demoTeam';

/** Where screenshots of each step are kept (git-ignored; CI keeps them as test artifacts). */
export const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A person at a Microsoft 365 Agents Playground page, chatting with the bot. */
export class PlaygroundUser {
  constructor(
    readonly page: Page,
    readonly name: string,
  ) {}

  async say(text: string): Promise<void> {
    const box = this.page.locator('[data-lexical-editor="true"][role="textbox"]');
    await box.click();
    await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }

  /** The last bot message that contains `text` (waits for it). */
  async botMessage(text: string | RegExp, timeout = 15000): Promise<Locator> {
    const message = this.page.locator('.fai-OutputCard').filter({ hasText: text }).last();
    await message.waitFor({ state: 'visible', timeout });
    return message;
  }

  /** Every bot message in the chat that contains `text`, as it stands (no wait): to count them. */
  botMessages(text: string | RegExp): Locator {
    return this.page.locator('.fai-OutputCard').filter({ hasText: text });
  }

  /** Waits until exactly `n` bot messages contain `text` (the chat keeps them all while the page is open). */
  async waitForBotMessages(text: string | RegExp, n: number, timeout = 15000): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const count = await this.botMessages(text).count();
      if (count === n) return;
      if (Date.now() > deadline) throw new Error(`${this.name}'s chat has ${count} bot message(s) containing ${text}, not ${n}`);
      await this.page.waitForTimeout(100);
    }
  }

  /** Says `text` and waits for the bot's message containing `expected`. */
  async ask(text: string, expected: string | RegExp, timeout?: number): Promise<Locator> {
    await this.say(text);
    return this.botMessage(expected, timeout);
  }

  /** Fills the card input whose placeholder (its aria-label) is `placeholder`. */
  async fill(card: Locator, placeholder: string, value: string): Promise<void> {
    const input = card.locator(`[aria-label="${placeholder}"]`).first();
    await input.click();
    await input.fill(value);
  }

  async choose(card: Locator, placeholder: string, option: string | RegExp): Promise<void> {
    await card.locator(`[aria-label="${placeholder}"]`).first().click();
    await this.page.getByRole('option', { name: option }).first().click();
  }

  /** Clicks the card button titled `button`. */
  async click(card: Locator, button: string | RegExp): Promise<void> {
    await card.getByRole('button', { name: button }).first().click();
  }

  /** Saves the page as test-artifacts/e2e/<step>.png. */
  async screenshot(step: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: path.join(ARTIFACTS, `${step}.png`) });
  }
}

/** Debian's Chromium, headless, with the flags that keep it quiet and offline; fails plainly if it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`The end-to-end tests need Debian's chromium at ${CHROMIUM} (or CHROMIUM_PATH): apt-get install -y chromium (.ci/run does).`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Playgrounds against one bot, each signed in as one demo person and open in its own page of one
 * browser. Open a manager and a worker to act out a scenario between them.
 */
export interface PlaygroundSession {
  browser: Browser;
  open(as: DemoPerson): Promise<PlaygroundUser>;
  close(): Promise<void>;
}

export async function startPlaygroundSession(options: { botUrl: string; dir: string }): Promise<PlaygroundSession> {
  const browser = await launchChromium();
  const playgrounds: RunningPlayground[] = [];
  return {
    browser,
    async open(as) {
      const playground = await launchPlayground({ botUrl: options.botUrl, port: await freePort(), as, dir: path.join(options.dir, 'playground') });
      playgrounds.push(playground);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(playground.url);
      await page.locator('[data-lexical-editor="true"][role="textbox"]').waitFor({ timeout: 20000 });
      return new PlaygroundUser(page, as);
    },
    async close() {
      await browser.close().catch(() => undefined);
      for (const p of playgrounds) await p.close();
    },
  };
}

export interface Scenario extends PlaygroundSession {
  bot: RunningBot;
}

/**
 * The Early Help bot on a fresh embedded database with the demo team, and playgrounds opened on
 * demand: each a real client talking the Bot Framework protocol to the bot on loopback.
 */
export async function startScenario(): Promise<Scenario> {
  await launchChromium().then((b) => b.close()); // fail on a missing browser before anything starts
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-e2e-'));
  const bot = await startBot({ ...process.env, DATABASE_URL: '', EARLYHELP_DATA_DIR: dataDir, MicrosoftAppId: '', LOG_LEVEL: 'silent' }, { port: await freePort() });
  const session = await startPlaygroundSession({ botUrl: bot.server.url, dir: dataDir });
  return {
    ...session,
    bot,
    async close() {
      await session.close();
      await bot.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface EchoScenario extends PlaygroundSession {
  server: RunningServer;
}

/** The echo bot (no database) and playgrounds on demand: the smallest end-to-end check of the stack. */
export async function startEchoScenario(): Promise<EchoScenario> {
  await launchChromium().then((b) => b.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-e2e-echo-'));
  const server = await startServer({ config: { ...botConfigFromEnv({}), port: await freePort() }, bot: new EchoBot() });
  const session = await startPlaygroundSession({ botUrl: server.url, dir });
  return {
    ...session,
    server,
    async close() {
      await session.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
