// OPA Data API compatibility: POST /v1/data/appwarden/decision, for services that already speak OPA's REST API.
import type { Hono } from 'hono';
import { type Engine, isEngineError } from '../../engine/index.ts';
import type { AppEnv } from '../app.ts';
import { readJsonObject } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { invalidRequest, issuesToProblems } from '../errors.ts';
import { assertReady, decideClosed } from './evaluation.ts';

/**
 * Registers `POST /v1/data/appwarden/decision`: body `{"input": <AuthZEN request>}`, answer
 * `{"result": <decision>, "decision_id": <context.decision_id>}` (OPA's response shape). The input is
 * validated exactly like `/access/v1/evaluation` (SPEC §4); its fields are named under `/input`.
 * @throws HttpError 400 when `input` is missing or not an object, or any other top-level key is present.
 */
export function registerOpaRoutes(app: Hono<AppEnv>, engine: Engine, config: ServerConfig): void {
  app.post('/v1/data/appwarden/decision', async (c) => {
    assertReady(engine);
    const body = await readJsonObject(c, config.maxBodyBytes);
    for (const key of Object.keys(body)) {
      if (key !== 'input')
        throw invalidRequest([{ field: `/${key}`, message: `unknown key "${key}"; send {"input": {...}}` }]);
    }
    const input = body.input;
    if (input === undefined)
      throw invalidRequest([{ field: '/input', message: 'input is required: send {"input": {...}}' }]);
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw invalidRequest([
        { field: '/input', message: 'input must be an object (the AuthZEN evaluation request)' },
      ]);
    }
    let decision: ReturnType<Engine['decide']>;
    try {
      decision = decideClosed(engine, input);
    } catch (err) {
      if (isEngineError(err, 'invalid_input')) throw invalidRequest(issuesToProblems(err.issues, '/input'));
      throw err;
    }
    c.set('decisions', [decision]);
    return c.json({ result: decision, decision_id: decision.context.decision_id });
  });
}
