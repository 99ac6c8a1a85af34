// The demo page: training points of 3 classes, a 120 × 120 grid of queries classified by their
// 10 nearest neighbours (keops-ts's ArgKMin) on the CPU engine and on WebGPU when offered; the
// grid's labels checked against plain JavaScript on a sample; results in #result (JSON) for the
// headless test (tests/browser/run.ts).
import { getThreads, ndarray, Vi, Vj } from "./keops.mjs";

const COLOURS = [[31, 119, 180], [255, 127, 14], [44, 160, 44]];
const G = 120, K = 10;
const canvas = document.getElementById("map"), ctx = canvas.getContext("2d");
let seed = 11, cls = 0;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
let pts = [], labels = [];

function spiral() {
  pts = [];
  labels = [];
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 300; k++) {
      const t = k / 300,
        a = 2 * Math.PI * (c / 3 + 1.2 * t),
        r = 0.1 + 0.75 * t;
      pts.push(
        0.5 + 0.5 * r * Math.cos(a) + 0.04 * (rand() - 0.5),
        0.5 + 0.5 * r * Math.sin(a) + 0.04 * (rand() - 0.5),
      );
      labels.push(c);
    }
  }
}

const grid = new Float32Array(2 * G * G);
for (let i = 0; i < G; i++) {
  for (let j = 0; j < G; j++) {
    grid.set([(j + 0.5) / G, 1 - (i + 0.5) / G], 2 * (i * G + j));
  }
}

/** The class of each grid point by majority of its K neighbours (ties: the nearest's). */
function vote(nn) {
  const out = new Int32Array(G * G);
  for (let q = 0; q < G * G; q++) {
    const v = [0, 0, 0];
    for (let k = 0; k < K; k++) v[labels[nn[q * K + k]]] += 1;
    const best = Math.max(...v);
    out[q] = v[labels[nn[q * K]]] === best ? labels[nn[q * K]] : v.indexOf(best);
  }
  return out;
}

/** The K nearest training points of grid point q, by plain JavaScript (ties: smaller index). */
function plainNeighbours(q) {
  const d = [];
  for (let j = 0; j < pts.length / 2; j++) {
    d.push(
      (grid[2 * q] - pts[2 * j]) ** 2 + (grid[2 * q + 1] - pts[2 * j + 1]) ** 2,
    );
  }
  return [...d.keys()].sort((a, b) => d[a] - d[b] || a - b).slice(0, K);
}

function draw(classes) {
  const img = ctx.createImageData(G, G);
  for (let q = 0; q < G * G; q++) {
    const [r, g, b] = COLOURS[classes[q]];
    img.data.set([(r + 510) / 3, (g + 510) / 3, (b + 510) / 3, 255], 4 * q);
  }
  const tmp = new OffscreenCanvas(G, G);
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  for (let j = 0; j < pts.length / 2; j++) {
    ctx.fillStyle = `rgb(${COLOURS[labels[j]].join(",")})`;
    ctx.beginPath();
    ctx.arc(
      pts[2 * j] * canvas.width,
      (1 - pts[2 * j + 1]) * canvas.height,
      3,
      0,
      2 * Math.PI,
    );
    ctx.fill();
  }
}

async function classify() {
  const y = Float32Array.from(pts), N = y.length / 2;
  const engines = ["cpu"];
  const adapter = await navigator.gpu?.requestAdapter();
  if (adapter) engines.push("gpu");
  const rows = [],
    sample = Array.from({ length: 40 }, (_, k) => Math.floor((k * G * G) / 40));
  let shown;
  for (const backend of engines) {
    try {
      const t = performance.now();
      const nn = (await Vi(ndarray(grid, [G * G, 2])).sqdist(Vj(ndarray(y, [N, 2])))
        .argKmin(K, 1, { backend })).data;
      const ms = performance.now() - t;
      // The same neighbours as plain JavaScript (their distances: float32 may swap equal ones).
      const agree = sample.every((q) => {
        const want = plainNeighbours(q);
        return want.every((j, k) => {
          const dj = (grid[2 * q] - pts[2 * j]) ** 2 +
            (grid[2 * q + 1] - pts[2 * j + 1]) ** 2;
          const g = nn[q * K + k],
            dg = (grid[2 * q] - pts[2 * g]) ** 2 +
              (grid[2 * q + 1] - pts[2 * g + 1]) ** 2;
          return Math.abs(dj - dg) <= 1e-5;
        });
      });
      rows.push({
        backend,
        ms: Math.round(ms * 10) / 10,
        agree,
        pairs: G * G * N,
      });
      shown ??= vote(nn);
    } catch (e) {
      rows.push({ backend, error: String(e && e.message) });
    }
  }
  if (shown) draw(shown);
  const table = document.getElementById("timings");
  table.querySelectorAll("tr.row").forEach((r) => r.remove());
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.className = "row";
    tr.innerHTML =
      `<td>${r.backend}${r.backend === "gpu" && adapter?.info?.isFallbackAdapter ? " (software)" : ""}</td>` +
      `<td>${r.error ? r.error : `${r.ms} ms for ${(r.pairs / 1e6).toFixed(1)}M pairs`}</td><td>${
        r.error ? "" : r.agree ? "yes" : "NO"
      }</td>`;
    table.append(tr);
  }
  const env = {
    threads: getThreads(),
    crossOriginIsolated: self.crossOriginIsolated,
    webgpu: !!adapter,
  };
  document.getElementById("env").textContent =
    `CPU threads: ${env.threads} (cross-origin isolated: ${env.crossOriginIsolated}); WebGPU: ${
      env.webgpu ? "yes" : "no"
    }`;
  document.getElementById("result").textContent = JSON.stringify({
    ...env,
    points: N,
    engines: rows,
  });
}

document.getElementById("classes").innerHTML = COLOURS.map((_, k) =>
  `<button data-c="${k}"><span class="swatch c${k}"></span>class ${k + 1}</button>`
).join("");
document.querySelectorAll("#classes button").forEach((b) =>
  b.addEventListener("click", () => (cls = Number(b.dataset.c)))
);
document.getElementById("reset").addEventListener("click", () => {
  seed = Math.floor(Math.random() * 1e9);
  spiral();
  classify();
});
canvas.addEventListener("click", (e) => {
  const r = canvas.getBoundingClientRect();
  pts.push((e.clientX - r.left) / r.width, 1 - (e.clientY - r.top) / r.height);
  labels.push(cls);
  classify();
});
spiral();
await classify();
