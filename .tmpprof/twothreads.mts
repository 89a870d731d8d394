import { Worker } from 'node:worker_threads';
const n = Number(process.argv[2] ?? 2);
const tsx = import.meta.resolve('tsx/esm/api');
const entry = new URL('../bench/waf-engine.ts', import.meta.url).href;
const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); process.argv = [process.argv[0], 'x', 'benign', '20']; return import(${JSON.stringify(entry)}); })`;
await Promise.all(Array.from({ length: n }, () => new Promise((res) => { const w = new Worker(code, { eval: true }); w.on('exit', res); })));
