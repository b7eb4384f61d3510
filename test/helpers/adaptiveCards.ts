import Ajv from 'ajv';
import { readReference } from './shared';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require('adaptivecards/dist/adaptivecards.js');

/** The official Adaptive Card 1.5 schema, compiled with ajv (its draft-06 `id` renamed to `$id`). */
export function cardSchemaValidator() {
  const schema = JSON.parse(readReference('adaptive-cards/adaptive-card-1.5.0.schema.json'));
  schema.$id = schema.id;
  delete schema.id;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  return ajv.compile(schema);
}

/** What Microsoft's own `adaptivecards` library says while parsing and validating a card: nothing, for a good card. */
export function parseWarnings(card: object): string[] {
  const context = new AC.SerializationContext();
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const events: string[] = [];
  for (let i = 0; i < context.eventCount; i++) events.push(context.getEventAt(i).message);
  return [...events, ...parsed.validateProperties().validationEvents.map((e: { message: string }) => e.message)];
}

/** Every object in a card, depth first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function walkCard(node: unknown, visit: (n: Record<string, any>) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walkCard(n, visit));
  else if (node && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    Object.values(node).forEach((v) => walkCard(v, visit));
  }
}
