// Entry file of slotwise's Piscina worker threads: each task request is handled by
// `runTaskRequest`, which imports the task's module, runs the task and reports the outcome.
import { runTaskRequest } from '../src/task/run-in-worker.js';

export default runTaskRequest;
