import fs from 'node:fs';
import { DEFAULT_POLICY_FILE, PolicyError, validatePolicy } from '../../src/policy';

/** The default policy file as a document a test may change. */
export const defaultDocument = () => JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));

/** The PolicyError for the default policy changed by `mutate`; fails the test if it is accepted. */
export function refusal(mutate: (doc: any) => void): PolicyError {
  const doc = defaultDocument();
  mutate(doc);
  try {
    validatePolicy(doc, 'authority.json');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('the policy was accepted');
}
