import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher } from '../../../src/engine/stopSequences';

/** Feeds the pieces; returns everything emitted (flush included unless stopped) and the stop. */
function run(
  stops: string[],
  pieces: string[],
): { text: string; stopped: boolean; emits: string[] } {
  const m = new StopMatcher(stops);
  const emits: string[] = [];
  let stopped = false;
  for (const p of pieces) {
    const r = m.push(p);
    emits.push(r.emit);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  if (!stopped) emits.push(m.flush());
  return { text: emits.join(''), stopped, emits };
}

test('without a match, all text comes out unchanged', () => {
  const r = run(['\n\n', 'END'], ['a', 'b\n', 'c', 'E', 'N', 'x']);
  assert.equal(r.text, 'ab\ncENx');
  assert.equal(r.stopped, false);
});

test('no stop sequences: text passes straight through', () => {
  const r = run([], ['a', '', 'bc']);
  assert.deepEqual(r.emits, ['a', '', 'bc', '']);
  assert.deepEqual(run([''], ['x']).emits, ['x', '']);
});

test('holds back a possible stop prefix and releases it when it cannot match', () => {
  const m = new StopMatcher(['\n\n']);
  assert.deepEqual(m.push('foo\n'), { emit: 'foo', stopped: false });
  assert.deepEqual(m.push('bar'), { emit: '\nbar', stopped: false });
  assert.deepEqual(m.push('\n'), { emit: '', stopped: false });
  assert.equal(m.flush(), '\n');
  assert.equal(m.flush(), '');
});

test('a stop sequence split across increments stops, dropping it and what follows', () => {
  const r = run(['</code>'], ['x = 1;<', '/co', 'de>tail', 'more']);
  assert.equal(r.text, 'x = 1;');
  assert.equal(r.stopped, true);
  assert.deepEqual(r.emits, ['x = 1;', '', '']);
});

test('a stop sequence inside one increment', () => {
  const r = run(['\ndef '], ['    return 1\ndef foo():\n']);
  assert.deepEqual(r.emits, ['    return 1']);
  assert.equal(r.stopped, true);
});

test('the earliest-starting completed match wins; nothing is emitted after a stop', () => {
  const m = new StopMatcher(['cd', 'abcde', 'b']);
  assert.deepEqual(m.push('xa'), { emit: 'x', stopped: false });
  assert.deepEqual(m.push('bcd'), { emit: 'a', stopped: true });
  assert.deepEqual(m.push('more'), { emit: '', stopped: true });
  assert.equal(m.stopped, true);
  assert.equal(m.flush(), '');
});

test('overlapping partial prefixes are held back correctly', () => {
  // "aab" must be found although "aa" first looks like a false start.
  assert.equal(run(['aab'], ['a', 'a', 'a', 'b', 'z']).text, 'a');
  // Longest held suffix among several stops.
  const m = new StopMatcher(['xyz', 'yzq']);
  assert.deepEqual(m.push('wxy'), { emit: 'w', stopped: false });
  assert.deepEqual(m.push('zq'), { emit: '', stopped: true });
});

test('random splits of a text give the same result as one piece', () => {
  const text = 'line one\nline two\n\n## next\nend';
  const stops = ['\n\n##', 'zzz'];
  const whole = run(stops, [text]).text;
  assert.equal(whole, 'line one\nline two');
  for (let cut = 0; cut < 200; cut++) {
    const pieces: string[] = [];
    let rest = text;
    let seed = cut + 1;
    while (rest.length > 0) {
      seed = (seed * 16807) % 2147483647;
      const n = seed % 4;
      pieces.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    assert.equal(run(stops, pieces).text, whole, JSON.stringify(pieces));
  }
});
