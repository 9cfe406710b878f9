/**
 * `node --import` this module to make any import of TensorFlow.js, the Temporal SDK or
 * the AWS SDK fail: the CLI's help and argument checks must not load them.
 */
import { register } from 'node:module';

register(new URL('./forbid-heavy-imports-hooks.js', import.meta.url));
