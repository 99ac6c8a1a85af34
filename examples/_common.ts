/**
 * What the gallery's scripts share: a seeded generator, Gaussian blobs, a check that fails the
 * script, and a small SVG plotter (points, circles, lines) for the figures of KeOps's pages.
 *
 * @module
 */

/** A seeded uniform generator in [0, 1) (the tests' mulberry32). */
export { rng as random } from "../tests/_helpers.ts";

/** The sum of an array's values. */
export function total(v: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k];
  return s;
}

/** A standard normal draw (Box–Muller). */
export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** n points in 2-D around `centres` (flat [x0, y0, x1, y1, …]) with spread s, row-major float32. */
export function blobs(
  r: () => number,
  n: number,
  centres: number[],
  s: number,
): Float32Array {
  const out = new Float32Array(2 * n), k = centres.length / 2;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * k);
    out[2 * i] = centres[2 * c] + s * normal(r);
    out[2 * i + 1] = centres[2 * c + 1] + s * normal(r);
  }
  return out;
}

/** Fails the script (a thrown Error) unless `ok`, else prints what was checked. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Check failed: ${what}`);
  console.log(`  check: ${what}`);
}

/** Whether the script runs at the small size of its self-check (`--small`). */
export const SMALL = Deno.args.includes("--small");

const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** A plot in data coordinates [x0, x1] × [y0, y1], drawn as SVG. */
export class Plot {
  private readonly parts: string[] = [];
  private readonly box: readonly [number, number, number, number];
  private readonly size: number;
  constructor(box: [number, number, number, number], size = 480) {
    this.box = box;
    this.size = size;
  }
  private x(v: number) {
    return ((v - this.box[0]) / (this.box[1] - this.box[0])) * this.size;
  }
  private y(v: number) {
    return this.size -
      ((v - this.box[2]) / (this.box[3] - this.box[2])) * this.size;
  }
  /** Points (flat [x, y, …]), coloured by `labels` (or one colour). */
  points(
    xy: ArrayLike<number>,
    labels?: ArrayLike<number>,
    r = 1.5,
    colour?: string,
  ): this {
    for (let i = 0; i < xy.length / 2; i++) {
      const c = colour ?? PALETTE[(labels ? labels[i] : 0) % PALETTE.length];
      this.parts.push(
        `<circle cx="${this.x(xy[2 * i]).toFixed(1)}" cy="${
          this.y(xy[2 * i + 1]).toFixed(1)
        }" r="${r}" fill="${c}" fill-opacity="0.7"/>`,
      );
    }
    return this;
  }
  /** A circle of radius `rad` (data units) around (cx, cy). */
  circle(cx: number, cy: number, rad: number, colour = "black"): this {
    const rx = (rad / (this.box[1] - this.box[0])) * this.size;
    this.parts.push(
      `<circle cx="${this.x(cx).toFixed(1)}" cy="${this.y(cy).toFixed(1)}" r="${
        rx.toFixed(1)
      }" fill="none" stroke="${colour}" stroke-width="1.5"/>`,
    );
    return this;
  }
  /** A polyline through (xs[k], ys[k]). */
  line(
    xs: ArrayLike<number>,
    ys: ArrayLike<number>,
    colour = "black",
    width = 2,
  ): this {
    const pts = Array.from(
      xs,
      (v, k) => `${this.x(v).toFixed(1)},${this.y(ys[k]).toFixed(1)}`,
    ).join(" ");
    this.parts.push(
      `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="${width}"/>`,
    );
    return this;
  }
  /** A segment from (x0, y0) to (x1, y1). */
  segment(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    colour = "#888",
  ): this {
    this.parts.push(
      `<line x1="${this.x(x0).toFixed(1)}" y1="${this.y(y0).toFixed(1)}" x2="${this.x(x1).toFixed(1)}" y2="${
        this.y(y1).toFixed(1)
      }" stroke="${colour}" stroke-width="0.6"/>`,
    );
    return this;
  }
  /** Writes the plot, with a title, to `path` (under examples/out/). */
  async write(name: string, title: string): Promise<string> {
    const s = this.size;
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s + 24}" viewBox="0 -24 ${s} ${
        s + 24
      }">` +
      `<rect x="0" y="-24" width="${s}" height="${s + 24}" fill="white"/>` +
      `<text x="6" y="-7" font-family="sans-serif" font-size="14">${title}</text>${
        this.parts.join("")
      }</svg>\n`;
    const dir = new URL("./out/", import.meta.url);
    await Deno.mkdir(dir, { recursive: true });
    const path = new URL(name, dir);
    await Deno.writeTextFile(path, svg);
    console.log(`  figure: examples/out/${name}`);
    return path.pathname;
  }
}
