// The tensor heat map: one layer (slots × dims) of the state this page replayed, colored by value
// (blue negative, dark zero, orange positive; a square-root scale so small values still show), with
// the rows the latest blocks changed marked for a few seconds.

export interface HeatCell {
  readonly slot: number;
  readonly dim: number;
  readonly value: number;
}

const NEG: [number, number, number][] = [[16, 22, 36], [37, 99, 235], [165, 243, 252]];
const POS: [number, number, number][] = [[16, 22, 36], [234, 88, 12], [254, 240, 138]];

function ramp(stops: [number, number, number][], t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** RGB of a value in [−bound, bound]. */
export function colorOf(v: number, bound: number): [number, number, number] {
  const t = Math.sqrt(Math.min(1, Math.abs(v) / bound));
  return v < 0 ? ramp(NEG, t) : ramp(POS, t);
}

export class HeatMap {
  private values: Int32Array | null = null;
  private readonly image: ImageData;
  private readonly off: HTMLCanvasElement;
  private touched = new Map<number, number>();
  draws = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly slots: number,
    private readonly dim: number,
    private readonly bound: number,
  ) {
    this.off = document.createElement('canvas');
    this.off.width = dim;
    this.off.height = slots;
    this.image = new ImageData(dim, slots);
  }

  /** Mark rows (slots) changed by the latest block; they stay outlined for a few seconds. */
  touch(slots: Iterable<number>, now: number): void {
    for (const s of slots) this.touched.set(s, now);
  }

  draw(values: Int32Array, height: number, now: number): void {
    this.values = values;
    const px = this.image.data;
    for (let i = 0; i < values.length; i++) {
      const [r, g, b] = colorOf(values[i]!, this.bound);
      px[4 * i] = r;
      px[4 * i + 1] = g;
      px[4 * i + 2] = b;
      px[4 * i + 3] = 255;
    }
    this.off.getContext('2d')!.putImageData(this.image, 0, 0);
    const ctx = this.canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.off, 0, 0, this.canvas.width, this.canvas.height);
    const rowH = this.canvas.height / this.slots;
    for (const [slot, at] of this.touched) {
      const age = now - at;
      if (age > 3000) {
        this.touched.delete(slot);
        continue;
      }
      // A bright tick at the left edge, and a faint outline that fades: the rows stay readable.
      const alpha = 1 - age / 3000;
      ctx.fillStyle = `rgba(255,255,255,${(0.95 * alpha).toFixed(2)})`;
      ctx.fillRect(0, slot * rowH, 5, rowH);
      ctx.strokeStyle = `rgba(255,255,255,${(0.3 * alpha).toFixed(2)})`;
      ctx.lineWidth = 1;
      ctx.strokeRect(0.5, slot * rowH + 0.5, this.canvas.width - 1, rowH - 1);
    }
    this.draws++;
    const c = this.canvas;
    c.dataset.height = String(height);
    c.dataset.digest = digest(values);
    c.dataset.draws = String(this.draws);
  }

  /** The cell under a mouse event, or null. */
  cellAt(e: MouseEvent): HeatCell | null {
    if (!this.values) return null;
    const r = this.canvas.getBoundingClientRect();
    const dim = Math.floor(((e.clientX - r.left) / r.width) * this.dim);
    const slot = Math.floor(((e.clientY - r.top) / r.height) * this.slots);
    if (dim < 0 || dim >= this.dim || slot < 0 || slot >= this.slots) return null;
    return { slot, dim, value: this.values[slot * this.dim + dim]! };
  }

  drawLegend(legend: HTMLCanvasElement): void {
    const ctx = legend.getContext('2d')!;
    for (let x = 0; x < legend.width; x++) {
      const v = ((x / (legend.width - 1)) * 2 - 1) * this.bound;
      const [r, g, b] = colorOf(v, this.bound);
      ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
      ctx.fillRect(x, 0, 1, legend.height);
    }
  }
}

/** FNV-1a over the values, hex: changes whenever the layer does (tests read it). */
function digest(v: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) {
    h ^= v[i]! & 0xffff;
    h = Math.imul(h, 0x01000193);
    h ^= v[i]! >>> 16;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
