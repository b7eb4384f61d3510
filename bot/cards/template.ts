import fs from 'node:fs';
import path from 'node:path';
import * as ACData from 'adaptivecards-templating';

/** An Adaptive Card as JSON, ready to send. */
export type AdaptiveCard = { type: 'AdaptiveCard'; version: string; body?: unknown[]; actions?: unknown[]; refresh?: unknown; fallbackText?: string; [key: string]: unknown };

/** The templates live in `cards/` at the project root (copied beside `dist/` by the build). */
function cardsDir(): string {
  for (const candidate of [path.resolve(__dirname, '../../cards'), path.resolve(__dirname, '../../../cards')]) {
    if (fs.existsSync(path.join(candidate, 'case.json'))) return candidate;
  }
  throw new Error('The card templates folder cards/ was not found.');
}

const templates = new Map<string, ACData.Template>();

/** Expands `cards/<name>.json` with the data given; templates are read once and kept. */
export function expandCard(name: string, data: object): AdaptiveCard {
  let template = templates.get(name);
  if (!template) {
    template = new ACData.Template(JSON.parse(fs.readFileSync(path.join(cardsDir(), `${name}.json`), 'utf8')));
    templates.set(name, template);
  }
  return template.expand({ $root: data }) as AdaptiveCard;
}

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export function attachment(card: AdaptiveCard) {
  return { contentType: CARD_CONTENT_TYPE, content: card };
}
