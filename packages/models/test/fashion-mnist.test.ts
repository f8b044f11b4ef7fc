import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DatasetFormatError,
  DatasetNotFoundError,
  FASHION_MNIST_CLASS_NAMES,
  IdxTruncatedError,
  OptionError,
  encodeIdx,
  fashionMnistFileNames,
  fashionMnistFromIdx,
} from '../src/index.js';
import { FASHION_MNIST_DIR_ENV, defaultFashionMnistDir, loadFashionMnist, locateFashionMnist } from '../src/node/index.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

function tinySet(n: number, labels?: number[]) {
  const pixels = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37) % 256);
  const lab = Uint8Array.from(labels ?? Array.from({ length: n }, (_, i) => i % 10));
  return { images: encodeIdx([n, 28, 28], pixels), labels: encodeIdx([n], lab), pixels };
}

describe('fashionMnistFromIdx (platform-free core)', () => {
  it('turns bytes into float32 in [0, 1] (byte / 255), labels and class names', () => {
    const { images, labels, pixels } = tinySet(3);
    const set = fashionMnistFromIdx(images, labels);
    expect(set).toMatchObject({ count: 3, height: 28, width: 28, split: undefined });
    expect(set.images).toBeInstanceOf(Float32Array);
    expect(set.images.length).toBe(3 * 784);
    for (let i = 0; i < pixels.length; i++) expect(set.images[i]).toBe(Math.fround(pixels[i] / 255));
    expect([...set.labels]).toEqual([0, 1, 2]);
    expect(set.classNames).toEqual(FASHION_MNIST_CLASS_NAMES);
    expect(set.classNames[9]).toBe('Ankle boot');
  });

  it('limit keeps the first items', () => {
    const { images, labels } = tinySet(5);
    const set = fashionMnistFromIdx(images, labels, { limit: 2 });
    expect(set.count).toBe(2);
    expect(set.images.length).toBe(2 * 784);
    expect([...set.labels]).toEqual([0, 1]);
    expect(() => fashionMnistFromIdx(images, labels, { limit: -1 })).toThrow(OptionError);
  });

  it('refuses valid IDX that is not Fashion-MNIST with DatasetFormatError', () => {
    const { images, labels } = tinySet(3);
    expect(() => fashionMnistFromIdx(encodeIdx([3, 27, 28], new Uint8Array(3 * 27 * 28)), labels)).toThrow(
      /dimensions \[N, 28, 28\], got \[3, 27, 28\]/,
    );
    expect(() => fashionMnistFromIdx(images, encodeIdx([3, 1], new Uint8Array(3)))).toThrow(DatasetFormatError);
    expect(() => fashionMnistFromIdx(images, encodeIdx([2], new Uint8Array(2)))).toThrow(/3 images but 2 labels/);
    expect(() => fashionMnistFromIdx(images, encodeIdx([3], Uint8Array.from([0, 10, 1])))).toThrow(/label 1 is 10/);
    expect(() => fashionMnistFromIdx(images, labels, { split: 'test' })).toThrow(/test split has 10000 items, these files have 3/);
    expect(() => fashionMnistFromIdx(images, labels.subarray(0, 9))).toThrow(IdxTruncatedError);
  });

  it('file names per split', () => {
    expect(fashionMnistFileNames('train')).toEqual({ images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' });
    expect(fashionMnistFileNames('test')).toEqual({ images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' });
    expect(() => fashionMnistFileNames('val' as 'test')).toThrow(OptionError);
  });
});

describe('loadFashionMnist (Node)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dcnv2-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing folder or file is DatasetNotFoundError naming the Debian package', async () => {
    let caught: unknown;
    try {
      await loadFashionMnist({ split: 'train', dir: join(dir, 'nowhere') });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DatasetNotFoundError);
    const e = caught as DatasetNotFoundError;
    expect(e.message).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(e.message).toMatch(/\/usr\/share\/datasets\/fashion-mnist/);
    expect(e.debianPackage).toBe('dataset-fashion-mnist');
    expect(e.missing).toEqual(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']);
  });

  it('reads plain IDX files from a folder, and only labels missing is named as such', async () => {
    const { images, labels } = tinySet(4, [3, 1, 4, 1]);
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), images);
    await expect(locateFashionMnist('test', dir)).rejects.toMatchObject({ missing: ['t10k-labels-idx1-ubyte'] });
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), labels);
    // Not 10000 items: the split's count is checked.
    await expect(loadFashionMnist({ split: 'test', dir })).rejects.toThrow(DatasetFormatError);
  });

  it('the default folder is Debian\'s, or $DCNV2_FASHION_MNIST_DIR', () => {
    const saved = process.env[FASHION_MNIST_DIR_ENV];
    try {
      delete process.env[FASHION_MNIST_DIR_ENV];
      expect(defaultFashionMnistDir()).toBe(DEBIAN_DIR);
      process.env[FASHION_MNIST_DIR_ENV] = '/somewhere/else';
      expect(defaultFashionMnistDir()).toBe('/somewhere/else');
    } finally {
      if (saved === undefined) delete process.env[FASHION_MNIST_DIR_ENV];
      else process.env[FASHION_MNIST_DIR_ENV] = saved;
    }
  });

  describe("on Debian's files", () => {
    it('test split: 10000 images 28x28 in [0, 1], labels 0..9, 1000 per class', async () => {
      const set = await loadFashionMnist({ split: 'test' });
      expect(set).toMatchObject({ count: 10000, height: 28, width: 28, split: 'test' });
      expect(set.images.length).toBe(10000 * 784);
      expect(set.labels.length).toBe(10000);
      let min = Infinity;
      let max = -Infinity;
      for (const v of set.images) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect([min, max]).toEqual([0, 1]);
      const counts = new Array<number>(10).fill(0);
      for (const l of set.labels) counts[l]++;
      expect(counts).toEqual(new Array<number>(10).fill(1000));
      expect([...set.labels.subarray(0, 5)]).toEqual([9, 2, 1, 1, 6]);
      // Image 0's byte sum, from the file with Python's gzip module: 33456.
      let sum = 0;
      for (let i = 0; i < 784; i++) sum += Math.round(set.images[i] * 255);
      expect(sum).toBe(33456);
    });

    it('train split: 60000 items, first label 9 (Ankle boot); limit and a plain (gunzipped) copy give the same', async () => {
      const set = await loadFashionMnist({ split: 'train' });
      expect(set.count).toBe(60000);
      expect(set.images.length).toBe(60000 * 784);
      expect(set.labels[0]).toBe(9);
      expect(set.classNames[set.labels[0]]).toBe('Ankle boot');
      const counts = new Array<number>(10).fill(0);
      for (const l of set.labels) counts[l]++;
      expect(counts).toEqual(new Array<number>(10).fill(6000));

      const head = await loadFashionMnist({ split: 'train', limit: 100 });
      expect(head.count).toBe(100);
      expect(head.images).toEqual(set.images.subarray(0, 100 * 784));

      // Uncompressed files in another folder (as upstream's after gunzip) load to the same arrays.
      const plain = join(dir, 'plain');
      await import('node:fs/promises').then((fs) => fs.mkdir(plain));
      for (const name of Object.values(fashionMnistFileNames('train'))) {
        await writeFile(join(plain, name), gunzipSync(await readFile(join(DEBIAN_DIR, `${name}.gz`))));
      }
      const fromPlain = await loadFashionMnist({ split: 'train', dir: plain, limit: 100 });
      expect(fromPlain.images).toEqual(head.images);
      expect(fromPlain.labels).toEqual(head.labels);
    });
  });
});
