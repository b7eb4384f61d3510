import path from 'node:path';
import { OBLIGATION_KINDS } from '../../src/obligations';
import { loadPolicy, POLICIES_DIR, validatePolicy } from '../../src/policy';
import { defaultDocument, refusal } from '../helpers/policyDocument';


const DEFAULTS = {
  workingHours: { start: '08:30', end: '17:30' },
  digestAt: '08:30',
  digestHorizon: { workingDays: 1 },
  teamDigest: { enabled: true },
};

describe('reminder settings in the practice policy', () => {
  test('the default policy writes out working hours 08:30\u201317:30, the 08:30 digest, a horizon of one working day and the weekly team digest', () => {
    const r = loadPolicy().reminders;
    expect(r).toMatchObject(DEFAULTS);
    expect(r.workingHours.source).toMatch(/issue 8/);
    expect(r.source).toMatch(/seed 000\/002/);
  });

  test('every kind escalates the working day after its deadline but case recording and case length, which never escalate', () => {
    const { escalateAfter } = loadPolicy().reminders;
    expect(Object.keys(escalateAfter).sort()).toEqual([...OBLIGATION_KINDS].sort());
    for (const kind of OBLIGATION_KINDS) expect({ kind, after: escalateAfter[kind] }).toEqual({ kind, after: kind === 'case-recording' || kind === 'case-duration' ? null : 1 });
  });

  test('a policy file without a reminders section is still valid and takes the defaults', () => {
    const doc = defaultDocument();
    delete doc.reminders;
    const p = validatePolicy(doc, 'old.json');
    expect(p.reminders).toEqual({ ...DEFAULTS, escalateAfter: loadPolicy().reminders.escalateAfter });
    const regional = loadPolicy(path.join(POLICIES_DIR, 'regional-three-monthly.json'));
    expect(regional.reminders.escalateAfter['telephone-contact']).toBe(1);
  });

  test('a partial section keeps the defaults of what it leaves out, kind by kind', () => {
    const p = validatePolicy({ ...defaultDocument(), reminders: { digestAt: '09:00', escalateAfter: { 'telephone-contact': 2, 'taf-minutes': null } } });
    expect(p.reminders).toMatchObject({ digestAt: '09:00', workingHours: DEFAULTS.workingHours, teamDigest: { enabled: true } });
    expect(p.reminders.escalateAfter).toMatchObject({ 'telephone-contact': 2, 'taf-minutes': null, 'personal-contact': 1, 'case-recording': null });
  });

  test('an unknown obligation kind in escalateAfter is refused, naming it', () => {
    const e = refusal((doc) => (doc.reminders.escalateAfter['telephone-contacts'] = 1));
    expect(e.field).toBe('reminders.escalateAfter');
    expect(e.message).toMatch(/unknown setting "telephone-contacts"/);
  });

  test('escalating on the deadline itself, or after a fraction of a day, is refused', () => {
    expect(refusal((doc) => (doc.reminders.escalateAfter['first-taf'] = 0)).field).toBe('reminders.escalateAfter.first-taf');
    expect(refusal((doc) => (doc.reminders.escalateAfter['first-taf'] = 1.5)).field).toBe('reminders.escalateAfter.first-taf');
  });

  test('a time that is not HH:MM is refused', () => {
    expect(refusal((doc) => (doc.reminders.workingHours.start = '8.30')).message).toMatch(/^authority\.json: reminders\.workingHours\.start: must be a time of day, HH:MM/);
    expect(refusal((doc) => (doc.reminders.digestAt = '24:00')).field).toBe('reminders.digestAt');
  });

  test('working hours must end after they start, and the digest go out inside them', () => {
    expect(refusal((doc) => (doc.reminders.workingHours = { start: '17:30', end: '08:30' })).field).toBe('reminders.workingHours.end');
    const early = refusal((doc) => (doc.reminders.digestAt = '07:00'));
    expect(early.field).toBe('reminders.digestAt');
    expect(early.reason).toMatch(/inside working hours \(08:30.17:30\)/);
    expect(refusal((doc) => (doc.reminders.digestAt = '17:30')).field).toBe('reminders.digestAt');
  });

  test('a misspelt reminder setting is refused rather than ignored', () => {
    expect(refusal((doc) => (doc.reminders.digestTime = '08:30')).message).toMatch(/unknown setting "digestTime"/);
  });
});
