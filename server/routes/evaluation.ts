// AuthZEN 1.0 Access Evaluation API: POST /access/v1/evaluation and the batch POST /access/v1/evaluations.

import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { type Decision, type Engine, EngineError, isEngineError } from '../../engine/index.ts';
import type { AppEnv } from '../app.ts';
import { readJsonObject } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { type FieldProblem, invalidRequest, issuesToProblems } from '../errors.ts';

/** How a batch stops early (AuthZEN 1.0 `options.evaluations_semantic`). */
export type EvaluationsSemantic = 'execute_all' | 'deny_on_first_deny' | 'permit_on_first_permit';
const SEMANTICS: readonly EvaluationsSemantic[] = [
  'execute_all',
  'deny_on_first_deny',
  'permit_on_first_permit',
];

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
    const body = await readJsonObject(c, config.maxBodyBytes);
    const { evaluations, options, ...defaults } = body;
    const semantic = readSemantic(options);
    if (evaluations === undefined || (Array.isArray(evaluations) && evaluations.length === 0)) {
      const decision = decideClosed(engine, defaults);
      c.set('decisions', [decision]);
      return c.json(decision);
    }
    if (!Array.isArray(evaluations)) {
      throw invalidRequest([
        { field: '/evaluations', message: 'evaluations must be an array of evaluation objects' },
      ]);
    }
    if (evaluations.length > config.maxBatchItems) {
      throw invalidRequest([
        {
          field: '/evaluations',
          message: `evaluations has ${evaluations.length} items; at most ${config.maxBatchItems} are accepted per request`,
        },
      ]);
    }
    const items = mergeAndValidate(engine, defaults, evaluations);
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

function readSemantic(options: unknown): EvaluationsSemantic {
  if (options === undefined) return 'execute_all';
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidRequest([{ field: '/options', message: 'options must be an object' }]);
  }
  const s = (options as Record<string, unknown>).evaluations_semantic;
  if (s === undefined) return 'execute_all';
  if (typeof s !== 'string' || !SEMANTICS.includes(s as EvaluationsSemantic)) {
    throw invalidRequest([
      {
        field: '/options/evaluations_semantic',
        message: `evaluations_semantic must be one of ${SEMANTICS.join(', ')}`,
      },
    ]);
  }
  return s as EvaluationsSemantic;
}

// Every item is checked before any is evaluated so a batch is answered whole or refused whole.
function mergeAndValidate(
  engine: Engine,
  defaults: Record<string, unknown>,
  evaluations: unknown[],
): Record<string, unknown>[] {
  const problems: FieldProblem[] = [];
  const items: Record<string, unknown>[] = [];
  evaluations.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ field: `/evaluations/${i}`, message: `evaluations[${i}] must be an object` });
      return;
    }
    const item = raw as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...defaults, ...item };
    items.push(merged);
    try {
      engine.validate(merged);
    } catch (err) {
      if (!isEngineError(err, 'invalid_input')) throw err;
      for (const p of issuesToProblems(err.issues)) {
        // Name the item's own field when it gave it; a default it inherited is named at the top level.
        const first = p.field?.split('/')[1]?.replace(/~1/g, '/').replace(/~0/g, '~');
        // A field the item gave, or one that neither the item nor the defaults gave, is the item's.
        const own = first !== undefined && (Object.hasOwn(item, first) || !Object.hasOwn(defaults, first));
        problems.push(
          own || !p.field
            ? { field: `/evaluations/${i}${p.field ?? ''}`, message: `evaluations[${i}]: ${p.message}` }
            : { field: p.field, message: `evaluations[${i}] (from the top-level default): ${p.message}` },
        );
      }
    }
  });
  if (problems.length > 0) throw invalidRequest(problems);
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
