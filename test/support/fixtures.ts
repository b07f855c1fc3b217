// Shared request fixtures and engine doubles of the HTTP suites (examples/policy-repo's orgs).
import { type Engine, EngineError } from '../../engine/index.ts';

/**
 * `real`, except that resource id `explode` makes the evaluation throw `evaluation_error` (a Wasm trap
 * stand-in): how suites reach the fail-closed 500 path (SPEC §4).
 */
export function engineWithTrap(real: Engine): Engine {
  const e = Object.create(real) as Engine;
  e.decide = (req, opts) => {
    if ((req as { resource?: { id?: string } }).resource?.id === 'explode')
      throw new EngineError('evaluation_error', 'wasm trap: unreachable');
    return real.decide(req, opts);
  };
  return e;
}

/** An `app.connect` of member `user` (email `<user>@acme.example`) for `app` in `org`. */
export const connect = (user: string, app: string, org = 'acme.example') => ({
  subject: {
    type: 'user',
    id: user,
    properties: { email: `${user.toLowerCase()}@acme.example`, role: 'member' },
  },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: app },
  context: { org },
});

/** An app Acme blocks (examples/policy-repo/orgs/acme.yaml). */
export const BLOCKED = '1204567890123456789';
