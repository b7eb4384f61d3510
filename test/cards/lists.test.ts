import { caseListCard, CaseListRow, helpCard, MAX_LIST_ROWS, MAX_TEAM_ROWS, teamCard, TeamRow } from '../../bot/cards/cards';
import { STATUS_WORDS, StatusWord } from '../../bot/cards/labels';
import { AdaptiveCard } from '../../bot/cards/template';
import { cardSchemaValidator, parseWarnings, walkCard } from '../helpers/adaptiveCards';
import { readReference } from '../helpers/shared';


/** The list cards of issue 7: status words readable on every Teams theme, rows that open, a preview with no family. */

const FAMILY = 'Fernsby';
/** Teams refuses a message larger than about 28 KB. */
const TEAMS_CARD_LIMIT = 28 * 1024;

// ---- WCAG 2.x contrast, as the Teams host configs give the colours ----

type Rgb = [number, number, number];

/** "#RRGGBB" or the host config's "#AARRGGBB", laid over `under` when it is translucent. */
function colourOf(hex: string, under: Rgb = [255, 255, 255]): Rgb {
  const digits = hex.replace('#', '');
  const [alpha, rgb] = digits.length === 8 ? [parseInt(digits.slice(0, 2), 16) / 255, digits.slice(2)] : [1, digits];
  const channels = [0, 2, 4].map((i) => parseInt(rgb.slice(i, i + 2), 16));
  return channels.map((c, i) => Math.round(alpha * c + (1 - alpha) * under[i])) as Rgb;
}

function luminance([r, g, b]: Rgb): number {
  const linear = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

interface HostConfig {
  containerStyles: { default: { backgroundColor: string; foregroundColors: Record<string, { default: string; subtle: string }> } };
}

const HOSTS: Array<[string, HostConfig]> = ['light', 'dark'].map((theme) => [theme, JSON.parse(readReference(`adaptive-cards/microsoft-teams-${theme}.json`))]);

/** The contrast of text in an Adaptive Card colour ("Default", "Good", ...) on the host's default background. */
function contrastOn(host: HostConfig, color: string): number {
  const style = host.containerStyles.default;
  const background = colourOf(style.backgroundColor);
  const foreground = style.foregroundColors[color.toLowerCase()];
  if (!foreground) throw new Error(`the host config has no colour ${color}`);
  return contrastRatio(colourOf(foreground.default, background), background);
}

// Lists and the case card draw every status word from STATUS_WORDS.
const ALL_STATUS_WORDS: Array<[string, StatusWord]> = Object.entries(STATUS_WORDS);

describe('status words keep WCAG AA contrast on the Teams themes', () => {
  test('the contrast ratio is computed as WCAG does', () => {
    expect(contrastRatio([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrastRatio([255, 255, 255], [255, 255, 255])).toBe(1);
    expect(contrastRatio(colourOf('#767676'), [255, 255, 255])).toBeCloseTo(4.54, 2);
  });

  test("why the words are not green and yellow: Teams' good and warning colours on its light theme's white fall short of 4.5:1", () => {
    const light = HOSTS.find(([theme]) => theme === 'light')![1];
    expect(contrastOn(light, 'Good')).toBeLessThan(4.5);
    expect(contrastOn(light, 'Warning')).toBeLessThan(4.5);
  });

  test.each(HOSTS.flatMap(([theme, host]) => ALL_STATUS_WORDS.map(([name, word]) => [theme, name, word, host] as const)))(
    'on the %s theme, "%s" has contrast of at least 4.5:1 and a colour cue besides its colour',
    (_theme, _name, word, host) => {
      expect(contrastOn(host, word.color)).toBeGreaterThanOrEqual(4.5);
      // The colour cue is an emoji before the word, so colour is never the only signal.
      expect(word.text).toMatch(/^\p{Extended_Pictographic}\s\S/u);
    },
  );
});

// ---- the cards ----

const row = (i: number, status: CaseListRow['status'] = 'overdue'): CaseListRow => ({
  caseId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  reference: `EH-${String(i).padStart(6, '0')}`,
  family: `${FAMILY}-${'x'.repeat(190)}`,
  next: 'Supervision record authorised by Wed 30 Dec 2026',
  status,
});
const worker = (i: number, name = `Worker ${i}`): TeamRow => ({ workerId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name, openCases: 12, points: 22, capacity: 20, overdue: 3, cafsAwaiting: 1, closuresAwaiting: 2 });

const EXAMPLES: Array<[string, AdaptiveCard]> = [
  ['a full list, every status', caseListCard({ title: 'Your cases', empty: 'No open cases.', cases: Array.from({ length: 40 }, (_, i) => row(i, (['awaiting-you', 'overdue', 'due-today', 'due-soon', 'on-track'] as const)[i % 5])) })],
  ['an empty list', caseListCard({ title: 'Your cases', empty: 'No open cases.', cases: [] })],
  ['a team', teamCard({ title: 'North team', empty: 'No workers in your team.', workers: Array.from({ length: 30 }, (_, i) => worker(i, `Worker ${i} ${'n'.repeat(200)}`)) })],
  ['a team with no workers', teamCard({ title: 'North team', empty: 'No workers in your team.', workers: [] })],
  ['help with a suggestion', helpCard('deu', 'due')],
];

describe('the list cards', () => {
  const validate = cardSchemaValidator();

  test.each(EXAMPLES)('%s validates against the Adaptive Card 1.5 schema, parses without warnings, declares 1.4 and fits a Teams message', (_name, card) => {
    expect(validate(card)).toBe(true);
    expect(parseWarnings(card)).toEqual([]);
    expect(card.version).toBe('1.4');
    expect(JSON.stringify(card)).not.toContain('${');
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(TEAMS_CARD_LIMIT);
    walkCard(card, (n) => {
      if (n.type === 'Action.Execute') expect(n.data.verb).toBe(n.verb);
      // Teams shows at most 6 actions in a set.
      if (Array.isArray(n.actions)) expect(n.actions.length).toBeLessThanOrEqual(6);
    });
  });

  test.each(EXAMPLES)('%s: what a notification may show names no family', (_name, card) => {
    expect(String(card.fallbackText)).not.toContain(FAMILY);
  });

  test('a list shows the most pressing rows up to its limit, and says how many more there are', () => {
    const card = EXAMPLES[0][1];
    const rows = (card.body as Array<Record<string, any>>).filter((i) => i.type === 'ColumnSet');
    expect(rows).toHaveLength(MAX_LIST_ROWS);
    // A name longer than any real one is cut short, so that a full list stays within Teams' limit.
    expect(rows[0].columns[0].items.map((i: { text: string }) => i.text)).toEqual(['EH-000000', `${FAMILY}-${'x'.repeat(51)}…`]);
    expect(JSON.stringify(card.body)).toContain(`${40 - MAX_LIST_ROWS} more not shown: the most pressing come first.`);
    const team = EXAMPLES.find(([name]) => name === 'a team')![1];
    expect((team.body as Array<Record<string, any>>).filter((i) => i.type === 'ColumnSet')).toHaveLength(MAX_TEAM_ROWS);
    expect(JSON.stringify(team.body)).toContain(`${30 - MAX_TEAM_ROWS} more not shown.`);
  });

  test('every status word on a list or team card is bold, in a colour that passes on both themes, never subtle', () => {
    const cues = Object.values(STATUS_WORDS).map((w) => w.cue);
    let seen = 0;
    for (const [, card] of EXAMPLES) {
      walkCard(card.body, (n) => {
        if (n.type !== 'TextBlock' || !cues.some((cue) => String(n.text).startsWith(cue))) return;
        seen += 1;
        expect(n.weight).toBe('Bolder');
        expect(n.isSubtle).toBeUndefined();
        for (const [, host] of HOSTS) expect(contrastOn(host, n.color ?? 'Default')).toBeGreaterThanOrEqual(4.5);
      });
    }
    expect(seen).toBeGreaterThan(0);
  });

  test('a team row says when a worker is over capacity, and each row and its Open button open that worker', () => {
    const card = teamCard({ title: 'North team', empty: '', workers: [worker(1), { ...worker(2), points: 5, overdue: 0, cafsAwaiting: 0, closuresAwaiting: 0, openCases: 1 }] });
    const rows = (card.body as Array<Record<string, any>>).filter((i) => i.type === 'ColumnSet');
    const texts = rows.map((r) => r.columns.slice(0, 2).flatMap((c: { items: Array<{ text: string }> }) => c.items.map((i) => i.text)));
    expect(texts).toEqual([
      ['Worker 1', '12 open cases · 22 / 20 points (over capacity)', '🔴 3 overdue', '1 CAF, 2 closures awaiting decision'],
      ['Worker 2', '1 open case · 5 / 20 points', '🟢 Nothing overdue', 'No decisions awaiting'],
    ]);
    for (const [i, r] of rows.entries()) {
      const data = { verb: 'workerCases', workerId: worker(i + 1).workerId };
      expect(r.selectAction.data).toEqual(data);
      expect(r.columns[2].items[0].actions[0]).toMatchObject({ type: 'Action.Execute', title: 'Open', data });
    }
  });
});
