// Time-series charts (uPlot): height with committed TPS, and submit-to-commit latency quantiles.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const AXIS = { stroke: '#8894ad', grid: { stroke: '#273049', width: 1 }, ticks: { stroke: '#273049', width: 1 } };
const KEEP = 600;

export class SeriesChart {
  private readonly plot: uPlot;
  private readonly data: number[][];

  constructor(el: HTMLElement, series: { label: string; color: string; scale: string; digits?: number }[], scales: { key: string; side: 1 | 3; label: string }[]) {
    this.data = [[], ...series.map(() => [])];
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 190,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, ...Object.fromEntries(scales.map((s) => [s.key, { auto: true }])) },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, scale: s.scale, spanGaps: true, value: (_u: uPlot, v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(s.digits ?? 0)) }))],
      axes: [AXIS, ...scales.map((s) => ({ ...AXIS, scale: s.key, side: s.side, label: s.label, labelSize: 14, size: 52, grid: s.side === 3 ? AXIS.grid : { show: false } }))],
    };
    this.plot = new uPlot(opts, this.data as uPlot.AlignedData, el);
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(300, el.clientWidth), height: 190 })).observe(el);
  }

  push(t: number, values: number[]): void {
    this.data[0]!.push(t);
    values.forEach((v, i) => this.data[i + 1]!.push(Number.isFinite(v) ? v : (null as unknown as number)));
    if (this.data[0]!.length > KEEP) for (const d of this.data) d.shift();
    this.plot.setData(this.data as uPlot.AlignedData);
  }
}
