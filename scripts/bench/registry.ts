/** Every benchmark `npm run bench` runs, in order. Add a module here to add figures. */
import * as csvImport from './csv-import.bench';
import * as pixel from './pixel.bench';

export interface BenchContext {
  /** --workers N, for benchmarks that size a fleet. */
  workers?: number;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<Record<string, number>>;
}

export const benchmarks: Benchmark[] = [csvImport, pixel];
