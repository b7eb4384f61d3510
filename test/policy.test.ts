import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy, POLICIES_DIR } from '../src/policy';
import { refusal } from './helpers/policyDocument';


describe('practice policy', () => {
  test('the default policy holds every timescale of seeds 000/002', () => {
    const t = loadPolicy().timescales;
    expect(t.telephoneContact.within).toEqual({ workingDays: 2 });
    expect(t.personalContact.within).toEqual({ workingDays: 5 });
    expect(t.cafAssessment.within).toEqual({ workingDays: 20 });
    expect(t.firstTaf).toMatchObject({ within: { workingDays: 25 }, from: 'allocation' });
    expect(t.tafReview).toMatchObject({ target: { weeks: 6 }, latest: { weeks: 8 } });
    expect(t.tafMinutes.within).toEqual({ workingDays: 15 });
    expect(t.caseRecording.within).toEqual({ workingDays: 2 });
    expect(t.supervision.every).toEqual({ months: 1 });
    expect(t.supervisionRecord.within).toEqual({ workingDays: 10 });
    expect(t.supervisionAuthorised.within).toEqual({ workingDays: 20 });
    expect(t.cafReview.within).toEqual({ months: 6 });
    expect(t.caseDuration.maximum).toBeNull();
  });

  test('the regional policy carries the other authorities\u2019 values', () => {
    const p = loadPolicy(path.join(POLICIES_DIR, 'regional-three-monthly.json'));
    expect(p.timescales.cafAssessment.within).toEqual({ days: 28 });
    expect(p.timescales.firstTaf).toMatchObject({ within: { workingDays: 20 }, from: 'caf-completed' });
    expect(p.timescales.tafReview).toMatchObject({ target: { months: 3 }, latest: { months: 3 } });
    expect(p.timescales.caseDuration.maximum).toEqual({ years: 1 });
    expect(p.closure).toMatchObject({ signOffTafRequired: true, auditSample: 0.1 });
    expect(p.retention).toMatchObject({ accessibleFor: { years: 1 }, thenArchivedFor: { years: 6 } });
  });

  test('every setting of a shipped policy cites its source', () => {
    for (const file of fs.readdirSync(POLICIES_DIR)) {
      const p = loadPolicy(path.join(POLICIES_DIR, file));
      for (const [name, setting] of Object.entries(p.timescales)) expect({ file, name, source: typeof setting.source }).toEqual({ file, name, source: 'string' });
    }
  });

  test('a period in an unknown unit is refused, naming the file and the field', () => {
    const e = refusal((doc) => (doc.timescales.telephoneContact.within = { hours: 4 }));
    expect(e.message).toMatch(/^authority\.json: timescales\.telephoneContact\.within: must be one period/);
    expect(e.field).toBe('timescales.telephoneContact.within');
  });

  test('a negative or fractional count is refused', () => {
    expect(refusal((doc) => (doc.timescales.cafAssessment.within = { workingDays: -1 })).field).toMatch(/^timescales\.cafAssessment\.within/);
    expect(refusal((doc) => (doc.timescales.cafAssessment.within = { workingDays: 2.5 })).field).toMatch(/^timescales\.cafAssessment\.within/);
  });

  test('a missing timescale is refused as required', () => {
    const e = refusal((doc) => delete doc.timescales.tafMinutes);
    expect(e.message).toBe('authority.json: timescales.tafMinutes: is required');
  });

  test('a misspelt setting is refused rather than silently ignored', () => {
    const e = refusal((doc) => (doc.timescales.tafMinuets = doc.timescales.tafMinutes));
    expect(e.message).toMatch(/unknown setting "tafMinuets"/);
  });

  test('a TAF review target later than its latest date is refused', () => {
    const e = refusal((doc) => (doc.timescales.tafReview.target = { weeks: 10 }));
    expect(e.field).toBe('timescales.tafReview.target');
  });

  test('an impossible closure day is refused', () => {
    const e = refusal((doc) => (doc.calendar.closureDays = [{ date: '2026-12-32' }]));
    expect(e.field).toBe('calendar.closureDays.0.date');
  });

  test('a file that is missing or not JSON is refused with the file named', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{ "name": ');
    expect(() => loadPolicy(broken)).toThrow(new RegExp(`^${broken}: is not valid JSON`));
    expect(() => loadPolicy(path.join(dir, 'absent.json'))).toThrow(/absent\.json: cannot be read \(ENOENT\)/);
  });
});
