/**
 * `node --import` this module to make any import of TensorFlow.js, the Temporal SDK or
 * the AWS SDK fail: the CLI's help and argument checks must not load them.
 * HEPFLOW_FORBID_IMPORTS (comma-separated package names or scopes) replaces the list.
 */
import { register } from 'node:module';

const DEFAULT = ['@tensorflow', '@temporalio', '@aws-sdk', 'kafkajs', 'apache-arrow', 'parquet-wasm'];
const packages = process.env.HEPFLOW_FORBID_IMPORTS?.split(',').filter(Boolean) ?? DEFAULT;
register(new URL('./forbid-heavy-imports-hooks.js', import.meta.url), { data: { packages } });
