#!/usr/bin/env node
/**
 * `pnpm train` (`node dist/train/cli.js`): trains a classifier in Node on tfjs wasm (default) or cpu with
 * dcnv2's kernels, evaluates it, writes a result record and the weights.
 *
 *   node dist/train/cli.js --net dcnv2 --data geometric --seed 1 --epochs 3 --train-size 12000 --batch 64 --out runs/x [--ship]
 *   node dist/train/cli.js --all --seeds 1,2 --epochs 3 --train-size 12000 --out runs      # 3 nets × {plain, geometric} × seeds, README table
 *   node dist/train/cli.js --table runs/a/result.json runs/b/result.json --label "..."      # README table from records
 *   node dist/train/cli.js --ship-from runs/x                                               # ship a saved run
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import '@dcnv2/tfjs';

import '../networks/plain-conv2d.js';

import { FASHION_MNIST_CLASS_NAMES } from '../fashion-mnist.js';
import { loadFashionMnist } from '../node/fashion-mnist.js';
import { CLASSIFIER_KINDS, checkKind, classifierCost, createClassifier, type ClassifierKind } from '../networks/classifier.js';
import { CHECK_SUBSET, GEOMETRIC_TEST_SEED, TRAINING_DATA, checkData, type TrainingData } from './data.js';
import { markdownTable, readRecords, saveRun, shipModel, useBackend, writeReadmeTable, type RunRecord } from './node.js';
import { ProgressBar } from './progress.js';
import { evaluateClassifier, trainClassifier } from './train.js';

/** Where runs go without --out (result.json, model.json, weights.bin per run). */
const DEFAULT_OUT = join(tmpdir(), 'dcnv2-models-runs');

const USAGE = `usage: pnpm train [--net regular|dcnv1|dcnv2] [--data plain|geometric] [--seed N] [--epochs N]
                  [--train-size N] [--test-size N] [--batch N] [--lr X] [--backend wasm|cpu] [--out DIR] [--ship]
       pnpm train --all [--seeds 1,2] [--nets regular,dcnv1,dcnv2] [--datas plain,geometric] [same options] [--label TEXT]
       pnpm train --table RESULT.json... [--label TEXT]
       pnpm train --ship-from RUN_DIR
       pnpm train --time RUN_DIR...`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    net: { type: 'string', default: 'dcnv2' },
    data: { type: 'string', default: 'geometric' },
    seed: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '3' },
    'train-size': { type: 'string', default: '60000' },
    'test-size': { type: 'string', default: '10000' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.002' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
    ship: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '1,2' },
    nets: { type: 'string', default: CLASSIFIER_KINDS.join(',') },
    datas: { type: 'string', default: TRAINING_DATA.join(',') },
    table: { type: 'boolean', default: false },
    'ship-from': { type: 'string' },
    time: { type: 'boolean', default: false },
    label: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function int(name: string, v: string | undefined, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}, got ${String(v)}\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

function commandLine(): string {
  return `node dist/train/cli.js ${process.argv.slice(2).join(' ')}`.trim();
}

interface RunConfig {
  readonly kind: ClassifierKind;
  readonly data: TrainingData;
  readonly seed: number;
  readonly epochs: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly backend: 'wasm' | 'cpu';
  readonly out: string;
  readonly ship: boolean;
  readonly command: string;
}

type Split = Awaited<ReturnType<typeof loadFashionMnist>>;

async function runOne(cfg: RunConfig, train: Split, test: Split): Promise<RunRecord> {
  const name = `${cfg.kind}-fashion-${cfg.data}`;
  const label = `${name} seed ${cfg.seed}`;
  const model = createClassifier({ kind: cfg.kind, seed: cfg.seed });
  const bar = new ProgressBar(process.stderr, label);
  process.stderr.write(`${label}: ${cfg.epochs} epochs of ${cfg.trainSize} images, batch ${cfg.batchSize}, tfjs ${tf.getBackend()}\n`);
  const result = await trainClassifier({
    model, source: train, data: cfg.data, seed: cfg.seed, epochs: cfg.epochs, batchSize: cfg.batchSize,
    trainSize: cfg.trainSize, learningRate: cfg.learningRate,
    onProgress: (p, end) => {
      bar.update(p, end);
      if (end) bar.done();
    },
  });
  const tensors = result.epochs.map((e) => e.numTensors);
  process.stderr.write(`${label}: trained in ${result.seconds.toFixed(0)} s; tf.memory().numTensors at epoch ends: ${tensors.join(', ')}\n`);
  const testSize = Math.min(cfg.testSize, test.count);
  const plain = await evaluateClassifier({ model, source: test, data: 'plain', end: testSize });
  const geometric = await evaluateClassifier({ model, source: test, data: 'geometric', seed: GEOMETRIC_TEST_SEED, end: testSize });
  // The fixed check subset is geometric test items 0..499 under GEOMETRIC_TEST_SEED: evaluated on its own,
  // batch 100, exactly as the loadModel test does.
  const check = await evaluateClassifier({ model, source: test, data: CHECK_SUBSET.data, seed: CHECK_SUBSET.seed, start: CHECK_SUBSET.start, end: CHECK_SUBSET.end });
  const cost = classifierCost(cfg.kind);
  const record: RunRecord = {
    name, kind: cfg.kind, data: cfg.data, command: cfg.command, seed: cfg.seed, epochs: cfg.epochs, trainSize: cfg.trainSize,
    batchSize: cfg.batchSize, learningRate: cfg.learningRate, backend: cfg.backend, trainSeconds: result.seconds,
    testPlain: { count: plain.count, accuracy: plain.accuracy },
    testGeometric: { count: geometric.count, accuracy: geometric.accuracy, seed: GEOMETRIC_TEST_SEED },
    msPerImage: geometric.msPerImage, params: cost.params, macs: cost.macs, epochRecords: result.epochs,
    check: { ...CHECK_SUBSET, correct: check.correct, accuracy: check.accuracy, backend: cfg.backend },
    finishedAt: new Date().toISOString(),
  };
  const dir = resolve(cfg.out);
  await saveRun(dir, record, model);
  process.stderr.write(
    `${label}: test accuracy plain ${(100 * plain.accuracy).toFixed(2)}% geometric ${(100 * geometric.accuracy).toFixed(2)}% ` +
      `(${testSize} images each), check subset ${check.correct}/${check.count}, ${geometric.msPerImage.toFixed(2)} ms/image; wrote ${dir}\n`,
  );
  if (cfg.ship) {
    const file = await shipModel(record, model, FASHION_MNIST_CLASS_NAMES);
    process.stderr.write(`${label}: shipped as ${file} (run \`pnpm build\` to put it into dist)\n`);
  }
  model.dispose();
  return record;
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.table) {
    const records = await readRecords(positionals);
    await writeReadmeTable(tableBlock(records, values.label));
    process.stderr.write(`README table written from ${records.length} records\n`);
    return;
  }
  if (values.time) {
    // Re-measures the forward time per image of saved runs one after another (a run's own figure is taken
    // while whatever else runs on the machine competes with it, e.g. the other networks training beside it):
    // a warm-up batch, then geometric test items 0..999 in batches of 100. Updates msPerImage in result.json.
    await useBackend(values.backend === 'cpu' ? 'cpu' : 'wasm');
    const test = await loadFashionMnist({ split: 'test', limit: 1000 });
    for (const p of positionals) {
      const dir = resolve(p);
      const model = await loadRun(dir);
      await evaluateClassifier({ model, source: test, data: 'geometric', seed: GEOMETRIC_TEST_SEED, end: 100 });
      const e = await evaluateClassifier({ model, source: test, data: 'geometric', seed: GEOMETRIC_TEST_SEED, end: 1000 });
      const [record] = await readRecords([join(dir, 'result.json')]);
      const next = { ...record, msPerImage: e.msPerImage, msPerImageNote: `re-measured alone with --time (${e.count} images, batches of 100) at ${new Date().toISOString()}` };
      await writeFile(join(dir, 'result.json'), `${JSON.stringify(next, null, 2)}\n`);
      process.stderr.write(`${record.name} seed ${record.seed}: ${e.msPerImage.toFixed(2)} ms/image (was ${record.msPerImage.toFixed(2)})\n`);
      model.dispose();
    }
    return;
  }
  if (values['ship-from'] !== undefined) {
    // Ships a saved run (result.json, model.json, weights.bin) without training again.
    await useBackend(values.backend === 'cpu' ? 'cpu' : 'wasm');
    const dir = resolve(values['ship-from']);
    const [record] = await readRecords([join(dir, 'result.json')]);
    const model = await loadRun(dir);
    process.stderr.write(`shipped ${await shipModel(record, model, FASHION_MNIST_CLASS_NAMES)}\n`);
    return;
  }
  const backend = values.backend;
  if (backend !== 'wasm' && backend !== 'cpu') {
    process.stderr.write(`--backend must be wasm or cpu\n${USAGE}\n`);
    process.exit(2);
  }
  const base = {
    epochs: int('epochs', values.epochs), trainSize: int('train-size', values['train-size']), testSize: int('test-size', values['test-size']),
    batchSize: int('batch', values.batch), learningRate: Number(values.lr), backend, ship: values.ship, command: commandLine(),
  } as const;
  if (!(base.learningRate > 0)) {
    process.stderr.write(`--lr must be a positive number\n`);
    process.exit(2);
  }
  await useBackend(backend);
  const train = await loadFashionMnist({ split: 'train', limit: base.trainSize });
  const test = await loadFashionMnist({ split: 'test' });
  if (values.all) {
    const seeds = values.seeds.split(',').map((s) => int('seeds', s, 0));
    const kinds = values.nets.split(',').map((k) => checkKind(k));
    const datas = values.datas.split(',').map((d) => checkData(d));
    const outRoot = values.out ?? DEFAULT_OUT;
    const records: RunRecord[] = [];
    for (const data of datas) {
      for (const seed of seeds) {
        for (const kind of kinds) {
          const out = join(outRoot, `${kind}-fashion-${data}-seed${seed}`);
          records.push(await runOne({ ...base, kind, data, seed, out, ship: base.ship && seed === seeds[0] && data === 'geometric' }, train, test));
          await writeReadmeTable(tableBlock(records, values.label));
        }
      }
    }
    process.stdout.write(`${markdownTable(records)}\n`);
    return;
  }
  const kind = checkKind(values.net);
  const data = checkData(values.data);
  const seed = int('seed', values.seed, 0);
  const record = await runOne({ ...base, kind, data, seed, out: values.out ?? join(DEFAULT_OUT, `${kind}-fashion-${data}-seed${seed}`) }, train, test);
  process.stdout.write(`${JSON.stringify({ name: record.name, seed, testPlain: record.testPlain, testGeometric: record.testGeometric, check: record.check, trainSeconds: record.trainSeconds })}\n`);
}

/** A saved run's model (model.json + weights.bin). */
async function loadRun(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = await readFile(join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

function tableBlock(records: readonly RunRecord[], label: string | undefined): string {
  const commands = [...new Set(records.map((r) => r.command))];
  return [
    label ?? `${records.length} runs`,
    '',
    markdownTable(records),
    '',
    'Produced by:',
    '',
    '```sh',
    ...commands,
    '```',
  ].join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
