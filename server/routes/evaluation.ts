// AuthZEN 1.0 Access Evaluation API: POST /access/v1/evaluation and the batch POST /access/v1/evaluations.

import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import {
  type BodyError,
  type Decision,
  type Engine,
  EngineError,
  isEngineError,
  unescapePointer,
} from '../../engine/index.ts';
import type { EvaluationsRequest } from '../../schemas/evaluations-request.gen.ts';
import evaluationsSchema from '../../schemas/evaluations-request.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { addProblem, readBody, readJsonObject, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { type FieldProblem, issuesToProblems } from '../errors.ts';

/** How a batch stops early (AuthZEN 1.0 `options.evaluations_semantic`). */
export type EvaluationsSemantic = NonNullable<
  NonNullable<EvaluationsRequest['options']>['evaluations_semantic']
>;

/** The parts of a decision request a batch's top level gives as defaults. */
const PARTS = ['subject', 'action', 'resource', 'context'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The batch schema's errors that the decision-request validation of the merged items reports better (with the
 * engine's messages and checks, naming the item): anything inside an item's part, the rule that every merged
 * item has every part, and a top-level default's own errors when an item (or the single request) uses it.
 */
function leftToItems(e: BodyError, body: Record<string, unknown>): boolean {
  if (e.schemaPath.includes('/allOf/')) return true;
  const [, first, index, part] = e.path.split('/');
  if (first === 'evaluations' && index !== undefined && (PARTS as readonly string[]).includes(part ?? ''))
    return true;
  if (!(PARTS as readonly string[]).includes(first ?? '')) return false;
  const items = body.evaluations;
  if (!Array.isArray(items) || items.length === 0) return true;
  return items.some((item) => !isObject(item) || !Object.hasOwn(item, first as string));
}

/** Throws 503 `not_ready` before any policy is live (SPEC §4), before the body is even read. */
export function assertReady(engine: Engine): void {
  if (!engine.isReady) throw new EngineError('not_ready', 'no valid policy is live yet');
}

/**
 * `engine.decide`, failing closed: anything it throws that is not an EngineError (a bug, a library's bare
 * throw) becomes `evaluation_error`, which answers `decision: false` (SPEC §4), never a bare 500.
 * @throws EngineError `invalid_input` | `not_ready` | `evaluation_error`
 */
export function decideClosed(engine: Engine, request: unknown): Decision {
  try {
    return engine.decide(request);
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw new EngineError('evaluation_error', 'the evaluation failed', { cause: err });
  }
}

/**
 * Registers the AuthZEN evaluation endpoints (SPEC §4). A deny is a 200 with `decision: false`; the response
 * `context` is the engine's decision context as is.
 *
 * Batch: the top-level `subject` / `action` / `resource` / `context` are defaults that each item of
 * `evaluations[]` overrides key by key; every merged item is validated before any is evaluated (a bad item is
 * a 400 naming `/evaluations/<i>/<field>`); `options.evaluations_semantic` stops after the first deny or
 * permit and answers the results up to and including it. Without `evaluations` (or with an empty list) it
 * answers like the single evaluation. An item whose evaluation fails is a deny with
 * `context.error: {status: 500, message}` (AuthZEN's per-item error form), never an allow.
 * @throws HttpError / EngineError, answered by server/errors.ts.
 */
export function registerEvaluationRoutes(app: Hono<AppEnv>, engine: Engine, config: ServerConfig): void {
  app.post('/access/v1/evaluation', async (c) => {
    assertReady(engine);
    const body = await readJsonObject(c, config.maxBodyBytes);
    const decision = decideClosed(engine, body);
    c.set('decisions', [decision]);
    return c.json(decision);
  });

  app.post('/access/v1/evaluations', async (c) => {
    assertReady(engine);
    // The wrapper's shape is schemas/evaluations-request.schema.json's; the merged items are decision requests.
    const { body, problems } = await readBody<EvaluationsRequest>(c, config.maxBodyBytes, evaluationsSchema, {
      text: false,
      ignore: leftToItems,
    });
    const { evaluations } = body;
    const semantic = body.options?.evaluations_semantic ?? 'execute_all';
    const defaults: Record<string, unknown> = {};
    for (const part of PARTS) if (Object.hasOwn(body, part)) defaults[part] = body[part];
    if (evaluations === undefined || (Array.isArray(evaluations) && evaluations.length === 0)) {
      if (problems.length > 0) {
        // Every problem at once: the wrapper's and the request's.
        validateInto(engine, defaults, problems, '');
        throwProblems(problems);
      }
      const decision = decideClosed(engine, defaults);
      c.set('decisions', [decision]);
      return c.json(decision);
    }
    if (Array.isArray(evaluations) && evaluations.length > config.maxBatchItems) {
      addProblem(
        problems,
        '/evaluations',
        `evaluations has ${evaluations.length} items; at most ${config.maxBatchItems} are accepted per request`,
      );
      // Before validating any item: a huge batch costs nothing but this answer.
      throwProblems(problems);
    }
    const items = Array.isArray(evaluations) ? mergeAndValidate(engine, defaults, evaluations, problems) : [];
    throwProblems(problems);
    const results: Decision[] = [];
    for (const item of items) {
      let d: Decision;
      try {
        d = decideClosed(engine, item);
      } catch (err) {
        if (!isEngineError(err, 'evaluation_error') && !isEngineError(err, 'evaluation_undefined')) throw err;
        c.var.logger?.error(
          { err, request_id: c.var.requestId, item: results.length },
          'evaluation failed; denied',
        );
        d = failedItem(engine);
      }
      results.push(d);
      if (semantic === 'deny_on_first_deny' && !d.decision) break;
      if (semantic === 'permit_on_first_permit' && d.decision) break;
    }
    c.set('decisions', results);
    return c.json({ evaluations: results });
  });
}

/**
 * Adds the decision-request problems of `request` (engine.validate, SPEC §4) under `prefix` (a JSON pointer,
 * e.g. `/evaluations/2` or `/input`), each at most once per field.
 * @throws what engine.validate throws other than `invalid_input`
 */
export function validateInto(
  engine: Engine,
  request: unknown,
  problems: FieldProblem[],
  prefix: string,
): void {
  try {
    engine.validate(request);
  } catch (err) {
    if (!isEngineError(err, 'invalid_input')) throw err;
    for (const p of issuesToProblems(err.issues, prefix)) addProblem(problems, p.field ?? prefix, p.message);
  }
}

// Every item is checked before any is evaluated so a batch is answered whole or refused whole.
function mergeAndValidate(
  engine: Engine,
  defaults: Record<string, unknown>,
  evaluations: unknown[],
  problems: FieldProblem[],
): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  evaluations.forEach((raw, i) => {
    // Not an object: the schema named it (`evaluations[i] must be an object`).
    if (!isObject(raw)) return;
    const merged: Record<string, unknown> = { ...defaults, ...raw };
    items.push(merged);
    try {
      engine.validate(merged);
    } catch (err) {
      if (!isEngineError(err, 'invalid_input')) throw err;
      for (const p of issuesToProblems(err.issues)) {
        // Name the item's own field when it gave it; a default it inherited is named at the top level.
        const first = unescapePointer(p.field?.split('/')[1] ?? '');
        // A field the item gave, or one that neither the item nor the defaults gave, is the item's.
        const own = Object.hasOwn(raw, first) || !Object.hasOwn(defaults, first);
        if (own || !p.field)
          addProblem(problems, `/evaluations/${i}${p.field ?? ''}`, `evaluations[${i}]: ${p.message}`);
        else addProblem(problems, p.field, `evaluations[${i}] (from the top-level default): ${p.message}`);
      }
    }
  });
  return items;
}

function failedItem(engine: Engine): Decision {
  const message = 'the evaluation failed; denied (fail closed)';
  return {
    decision: false,
    context: {
      decision_id: randomUUID(),
      revision: engine.revision ?? '',
      reason: { code: 'evaluation_error', message },
      error: { status: 500, message },
    },
  } as Decision;
}
