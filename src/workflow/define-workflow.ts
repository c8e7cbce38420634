/**
 * `defineWorkflow`: a named set of tasks linked by their `dependencies`, checked once when it
 * is defined (no empty workflow, no duplicate id, no unknown dependency, no cycle) and kept
 * in a stable topological order.
 */
import { InvalidArgumentError } from '../errors.js';
import type { TaskDefinition } from '../task/define-task.js';
import {
  DuplicateWorkflowTaskError,
  EmptyWorkflowError,
  UnknownDependencyError,
  WorkflowCycleError,
} from './errors.js';
import { DEFAULT_TASK_WORKFLOW_OPTIONS, type FilledTaskWorkflowOptions } from './options.js';

/**
 * A workflow: tasks that run in dependency order, each receiving the workflow input merged
 * with its dependencies' outputs. Frozen; build it with {@link defineWorkflow}.
 */
export interface Workflow {
  /** The name the runner stores executions under. */
  readonly name: string;
  /**
   * The tasks in topological order: every task comes after its dependencies. Stable: of the
   * tasks whose dependencies are all placed, the one declared first comes first, so a
   * workflow declared in dependency order keeps its declaration order.
   */
  readonly tasks: readonly TaskDefinition[];
  /** Ids of the tasks without dependencies, in declaration order. */
  readonly roots: readonly string[];
  /** The task with this id, or `undefined` if the workflow has none. */
  task(id: string): TaskDefinition | undefined;
  /**
   * Ids of the task's dependencies in the order it declares them (the merge order of its context).
   * @throws InvalidArgumentError when the workflow has no task `id`.
   */
  dependenciesOf(id: string): readonly string[];
  /**
   * Ids of the tasks that depend on this one, in the order of {@link Workflow.tasks}.
   * @throws InvalidArgumentError when the workflow has no task `id`.
   */
  dependentsOf(id: string): readonly string[];
}

/** What `defineWorkflow` reads of a task: its id and its filled workflow options, if any. */
interface TaskView {
  readonly id: string;
  readonly fn: unknown;
  readonly workflow?: FilledTaskWorkflowOptions;
}

const WORKFLOW_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Marks what `defineWorkflow` made, for every copy of slotwise in the process (a package's own install and the CLI's). */
const WORKFLOW_BRAND = Symbol.for('slotwise.workflow');

/** Whether `value` was made by {@link defineWorkflow} (by this copy of slotwise or another). */
export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WORKFLOW_BRAND] === true;
}

/**
 * Defines a workflow named `name` of `tasks` (from `defineTask`, with their `dependencies`,
 * `trigger`, `retry` and `timeoutMs` options). A task's `Input` type is not checked: in a
 * workflow, every task receives its context, a JSON object.
 *
 * @example
 * const fetch = defineTask('fetch', fetchReport);
 * const render = defineTask('render', renderReport, { dependencies: ['fetch'] });
 * export const report = defineWorkflow('report', fetch, render);
 *
 * @throws InvalidArgumentError when `name` is not 1-128 letters, digits and `_.:-`, or a task is not a task.
 * @throws EmptyWorkflowError (`SLOTWISE_WORKFLOW_EMPTY`) when no task is given.
 * @throws DuplicateWorkflowTaskError (`SLOTWISE_WORKFLOW_DUPLICATE_TASK`) when two tasks share an id.
 * @throws UnknownDependencyError (`SLOTWISE_WORKFLOW_UNKNOWN_DEPENDENCY`) when a dependency is not a task of the workflow.
 * @throws WorkflowCycleError (`SLOTWISE_WORKFLOW_CYCLE`) when dependencies form a cycle, its `path` closed: `['a', 'b', 'a']`.
 */
export function defineWorkflow(name: string, ...tasks: readonly TaskDefinition<never, unknown>[]): Workflow {
  if (typeof name !== 'string' || !WORKFLOW_NAME.test(name)) {
    throw new InvalidArgumentError('name', 'a workflow name of 1-128 letters, digits and `_.:-`', name);
  }
  if (tasks.length === 0) throw new EmptyWorkflowError(name);
  const nodes = new Map<string, Node>();
  tasks.forEach((task: unknown, index) => {
    const view = task as Partial<TaskView> | null;
    if (typeof view !== 'object' || view === null || typeof view.id !== 'string' || typeof view.fn !== 'function') {
      throw new InvalidArgumentError(`tasks[${index}]`, 'a task from defineTask()', task);
    }
    if (nodes.has(view.id)) throw new DuplicateWorkflowTaskError(name, view.id);
    const { dependencies } = view.workflow ?? DEFAULT_TASK_WORKFLOW_OPTIONS;
    // Task definitions are typed by the input they declare; in a workflow, each gets its context.
    nodes.set(view.id, {
      task: task as TaskDefinition,
      index,
      dependencies: Object.freeze([...dependencies]),
      dependents: [],
    });
  });
  for (const node of nodes.values()) {
    for (const dependency of node.dependencies) {
      if (!nodes.has(dependency)) throw new UnknownDependencyError(name, node.task.id, dependency, [...nodes.keys()]);
    }
  }
  const order = topologicalOrder(name, nodes);
  for (const node of order) {
    for (const dependency of node.dependencies) nodes.get(dependency)?.dependents.push(node.task.id);
  }
  const known = (id: string): Node => {
    const node = nodes.get(id);
    if (node === undefined) {
      throw new InvalidArgumentError(
        'id',
        `the id of a task of workflow \`${name}\` (${[...nodes.keys()].join(', ')})`,
        id,
      );
    }
    return node;
  };
  for (const node of nodes.values()) Object.freeze(node.dependents);

  const workflow: Workflow = {
    name,
    tasks: Object.freeze(order.map((node) => node.task)),
    roots: Object.freeze(order.filter((node) => node.dependencies.length === 0).map((node) => node.task.id)),
    task: (id) => nodes.get(id)?.task,
    dependenciesOf: (id) => known(id).dependencies,
    dependentsOf: (id) => known(id).dependents,
  };
  Object.defineProperty(workflow, WORKFLOW_BRAND, { value: true });
  return Object.freeze(workflow);
}

/** One task of the workflow being defined. */
interface Node {
  readonly task: TaskDefinition;
  /** Position in the declaration. */
  readonly index: number;
  readonly dependencies: readonly string[];
  /** Filled in topological order once the order is known. */
  readonly dependents: string[];
}

/**
 * Kahn's algorithm, always taking the first declared of the tasks whose dependencies are all
 * placed. If some tasks can never be placed, each of them waits on another unplaced one:
 * following those waits from the first one must come back to a task already seen, which
 * closes a cycle.
 */
function topologicalOrder(name: string, nodes: ReadonlyMap<string, Node>): Node[] {
  const waitingOn = new Map<Node, number>();
  const ready: Node[] = []; // sorted by declaration index
  for (const node of nodes.values()) {
    waitingOn.set(node, node.dependencies.length);
    if (node.dependencies.length === 0) ready.push(node);
  }
  const dependentsOf = new Map<Node, Node[]>();
  for (const node of nodes.values()) {
    for (const dependency of node.dependencies) {
      const from = nodes.get(dependency);
      if (from === undefined) continue; // checked before
      const list = dependentsOf.get(from);
      if (list === undefined) dependentsOf.set(from, [node]);
      else list.push(node);
    }
  }
  const order: Node[] = [];
  for (let next = ready.shift(); next !== undefined; next = ready.shift()) {
    order.push(next);
    for (const dependent of dependentsOf.get(next) ?? []) {
      const left = (waitingOn.get(dependent) ?? 0) - 1;
      waitingOn.set(dependent, left);
      if (left === 0) insertByIndex(ready, dependent);
    }
  }
  if (order.length < nodes.size) throw new WorkflowCycleError(name, findCycle(nodes, waitingOn));
  return order;
}

function insertByIndex(sorted: Node[], node: Node): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle]?.index ?? Infinity) < node.index) low = middle + 1;
    else high = middle;
  }
  sorted.splice(low, 0, node);
}

/** A cycle among the unplaced tasks (those still waiting), closed: `['a', 'b', 'a']`. */
function findCycle(nodes: ReadonlyMap<string, Node>, waitingOn: ReadonlyMap<Node, number>): string[] {
  const unplaced = (node: Node | undefined): node is Node => node !== undefined && (waitingOn.get(node) ?? 0) > 0;
  const path: string[] = [];
  const seenAt = new Map<Node, number>();
  let current = [...nodes.values()].find(unplaced);
  while (current !== undefined) {
    const at = seenAt.get(current);
    if (at !== undefined) return [...path.slice(at), current.task.id];
    seenAt.set(current, path.length);
    path.push(current.task.id);
    current = current.dependencies.map((id) => nodes.get(id)).find(unplaced);
  }
  return path; // not reached: an unplaced task always waits on another unplaced one
}
