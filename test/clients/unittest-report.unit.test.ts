import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUnittest } from '../helpers/unittest-report.js';

test('the unittest report reader reads Python 3.9 and 3.11 result lines, docstrings, skips and tracebacks', () => {
  const output = [
    'test_a (test_x.T.test_a) ... ok',
    'test_b (test_x.T)',
    'What b checks ... FAIL',
    "test_c (test_x.T) ... skipped 'no setuptools'",
    'test_d (test_x.T.test_d) ... ERROR',
    '',
    '======================================================================',
    'FAIL: test_b (test_x.T)',
    '----------------------------------------------------------------------',
    'Traceback (most recent call last):',
    'AssertionError: 1 != 2',
    '',
    '======================================================================',
    'ERROR: test_d (test_x.T.test_d)',
    '----------------------------------------------------------------------',
    'RuntimeError: boom',
    '',
    '----------------------------------------------------------------------',
    'Ran 4 tests in 0.010s',
  ].join('\n');
  const { results, ran } = parseUnittest(output);
  assert.equal(ran, 4);
  assert.deepEqual(results.map((r) => [r.id, r.outcome]), [
    ['test_x.T.test_a', 'ok'], ['test_x.T.test_b', 'FAIL'], ['test_x.T.test_c', 'skipped'], ['test_x.T.test_d', 'ERROR'],
  ]);
  assert.equal(results[1]!.detail, 'Traceback (most recent call last):\nAssertionError: 1 != 2');
  assert.equal(results[2]!.detail, "'no setuptools'");
  assert.equal(results[3]!.detail, 'RuntimeError: boom');
});
