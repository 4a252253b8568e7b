/**
 * How every send worker process is run, by the orchestrator (through PM2) and by the benches
 * that measure it, so what is measured is what is deployed. Each setting trades nothing a
 * worker needs for memory that 1,200 of them would otherwise hold. (Forcing full GCs when a
 * worker goes idle, tried with --expose-gc, saved nothing once V8's memory reducer had run a
 * few seconds later, and cost each start ~90 ms of CPU.)
 *
 * No V8 flags on the command line: any of them makes V8 refuse the code cache Node ships of its
 * own modules, and each worker then compiles them all (measured: 12–18 ms more CPU per start).
 * The flag workers need, --no-compilation-cache, is set by the worker's entry at run time,
 * once Node's modules are loaded (workers/send-worker.ts). V8's young generation keeps its
 * default limit: 4 MB semi-spaces saved only 128 KB per idle worker, and 1 MB cost a sending
 * worker a fifth of its CPU in GC.
 *
 * - `MALLOC_TRIM_THRESHOLD_`: glibc keeps freed heap (most of it from compiling the code at
 *   start) unless the free top exceeds 128 KB; a lower threshold hands it back to the kernel.
 * - `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates (V8's helper threads, libuv's
 *   pool) an arena of its own, and keeps their pages; one arena for all is enough for a
 *   process that does its work on one thread (measured: −0.37 MB private memory per idle
 *   worker; 2 arenas saved nothing).
 */
export const WORKER_RUNTIME_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: '65536', MALLOC_ARENA_MAX: '1' };
