import type { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../contract/search-attributes.js';

/**
 * Fails, naming the commands that fix it, when the namespace lacks hepflow's search
 * attributes: a workflow upserting an unknown one would retry its workflow task for
 * ever instead of failing. `hepflow stack up` registers them; other servers need the
 * `temporal operator` commands once.
 */
export async function checkSearchAttributes(
  operator: Pick<Connection['operatorService'], 'listSearchAttributes'>,
  namespace: string,
): Promise<void> {
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((k) => !(k.name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  throw new Error(
    `namespace '${namespace}' lacks hepflow's search attributes ${missing.map((k) => k.name).join(', ')}; register them with\n` +
      missing
        .map(
          (k) =>
            `  temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${TypedSearchAttributes.toMetadataType(k.type)}`,
        )
        .join('\n') +
      `\n(a stack started by an older 'hepflow stack up': 'hepflow stack down' then 'hepflow stack up' registers them)`,
  );
}
