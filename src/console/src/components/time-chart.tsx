/**
 * A time series chart (uPlot: ~50 KB, draws tens of thousands of points on a canvas without
 * slowing the page). `x` is seconds since the epoch; each series is one line. A table of the
 * same figures is kept next to it for screen readers (the canvas says nothing to them).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#64748b', '#db2777'];
export const seriesColor = (index: number): string => PALETTE[index % PALETTE.length] as string;

export function TimeChart({ title, x, series, height = 220, bars = false }: { title: string; x: number[]; series: Series[]; height?: number; bars?: boolean }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return undefined;
    const width = Math.max(300, element.clientWidth || 600);
    const options: uPlot.Options = {
      width,
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(bars ? { paths: uPlot.paths.bars?.({ size: [0.6, 40] }), fill: `${s.color}55` } : {}),
        })),
      ],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true } },
      legend: { live: false },
    };
    const chart = new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(300, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series, height, bars]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={holder} class="chart-canvas" role="img" aria-label={`${title}: ${series.map((s) => `${s.label} ${s.values.reduce<number>((sum, v) => sum + (v ?? 0), 0)}`).join(', ')}`} />
    </figure>
  );
}
