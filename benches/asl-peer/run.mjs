#!/usr/bin/env node
// Benchmark harness: runs an ASL definition through `aws-local-stepfunctions`
// and prints one JSON line with transitions per second.
//
//   node run.mjs --definition FILE --input JSON_FILE_OR_INLINE --runs N [--mock FILE]
//
// See README.md for what is measured and how transitions are counted.

import { readFileSync, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

// aws-local-stepfunctions 3.x targets Node >= 22 and calls Promise.withResolvers
// in every Task state; Node 20 lacks it. This is the standard, spec-equivalent shim.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');
// The package's "exports" hides package.json, so read the installed copy by path.
const VERSION = JSON.parse(
  readFileSync(new URL('./node_modules/aws-local-stepfunctions/package.json', import.meta.url), 'utf8'),
).version;
const ENGINE = 'aws-local-stepfunctions';

// Fixed Context Object so that $$ paths the definitions use resolve to the same
// values on every engine ($$.Execution.StartTime is always set by the library
// to the real start time and cannot be overridden).
const CONTEXT = {
  Execution: {
    Id: 'arn:aws:states:eu-west-1:123456789012:execution:bench:exec-1',
    Name: 'exec-1',
    RoleArn: 'arn:aws:iam::123456789012:role/bench',
  },
  StateMachine: {
    Id: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bench',
    Name: 'bench',
  },
  State: { EnteredTime: '2026-11-26T03:00:00.000Z', Name: '', RetryCount: 0 },
};

function die(msg) {
  process.stderr.write(`run.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { runs: 1 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const val = argv[i + 1];
    if (!key.startsWith('--') || val === undefined) die(`bad argument near '${key}'`);
    args[key.slice(2)] = val;
    i++;
  }
  if (!args.definition) die('--definition FILE is required');
  if (args.input === undefined) die('--input JSON_FILE_OR_INLINE is required');
  args.runs = Number(args.runs);
  if (!Number.isInteger(args.runs) || args.runs < 1) die('--runs must be an integer >= 1');
  return args;
}

function readJsonFile(path, what) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    die(`cannot read ${what} ${path}: ${e.message}`);
  }
}

function readInput(arg) {
  if (existsSync(arg)) return readJsonFile(arg, 'input');
  try {
    return JSON.parse(arg);
  } catch (e) {
    die(`--input is neither a file nor valid JSON: ${e.message}`);
  }
}

// Visit every state, including those nested in Parallel branches and Map iterators.
function forEachState(machine, fn) {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    fn(name, state);
    for (const branch of state.Branches ?? []) forEachState(branch, fn);
    if (state.Iterator) forEachState(state.Iterator, fn);
    if (state.ItemProcessor) forEachState(state.ItemProcessor, fn);
  }
}

// Builds the run overrides. Every Task state gets a local handler: mocked states
// replay their responses in order (the last one repeating); unmocked ones fail
// loudly, so no Task can ever reach AWS. Waits and Retry back-offs take 0 ms.
function buildOverrides(definition, mock) {
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  const cursors = new Map();
  for (const name of Object.keys(mock)) {
    if (!Array.isArray(mock[name]) || mock[name].length === 0) {
      die(`mock entry for '${name}' must be a non-empty array`);
    }
  }
  forEachState(definition, (name, state) => {
    if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (Array.isArray(state.Retry)) retryIntervalOverrides[name] = 0;
    if (state.Type !== 'Task') return;
    const responses = mock[name];
    taskResourceLocalHandlers[name] = () => {
      if (!responses) {
        const err = new Error(`no mock response for Task state '${name}'`);
        err.name = 'Harness.NoMock';
        throw err;
      }
      const i = cursors.get(name) ?? 0;
      cursors.set(name, i + 1);
      const r = responses[Math.min(i, responses.length - 1)];
      if ('Throw' in r) {
        const err = new Error(String(r.Throw?.Cause ?? ''));
        err.name = String(r.Throw?.Error ?? 'Error');
        throw err;
      }
      return structuredClone(r.Return ?? null);
    };
  });
  for (const name of Object.keys(mock)) {
    if (!(name in taskResourceLocalHandlers)) {
      process.stderr.write(`run.mjs: warning: mock names '${name}', which is not a Task state\n`);
    }
  }
  return {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    reset: () => cursors.clear(),
  };
}

// One execution. With `count`, transitions = number of StateEntered events read
// from the library's event log (nested Map/Parallel states are forwarded to the
// root log, so they are included). Reading the log is kept out of the timed runs:
// the library's log queue is drained with Array#shift, which goes quadratic once a
// long execution outruns the reader (see README.md), so the count is taken on the
// untimed warm-up run and the timed runs leave the log unread (the library still
// builds every event, as it always does).
async function runOnce(machine, input, runOptions, count) {
  const t0 = performance.now();
  const execution = machine.run(input, runOptions);
  const counting = count
    ? (async () => {
        let entered = 0;
        for await (const ev of execution.eventLogs) if (ev.type === 'StateEntered') entered++;
        return entered;
      })()
    : null;
  let status = 'SUCCEEDED';
  let output = null;
  let error;
  try {
    output = await execution.result;
  } catch (e) {
    status = e instanceof ExecutionError ? 'FAILED' : 'ERROR';
    const cause = e.cause ?? e;
    error = { Error: cause?.name ?? 'Error', Cause: cause?.message ?? String(cause) };
  }
  const transitions = counting ? await counting : null;
  const seconds = (performance.now() - t0) / 1000;
  return { status, output, error, transitions, seconds };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const args = parseArgs(process.argv.slice(2));
const definition = readJsonFile(args.definition, 'definition');
const input = readInput(args.input);
const mock = args.mock ? readJsonFile(args.mock, 'mock') : {};
const { overrides, reset } = buildOverrides(definition, mock);
const runOptions = { overrides, context: CONTEXT };

// Validation stays on (the library default: schema, JSONPaths and ARNs).
let machine;
try {
  machine = new StateMachine(definition);
} catch (e) {
  die(e.message);
}

reset();
const warm = await runOnce(machine, input, runOptions, true); // warm-up + count, not timed
const results = [];
for (let r = 0; r < args.runs; r++) {
  reset();
  results.push(await runOnce(machine, input, runOptions, false));
}

// Runs are deterministic (same input, mock cursors reset) up to $$.Execution.StartTime,
// which the library always sets to the real clock: check status and error agree.
const sig = (r) => JSON.stringify([r.status, r.error]);
for (const r of results) {
  if (sig(r) !== sig(warm)) die(`runs disagree: ${sig(r)} vs ${sig(warm)}`);
}
const seconds = median(results.map((r) => r.seconds));
const line = {
  engine: ENGINE,
  version: VERSION,
  runs: args.runs,
  transitions: warm.transitions,
  seconds,
  transitionsPerSecond: warm.transitions / seconds,
  status: warm.status,
  output: warm.output,
};
if (warm.error) line.error = warm.error;
process.stdout.write(JSON.stringify(line) + '\n');
process.exitCode = warm.status === 'SUCCEEDED' ? 0 : 1;
