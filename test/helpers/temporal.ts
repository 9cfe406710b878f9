import { TestWorkflowEnvironment, type LocalTestWorkflowEnvironmentOptions } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { findTool } from '../../infra/tools.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/contract/search-attributes.js';

let runtimeInstalled = false;

/**
 * A real Temporal dev server for tests, from the binary the project installs (or
 * HEPFLOW_TEMPORAL_BIN / PATH): @temporalio/testing would otherwise download one. With
 * hepflow's search attributes registered, as `hepflow stack up` does: workflows upsert them.
 */
export async function startTestTemporal(
  o: {
    searchAttributes?: NonNullable<LocalTestWorkflowEnvironmentOptions['server']>['searchAttributes'];
    /** Dev-server flags, e.g. `--dynamic-config-value key=value`. */
    extraArgs?: string[];
  } = {},
): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTool('temporal') },
      searchAttributes: o.searchAttributes ?? SEARCH_ATTRIBUTE_KEYS,
      ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
    },
  });
}
