/** What a claimed task runs with: its context, read when it is about to run. */
import type { ClaimedTask } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { mergeContext } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';

/**
 * The workflow input merged with the outputs of the task's dependencies, in the order the
 * task declares them (the last one wins a shared key). A root task reads nothing.
 */
export async function taskContext(
  store: Store,
  claim: ClaimedTask,
  workflow: Workflow,
): Promise<Record<string, unknown>> {
  const dependencies = workflow.dependenciesOf(claim.task_id);
  if (dependencies.length === 0) return mergeContext(claim.workflow_input, []);
  const rows = await store.slimTasks(store.knex, claim.workflow_execution_id, dependencies);
  const outputs = dependencies.flatMap((id) => {
    const row = rows.find((r) => r.task_id === id);
    // SQL NULL: the dependency returned nothing, which adds nothing to the context.
    return row?.status === 'Completed' && row.output !== null ? [{ taskId: id, output: row.output }] : [];
  });
  return mergeContext(claim.workflow_input, outputs);
}
