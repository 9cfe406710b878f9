import '../src/process-warnings.js';
import { runPoolWorker } from './main.js';

runPoolWorker('cpu', process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
