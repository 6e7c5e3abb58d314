/** The labels Testcontainers puts on every container, so tools that look for them find mayfly's too. */
import { randomUuid } from './uuid.js';

export const LABEL_TESTCONTAINERS = 'org.testcontainers';
export const LABEL_TESTCONTAINERS_LANG = 'org.testcontainers.lang';
export const LABEL_TESTCONTAINERS_SESSION_ID = 'org.testcontainers.session-id';

/** one per process: every container it starts, and nothing it does not */
export const SESSION_ID = randomUuid();

export function testcontainersLabels(): Record<string, string> {
  return { [LABEL_TESTCONTAINERS]: 'true', [LABEL_TESTCONTAINERS_LANG]: 'node', [LABEL_TESTCONTAINERS_SESSION_ID]: SESSION_ID };
}
