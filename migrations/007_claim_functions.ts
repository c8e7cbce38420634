// 007: the claim within limits as database functions, so that a claim is one round trip (it was
// five: begin, lock, count, mark, commit) and a run taking its units back two.
//
// `unit_holders` counts the holders of the named limits and keys asked for. It must run in a
// statement that starts after their advisory locks are held: under READ COMMITTED its snapshot
// then sees every holder committed by the previous lock holder. `claim_within_limits` is that
// sequence in PL/pgSQL: a function that is VOLATILE takes a fresh snapshot for each statement it
// runs, so its lock statement, its count and its update are three statements in one transaction,
// exactly as they were when the runner sent them. The rules (who holds a unit, the claim order,
// a heavy task stopping the claim) are those written out in `src/store/claim.ts`.
import type { Knex } from 'knex';

export const name = '007_claim_functions';

export async function up(knex: Knex, schema: string): Promise<void> {
  // A unit is named as the runner names it: `limit:<name>`, or `key:<length of task id>:<task id>:<key>`.
  await knex.raw(
    `CREATE FUNCTION ??.unit_holders(
       names text[], keep text[], key_tasks text[], keys text[], self uuid, count_wanting boolean
     ) RETURNS TABLE (unit text, held int) LANGUAGE sql STABLE AS $body$
       SELECT 'limit:' || l, count(*)::int
       FROM ??.task_executions t CROSS JOIN unnest(t.limits) l
       WHERE t.status = 'Running' AND t.limits <> '{}' AND t.limits && names AND l = ANY(names)
         AND t.id IS DISTINCT FROM self
         AND (t.sub_status = 'Active' OR (t.wants_units AND count_wanting)
              OR (t.sub_status = 'Deferred' AND l = ANY(keep)))
       GROUP BY l
       UNION ALL
       SELECT 'key:' || length(t.task_id) || ':' || t.task_id || ':' || t.concurrency_key, count(*)::int
       FROM ??.task_executions t JOIN unnest(key_tasks, keys) k(task_id, key)
         ON t.task_id = k.task_id AND t.concurrency_key = k.key
       WHERE t.status = 'Running' AND t.concurrency_key IS NOT NULL AND t.per_key_limit IS NOT NULL
         AND t.id IS DISTINCT FROM self
         AND (t.sub_status = 'Active' OR (t.wants_units AND count_wanting)
              OR (t.sub_status = 'Deferred' AND t.per_key_include_deferred))
       GROUP BY t.task_id, t.concurrency_key
     $body$`,
    [schema, schema, schema],
  );
  // The claim: returns the claimed tasks as a JSON array (the rows `markClaimed` returns).
  // `maxes` is each named limit's size in this runner, as a JSON object; a name it lacks is full.
  await knex.raw(
    `CREATE FUNCTION ??.claim_within_limits(
       runner text, free_slots int, max_slots int, workflow_names text[], exclude uuid[],
       lease_margin_ms int, claim_window int, maxes jsonb, keep text[], lock_prefix text
     ) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $body$
     DECLARE
       candidates jsonb;
       held jsonb;
       task jsonb;
       needed text[];
       unit text;
       full_unit boolean;
       slots int;
       free int := free_slots;
       chosen uuid[] := '{}';
       claimed jsonb;
     BEGIN
       -- 1. Lock the candidates (skipping rows another claim holds) and, in lock-id order, the
       --    advisory locks of every limit and key they need.
       WITH picked AS MATERIALIZED (
         SELECT t.id, t.task_id, t.slots, t.limits, t.concurrency_key, t.per_key_limit, t.priority, t.fair_tag
         FROM ??.task_executions t
         WHERE t.status = 'Ready' AND (t.retry_at IS NULL OR t.retry_at <= now())
           AND t.workflow_name = ANY(workflow_names) AND t.id <> ALL(exclude)
           AND EXISTS (SELECT 1 FROM ??.runners r
                       WHERE r.id = runner AND r.lease_expires_at > now() + lease_margin_ms * interval '1 millisecond')
         ORDER BY t.priority DESC, t.fair_tag, t.id
         LIMIT claim_window
         FOR UPDATE OF t SKIP LOCKED
       ), units AS (
         SELECT DISTINCT hashtextextended(lock_prefix || u, 0) AS h
         FROM picked c, LATERAL (
           SELECT 'limit:' || l FROM unnest(c.limits) l
           UNION ALL
           SELECT 'key:' || length(c.task_id) || ':' || c.task_id || ':' || c.concurrency_key
           WHERE c.concurrency_key IS NOT NULL AND c.per_key_limit IS NOT NULL
         ) x(u)
       ), locked AS (
         SELECT count(pg_advisory_xact_lock(h)) AS n FROM (SELECT h FROM units ORDER BY h) ordered
       )
       SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.priority DESC, c.fair_tag, c.id), '[]')
       INTO candidates
       FROM picked c WHERE (SELECT n FROM locked) >= 0;
       IF jsonb_array_length(candidates) = 0 THEN RETURN '[]'; END IF;

       -- 2. Count the holders, in a statement that starts now that the locks are held.
       SELECT coalesce(jsonb_object_agg(h.unit, h.held), '{}') INTO held
       FROM ??.unit_holders(
         ARRAY(SELECT DISTINCT jsonb_array_elements_text(c->'limits') FROM jsonb_array_elements(candidates) c),
         keep,
         ARRAY(SELECT c->>'task_id' FROM jsonb_array_elements(candidates) c WHERE c->>'concurrency_key' IS NOT NULL AND c->>'per_key_limit' IS NOT NULL),
         ARRAY(SELECT c->>'concurrency_key' FROM jsonb_array_elements(candidates) c WHERE c->>'concurrency_key' IS NOT NULL AND c->>'per_key_limit' IS NOT NULL),
         NULL, true) h;

       -- 3. Admit in claim order: a task whose limit or key is full is passed; one heavier than
       --    the slots left stops the claim.
       FOR task IN SELECT value FROM jsonb_array_elements(candidates) LOOP
         slots := (task->>'slots')::int;
         CONTINUE WHEN slots > max_slots;
         needed := ARRAY(SELECT 'limit:' || jsonb_array_elements_text(task->'limits'));
         IF task->>'concurrency_key' IS NOT NULL AND task->>'per_key_limit' IS NOT NULL THEN
           needed := needed || ('key:' || length(task->>'task_id') || ':' || (task->>'task_id') || ':' || (task->>'concurrency_key'));
         END IF;
         full_unit := false;
         FOREACH unit IN ARRAY needed LOOP
           -- (The CASE in parentheses: IF reads its condition up to the first THEN.)
           IF coalesce((held->>unit)::int, 0) >= (CASE WHEN unit LIKE 'limit:%'
                THEN coalesce((maxes->>substr(unit, 7))::int, 0)
                ELSE (task->>'per_key_limit')::int END) THEN
             full_unit := true;
             EXIT;
           END IF;
         END LOOP;
         CONTINUE WHEN full_unit;
         EXIT WHEN slots > free;
         free := free - slots;
         FOREACH unit IN ARRAY needed LOOP
           held := held || jsonb_build_object(unit, coalesce((held->>unit)::int, 0) + 1);
         END LOOP;
         chosen := chosen || (task->>'id')::uuid;
         EXIT WHEN free = 0;
       END LOOP;
       IF cardinality(chosen) = 0 THEN RETURN '[]'; END IF;

       -- 4. Mark the admitted tasks claimed, as markClaimed does.
       WITH marked AS (
         UPDATE ??.task_executions t
         SET status = 'Running', sub_status = 'Active', attempt = t.attempt + 1, retry_at = NULL, wants_units = false,
             claimed_by = runner, claim_token = t.claim_token + 1, started_at = now(), updated_at = now()
         FROM ??.workflow_executions w
         WHERE t.id = ANY(chosen) AND w.id = t.workflow_execution_id
         RETURNING t.id, t.workflow_execution_id, t.task_id, t.attempt, t.claim_token::text AS claim_token,
           w.workflow_name, w.input AS workflow_input, t.slots, t.limits, t.concurrency_key, t.per_key_limit,
           t.per_key_include_deferred
       ), logged AS (
         INSERT INTO ??.execution_events (workflow_execution_id, task_execution_id, event_type, data)
         SELECT workflow_execution_id, id, 'task_started', jsonb_build_object('attempt', attempt) FROM marked
       )
       SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.id), '[]') INTO claimed FROM marked m;
       RETURN claimed;
     END
     $body$`,
    [schema, schema, schema, schema, schema, schema, schema],
  );
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.raw('DROP FUNCTION ??.claim_within_limits', [schema]);
  await knex.raw('DROP FUNCTION ??.unit_holders', [schema]);
}
