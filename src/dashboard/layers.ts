/**
 * An execution's DAG in layers, for drawing left to right: a task's layer is the length of the
 * longest chain of dependencies below it, so every edge points to a later layer. Read from the
 * `dependencies` column (migration 009) alone: the dashboard has no workflow code. Executions
 * started before that migration have no dependencies stored and come out as one layer.
 */

export interface DagNode {
  readonly taskId: string;
  readonly dependencies: readonly string[];
}

export interface DagLayout {
  /** Task ids per layer, each layer in the order the tasks were given. */
  readonly layers: readonly (readonly string[])[];
  /** `[dependency, dependent]` pairs, between tasks of the execution only. */
  readonly edges: readonly (readonly [string, string])[];
}

export function dagLayout(nodes: readonly DagNode[]): DagLayout {
  const byId = new Map(nodes.map((n) => [n.taskId, n]));
  const depth = new Map<string, number>();
  // Depth-first with an explicit "in progress" mark: a cycle (which a workflow definition
  // refuses, but stored rows are only data) puts the looping task at the depth reached so far
  // instead of recursing for ever.
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = 0;
    for (const dep of byId.get(id)?.dependencies ?? []) {
      if (byId.has(dep)) d = Math.max(d, depthOf(dep) + 1);
    }
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const layers: string[][] = [];
  for (const node of nodes) {
    const d = depthOf(node.taskId);
    while (layers.length <= d) layers.push([]);
    layers[d]?.push(node.taskId);
  }
  const edges: [string, string][] = [];
  for (const node of nodes) {
    for (const dep of node.dependencies) if (byId.has(dep)) edges.push([dep, node.taskId]);
  }
  return { layers, edges };
}
