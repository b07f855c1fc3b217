import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError, formatIssue } from '../engine/errors.ts';

test('issues are sorted by file, line, column and formatted file:line:col', () => {
  const err = new EngineError('invalid_policy', [
    { file: 'orgs/b.yaml', line: 2, column: 1, message: 'second' },
    { file: 'orgs/a.yaml', line: 9, column: 3, path: 'spec.apps', message: 'first', hint: 'quote it' },
  ]);
  assert.is(err.issues[0]?.file, 'orgs/a.yaml');
  assert.is(formatIssue(err.issues[0]!), 'orgs/a.yaml:9:3: first (at spec.apps; quote it)');
  assert.match(err.message, /^2 problems:/);
});

test.run();
