import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { activityOptions, type ActivityKind, type ActivityPolicyOptions } from '../src/contract/policies.js';

/** The activities, scheduled with the project's policy for `kind` (src/contract/policies.ts). */
export const activitiesFor = (kind: ActivityKind, o: ActivityPolicyOptions = {}) =>
  proxyActivities<Activities>(activityOptions(kind, o));
