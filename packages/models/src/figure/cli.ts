/**
 * `node dist/figure/cli.js [--images 3] [--start 0] [--seed 1] [--out figures] [--scale 3] [--backend wasm]`
 * (in packages/models, after `pnpm --filter @dcnv2/models build`): the paper-style figure of the three
 * shipped geometric models. For geometric test items start .. start + images − 1 (Fashion-MNIST's test
 * split, placed by `geometricItem` under `--seed`) it writes `figure-<i>.png` (rows: sampling locations,
 * ERF, saliency; columns: regular, DCNv1, DCNv2) and `summary.json` into `--out` (relative to the
 * package), and prints a summary per image. Node-only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { loadModel } from '../load-model.js';
import { geometricItem } from '../geometric.js';
import { loadFashionMnist } from '../node/fashion-mnist.js';
import { PACKAGE_DIR, useBackend } from '../train/node.js';
import { composeGrid, decodeRgb, encodeRgb } from './compose.js';
import { modelFigure, type ModelFigureSummary } from './figure.js';

export const FIGURE_MODELS = Object.freeze([
  ['regular', 'regular-fashion-geometric'],
  ['DCNv1', 'dcnv1-fashion-geometric'],
  ['DCNv2', 'dcnv2-fashion-geometric'],
] as const);
export const FIGURE_ROWS = Object.freeze(['sampling', 'ERF', 'saliency'] as const);

export interface FigureOptions {
  readonly images?: number;
  readonly start?: number;
  readonly seed?: number;
  /** Output folder; relative paths are relative to the package. */
  readonly out?: string;
  readonly scale?: number;
  readonly backend?: 'wasm' | 'cpu';
  /** Print the per-image lines (default true). */
  readonly log?: boolean;
}

export interface FigureImageSummary {
  readonly file: string;
  readonly index: number;
  readonly label: string;
  readonly placement: { readonly scale: number; readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  readonly models: Readonly<Record<string, ModelFigureSummary & { readonly predictedName: string }>>;
}

export interface FigureSummary {
  readonly command: string;
  readonly seed: number;
  readonly backend: string;
  readonly node: string;
  readonly sampling: string;
  readonly images: readonly FigureImageSummary[];
  readonly seconds: number;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

function parseArgs(argv: readonly string[]): FigureOptions {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--help' || a === '-h') {
      process.stdout.write('node dist/figure/cli.js [--images 3] [--start 0] [--seed 1] [--out figures] [--scale 3] [--backend wasm|cpu]\n');
      process.exit(0);
    }
    if (v === undefined) throw new Error(`${a}: a value is missing`);
    if (a === '--images' || a === '--start' || a === '--seed' || a === '--scale') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a}: expected a non-negative integer, got ${v}`);
      o[a.slice(2)] = n;
    } else if (a === '--out') o['out'] = v;
    else if (a === '--backend') {
      if (v !== 'wasm' && v !== 'cpu') throw new Error(`--backend: expected wasm or cpu, got ${v}`);
      o['backend'] = v;
    } else throw new Error(`unknown option ${a}`);
    i++;
  }
  return o as FigureOptions;
}

/** Renders the figures and writes them with summary.json; returns the summary. */
export async function main(options: FigureOptions = {}): Promise<FigureSummary> {
  const t0 = performance.now();
  const images = options.images ?? 3;
  const start = options.start ?? 0;
  const seed = options.seed ?? 1;
  const scale = options.scale ?? 3;
  const backend = options.backend ?? 'wasm';
  const outDir = options.out ?? 'figures';
  const out = isAbsolute(outDir) ? outDir : join(PACKAGE_DIR, outDir);
  const log = options.log ?? true;
  if (images < 1) throw new Error('--images: expected at least 1');
  await useBackend(backend);
  const test = await loadFashionMnist({ split: 'test', limit: start + images });
  const loaded = await Promise.all(FIGURE_MODELS.map(([, name]) => loadModel(name)));
  const level = loaded.flatMap((m) => m.model.layers.filter((l) => l.getClassName() === 'DeformConv2D').map((l) => l.name))[0];
  await mkdir(out, { recursive: true });
  const summaries: FigureImageSummary[] = [];
  for (let i = 0; i < images; i++) {
    const item = geometricItem(test, start + i, { seed });
    const image = { data: item.image, height: 64, width: 64, box: item.placement };
    const results: Awaited<ReturnType<typeof modelFigure>>[] = [];
    for (const { model } of loaded) results.push(await modelFigure(model, image, level === undefined ? { scale } : { scale, level }));
    const classNames = loaded[0]!.classNames;
    const { image: grid } = composeGrid(
      FIGURE_ROWS.map((_, r) => results.map((res) => decodeRgb(res.tiles[r]!))),
      {
        gap: 4,
        title: `test ${item.index}: ${classNames[item.label]}, scale ${item.placement.scale.toFixed(2)}`,
        columnLabels: FIGURE_MODELS.map(([kind], c) => `${kind}: ${classNames[results[c]!.summary.predicted]}`),
        rowLabels: [...FIGURE_ROWS],
      },
    );
    const file = `figure-${i}.png`;
    await writeFile(join(out, file), encodeRgb(grid));
    const models: Record<string, ModelFigureSummary & { predictedName: string }> = {};
    FIGURE_MODELS.forEach(([kind], c) => {
      const s = results[c]!.summary;
      models[kind] = { ...s, predictedName: classNames[s.predicted]! };
    });
    const p = item.placement;
    summaries.push({ file, index: item.index, label: classNames[item.label]!, placement: { scale: round(p.scale), x: round(p.x, 2), y: round(p.y, 2), width: round(p.width, 2), height: round(p.height, 2) }, models });
    if (log) {
      process.stdout.write(`${file}: test item ${item.index} (${classNames[item.label]}, scale ${p.scale.toFixed(2)}), node ${results[0]!.summary.node.layer} (${results[0]!.summary.node.y}, ${results[0]!.summary.node.x}) summed over channels\n`);
      for (const [kind] of FIGURE_MODELS) {
        const s = models[kind]!;
        process.stdout.write(
          `  ${kind.padEnd(8)} predicted ${s.predictedName} (${(100 * s.probability).toFixed(1)}%); sampling: ${s.sampling.points} locations of ${s.sampling.paths} paths (${s.sampling.imagePoints} in the image), mean distance ${s.sampling.meanDistance.toFixed(2)} px, mean mask ${s.sampling.meanMask.toFixed(3)}; ERF r50 ${s.erf.r50.toFixed(2)} px, r90 ${s.erf.r90.toFixed(2)} px; saliency ${s.saliency.area} px (error ${(100 * s.saliency.relativeError).toFixed(1)}%)\n`,
        );
      }
    }
  }
  for (const m of loaded) m.model.dispose();
  const summary: FigureSummary = {
    command: `node dist/figure/cli.js --images ${images} --start ${start} --seed ${seed} --out ${outDir} --scale ${scale} --backend ${backend}`,
    seed,
    backend,
    node: 'the last convolution layer (conv5, 8x8x64) at the position whose receptive-field centre is nearest the centre of the object box; response summed over its 64 channels',
    sampling: `locations composed through ${level ?? '(none)'} and the layers above it, mapped to the image by the tap centres of the regular layers below; weight = mask x |d response / d image| there`,
    images: summaries,
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 4) : v), 2)}\n`);
  return summary;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(parseArgs(process.argv.slice(2))).then(
    (s) => process.stdout.write(`wrote ${s.images.length} figure(s) and summary.json in ${s.seconds} s\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
