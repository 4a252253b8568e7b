/** Every benchmark `npm run bench` runs, in order. Add a module here to add figures. */
export interface BenchContext {
  /** --workers N, for benchmarks that size a fleet. */
  workers?: number;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<Record<string, number>>;
}

export const benchmarks: Benchmark[] = [];
