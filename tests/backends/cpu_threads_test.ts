// The CPU engine on worker threads: the same results as on the calling thread, for row counts
// that do not divide among the threads and rows cut into many calls; the thread count is
// configurable and validated.
import assert from "node:assert/strict";
import {
  Genred,
  getThreads,
  type NDArray,
  ndarray,
  type ReductionName,
  setThreads,
  shutdownThreads,
} from "../../mod.ts";
import { setSyncStartTimeout, threadJobs, threadsAvailable } from "../../backends/wasm/threads.ts";
import { setThreadSupport } from "../../backends/wasm/ports.ts";
import { setPairsPerCall } from "../../backends/wasm/driver.ts";
import { assertThrowsClass, rng, uniform } from "../_helpers.ts";

for (const backend of ["cpu", "cpu-rust"] as const) {
  Deno.test(`[${backend}] threads give the results of one thread`, async () => {
    assert.ok(threadsAvailable(), "Deno offers workers and shared memory");
    const r = rng(91);
    const M = 1001, N = 2100; // over a million pairs, rows not a multiple of the threads
    const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
    const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
    const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
    const cases: [string, ReductionName, number?][] = [
      ["Exp(-SqDist(x,y))*b", "Sum"],
      ["SqDist(x,y)", "ArgKMin", 10],
      ["-SqDist(x,y)", "LogSumExp"],
      ["SqDist(x,y) + b", "Min_ArgMin"],
    ];
    const before = getThreads();
    try {
      for (const [f, red, k] of cases) {
        const g = Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k });
        setThreads(1);
        const one = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
        for (const t of [2, 3]) {
          setThreads(t);
          const many = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
          many.forEach((o, q) =>
            assert.deepEqual(Array.from(o.data), Array.from(one[q].data), `${red} with ${t} threads`)
          );
        }
        // Rows cut into calls of one and of seven rows, on one thread and on two.
        for (const [t, pairs] of [[1, 1], [2, 7 * N]]) {
          setThreads(t);
          const old = setPairsPerCall(pairs);
          try {
            const cut = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
            cut.forEach((o, q) =>
              assert.deepEqual(
                Array.from(o.data),
                Array.from(one[q].data),
                `${red} in calls of ${Math.max(1, Math.floor(pairs / N))} rows`,
              )
            );
          } finally {
            setPairsPerCall(old);
          }
        }
      }
    } finally {
      setThreads(before);
      shutdownThreads();
    }
  });
}

Deno.test("the thread count is validated", async () => {
  await assertThrowsClass(() => setThreads(0), RangeError, /between 1 and 256, got 0/);
  await assertThrowsClass(() => setThreads(1.5), RangeError, /got 1.5/);
});

/** A Gaussian sum large enough for the threads (over 2^21 pairs), and its value by plain loops. */
function bigSum() {
  const r = rng(5);
  const M = 1500, N = 1500;
  const x = Float32Array.from(uniform(r, M)), y = Float32Array.from(uniform(r, N));
  const g = Genred("Exp(-SqDist(x,y))", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 });
  const want = Array.from(x, (xi) => y.reduce((s, yj) => s + Math.exp(-((xi - yj) ** 2)), 0));
  return {
    run: (backend: "cpu" | "cpu-rust") => g(ndarray(x, [M, 1]), ndarray(y, [N, 1]), { backend }),
    sync: (backend: "cpu" | "cpu-rust") => g.sync(ndarray(x, [M, 1]), ndarray(y, [N, 1]), { backend }),
    want,
  };
}

/** Runs f with console.warn recorded. */
async function warnings(f: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [], old = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.join(" "));
  try {
    await f();
  } finally {
    console.warn = old;
  }
  return seen;
}

Deno.test("workers that cannot start: one warning, the calling thread, correct results, getThreads() 1", async () => {
  const { run, want } = bigSum();
  const before = getThreads();
  // A runtime whose workers are refused when created (as a Content-Security-Policy refuses
  // data: workers), then one whose workers never answer their first message properly.
  const refusing = () => ({
    ok: true as const,
    kind: "web" as const,
    spawn(): never {
      throw new Error("Refused to create a worker from 'data:' (worker-src 'self')");
    },
  });
  const old = setThreadSupport(refusing);
  try {
    setThreads(2);
    shutdownThreads();
    const seen = await warnings(async () => {
      for (const backend of ["cpu", "cpu-rust"] as const) {
        for (let k = 0; k < 2; k++) {
          const out = await run(backend);
          want.forEach((w, i) => assert.ok(Math.abs(out.data[i] - w) <= 1e-5 * w, `${backend} row ${i}`));
        }
      }
    });
    assert.equal(seen.length, 1, `one warning: ${JSON.stringify(seen)}`);
    assert.match(seen[0], /calling thread only.*could not start.*worker-src/);
    assert.equal(getThreads(), 1, "getThreads() tells the truth");
  } finally {
    setThreadSupport(old);
    setThreads(before);
    shutdownThreads();
  }
  // Workers again: the pool starts and runs.
  assert.ok(threadsAvailable() && getThreads() === before);
});

Deno.test("a worker that fails during a call takes its pool down: the call and later calls are correct", async () => {
  const { run, want } = bigSum();
  const before = getThreads();
  let spawned = 0;
  // Workers that start, then fail on their first job.
  const failing = () => ({
    ok: true as const,
    kind: "web" as const,
    spawn() {
      spawned++;
      let onMessage: (d: unknown) => void = () => {}, onError: (e: Error) => void = () => {};
      return {
        send(m: unknown) {
          const type = (m as { type: string }).type;
          queueMicrotask(
            () => (type === "init" ? onMessage({ type: "ready" }) : onError(new Error("worker crashed"))),
          );
        },
        listen(m: (d: unknown) => void, e: (x: Error) => void) {
          onMessage = m;
          onError = e;
        },
        terminate() {},
      };
    },
  });
  const old = setThreadSupport(failing);
  try {
    setThreads(2);
    shutdownThreads();
    for (let k = 0; k < 3; k++) {
      const out = await run("cpu-rust");
      want.forEach((w, i) => assert.ok(Math.abs(out.data[i] - w) <= 1e-5 * w, `call ${k} row ${i}`));
    }
    assert.equal(spawned, 6, "each call started a fresh pool of two workers");
  } finally {
    setThreadSupport(old);
    setThreads(before);
    shutdownThreads();
  }
});

Deno.test("no shared memory: threads off with one warning that says why", async () => {
  const { run, want } = bigSum();
  const before = getThreads();
  const old = setThreadSupport(() => ({ ok: false, reason: "the page is not cross-origin isolated" }));
  try {
    setThreads(2);
    assert.equal(getThreads(), 1);
    const seen = await warnings(async () => {
      const out = await run("cpu");
      want.forEach((w, i) => assert.ok(Math.abs(out.data[i] - w) <= 1e-5 * w));
    });
    assert.ok(seen.length <= 1 && seen.every((s) => /cross-origin isolated/.test(s)), JSON.stringify(seen));
  } finally {
    setThreadSupport(old);
    setThreads(before);
  }
});

Deno.test("the idle timeout is an option, validated", async () => {
  const before = getThreads();
  try {
    setThreads(before, { idleMs: Infinity });
    setThreads(before, { idleMs: 0 });
    await assertThrowsClass(
      () => setThreads(2, { idleMs: -1 }),
      RangeError,
      /idleMs must be a number of milliseconds/,
    );
    await assertThrowsClass(
      () => setThreads(2, { idle: 5 } as never),
      TypeError,
      /Unknown setThreads option "idle"/,
    );
  } finally {
    setThreads(before, { idleMs: 500 });
  }
});

for (const backend of ["cpu", "cpu-rust"] as const) {
  Deno.test(`[${backend}] synchronous calls run on the started workers, waited for, with one thread's results`, async () => {
    const r = rng(92);
    const M = 1001, N = 2100;
    const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
    const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
    const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
    const before = getThreads();
    try {
      for (const [f, red, k] of [["Exp(-SqDist(x,y))*b", "Sum"], ["SqDist(x,y)", "ArgKMin", 10]] as const) {
        const g = Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k } as never);
        setThreads(1);
        const one = [g.sync(x, y, b, { backend }) as NDArray | [NDArray, NDArray]].flat();
        setThreads(2);
        await g(x, y, b, { backend }); // an asynchronous call starts the workers
        const jobs = threadJobs();
        const many = [g.sync(x, y, b, { backend }) as NDArray | [NDArray, NDArray]].flat();
        assert.equal(threadJobs(), jobs + 1, "the synchronous call ran on the workers");
        many.forEach((o, q) => assert.deepEqual(Array.from(o.data), Array.from(one[q].data), red));
        // While an asynchronous call holds the workers, a synchronous one runs alone, and both are right.
        const pending = g(x, y, b, { backend });
        const now = [g.sync(x, y, b, { backend }) as NDArray | [NDArray, NDArray]].flat();
        const later = [(await pending) as NDArray | [NDArray, NDArray]].flat();
        now.forEach((o, q) => assert.deepEqual(Array.from(o.data), Array.from(one[q].data), `${red} alone`));
        later.forEach((o, q) =>
          assert.deepEqual(Array.from(o.data), Array.from(one[q].data), `${red} async`)
        );
      }
    } finally {
      setThreads(before);
      shutdownThreads();
    }
  });
}

Deno.test("a synchronous call on workers that never take their job gives the pool up and runs alone", async () => {
  const sum = bigSum(), { want } = sum;
  const before = getThreads();
  // Workers that start and then ignore every job.
  const deaf = () => ({
    ok: true as const,
    kind: "web" as const,
    spawn() {
      let onMessage: (d: unknown) => void = () => {};
      return {
        send(m: unknown) {
          if ((m as { type: string }).type === "init") queueMicrotask(() => onMessage({ type: "ready" }));
        },
        listen(m: (d: unknown) => void) {
          onMessage = m;
        },
        terminate() {},
      };
    },
  });
  const old = setThreadSupport(deaf), oldTimeout = setSyncStartTimeout(50);
  try {
    setThreads(2);
    shutdownThreads();
    sum.sync("cpu-rust"); // alone; the pool starts in the background
    await new Promise((r) => setTimeout(r, 20));
    const jobs = threadJobs();
    const out = sum.sync("cpu-rust"); // on the deaf pool: given up, then alone
    assert.equal(threadJobs(), jobs + 1, "the call went to the pool first");
    want.forEach((w, i) => assert.ok(Math.abs(out.data[i] - w) <= 1e-5 * w, `row ${i}`));
  } finally {
    setSyncStartTimeout(oldTimeout);
    setThreadSupport(old);
    setThreads(before);
    shutdownThreads();
  }
});
