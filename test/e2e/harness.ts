import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { RunningBot, startBot } from '../../bot/main';
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

  async fill(card: Locator, placeholder: string, value: string): Promise<void> {
    const input = card.locator(`[aria-label="${placeholder}"]`).first();
    await input.click();
    await input.fill(value);
  }

  async choose(card: Locator, placeholder: string, option: string | RegExp): Promise<void> {
    await card.locator(`[aria-label="${placeholder}"]`).first().click();
    await this.page.getByRole('option', { name: option }).first().click();
  }

  async click(card: Locator, button: string | RegExp): Promise<void> {
    await card.getByRole('button', { name: button }).first().click();
  }

  async screenshot(step: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: path.join(ARTIFACTS, `${step}.png`) });
  }
}

export interface Scenario {
  bot: RunningBot;
  browser: Browser;
  open(as: DemoPerson): Promise<PlaygroundUser>;
  close(): Promise<void>;
}

/**
 * The bot on a fresh embedded database with the demo team, Debian's Chromium, and one playground
 * per person opened: each a real client talking the Bot Framework protocol to the bot on loopback.
 */
export async function startScenario(): Promise<Scenario> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`The end-to-end tests need Debian's chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does).`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-e2e-'));
  const bot = await startBot({ ...process.env, DATABASE_URL: '', EARLYHELP_DATA_DIR: dataDir, MicrosoftAppId: '', LOG_LEVEL: 'silent' }, { port: await freePort() });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const playgrounds: RunningPlayground[] = [];
  return {
    bot,
    browser,
    async open(as) {
      const playground = await launchPlayground({ botUrl: bot.server.url, port: await freePort(), as, dir: path.join(dataDir, 'playground') });
      playgrounds.push(playground);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(playground.url);
      await page.locator('[data-lexical-editor="true"][role="textbox"]').waitFor({ timeout: 20000 });
      return new PlaygroundUser(page, as);
    },
    async close() {
      await browser.close().catch(() => undefined);
      for (const p of playgrounds) await p.close();
      await bot.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
