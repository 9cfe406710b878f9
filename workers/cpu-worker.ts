import '../src/process-warnings.js';
import { runPoolWorkerProcess } from './main.js';

runPoolWorkerProcess('cpu');
