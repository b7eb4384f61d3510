/** Cases brought in part way through (`earlyhelp cases import`): their events say who imported them. */
export default {
  version: 4,
  name: 'case import',
  sql: `
-- Who imported the event (e.g. cli:ada): set on every event of an imported case, NULL for events recorded normally.
ALTER TABLE case_events ADD COLUMN imported_by text;
`,
};
