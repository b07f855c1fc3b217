// OPA Data API compatibility: POST /v1/data/appwarden/decision, for services that already speak OPA's REST API.
import type { Hono } from 'hono';
import { type Engine, isEngineError } from '../../engine/index.ts';
import type { OpaDataRequest } from '../../schemas/opa-data-request.gen.ts';
import opaSchema from '../../schemas/opa-data-request.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { invalidRequest, issuesToProblems } from '../errors.ts';
import { assertReady, decideClosed, validateInto } from './evaluation.ts';

/**
 * Registers `POST /v1/data/appwarden/decision`: body `{"input": <AuthZEN request>}`
 * (schemas/opa-data-request.schema.json), answer `{"result": <decision>, "decision_id": <context.decision_id>}`
 * (OPA's response shape). The input is validated exactly like `/access/v1/evaluation` (SPEC §4); its fields are
 * named under `/input`.
 * @throws HttpError 400 when `input` is missing or not an object, or any other top-level key is present.
 */
export function registerOpaRoutes(app: Hono<AppEnv>, engine: Engine, config: ServerConfig): void {
  app.post('/v1/data/appwarden/decision', async (c) => {
    assertReady(engine);
    // The wrapper's shape is the schema's; inside input, the decision request's own validation names the fields.
    const { body, problems } = await readBody<OpaDataRequest>(c, config.maxBodyBytes, opaSchema, {
      text: false,
      ignore: (e) => e.path.startsWith('/input/'),
    });
    const input: unknown = body.input;
    if (problems.length > 0) {
      // Every problem at once: the wrapper's, and the request's when there is one.
      if (input !== null && typeof input === 'object' && !Array.isArray(input))
        validateInto(engine, input, problems, '/input');
      throwProblems(problems);
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
