import '../src/process-warnings.js';
import { runPoolWorker } from './main.js';

runPoolWorker('gpu', process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
