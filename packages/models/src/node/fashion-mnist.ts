/** Node-only: loads Fashion-MNIST from Debian's `dataset-fashion-mnist` (or any folder of its IDX files). */
import { access } from 'node:fs/promises';
import { join } from 'node:path';

import { DatasetNotFoundError } from '../errors.js';
import {
  FASHION_MNIST_DEBIAN_DIR,
  FASHION_MNIST_DEBIAN_PACKAGE,
  type FashionMnist,
  type FashionMnistSplit,
  fashionMnistFileNames,
  fashionMnistFromIdx,
} from '../fashion-mnist.js';
import { readMaybeGzip } from './idx-file.js';

/** Environment variable naming another folder of the IDX files (when `dir` is not given). */
export const FASHION_MNIST_DIR_ENV = 'DCNV2_FASHION_MNIST_DIR';

export interface LoadFashionMnistOptions {
  readonly split: FashionMnistSplit;
  /**
   * Folder of the four IDX files, plain or `.gz`. Default: `$DCNV2_FASHION_MNIST_DIR`, else Debian's
   * `/usr/share/datasets/fashion-mnist`.
   */
  readonly dir?: string;
  /** Keep only the first `limit` items. */
  readonly limit?: number;
}

/** The folder `loadFashionMnist` reads when given no `dir`. */
export function defaultFashionMnistDir(): string {
  const env = process.env[FASHION_MNIST_DIR_ENV];
  return env !== undefined && env !== '' ? env : FASHION_MNIST_DEBIAN_DIR;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The path of `name` or `name.gz` in `dir` (the plain file first), or undefined. */
async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const candidate of [join(dir, name), join(dir, `${name}.gz`)]) {
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/** Where a split's two files are, or `DatasetNotFoundError` naming the Debian package to install. */
export async function locateFashionMnist(
  split: FashionMnistSplit,
  dir: string = defaultFashionMnistDir(),
): Promise<{ images: string; labels: string }> {
  const names = fashionMnistFileNames(split);
  const images = await findFile(dir, names.images);
  const labels = await findFile(dir, names.labels);
  if (images === undefined || labels === undefined) {
    const missing = [images === undefined ? names.images : undefined, labels === undefined ? names.labels : undefined].filter(
      (m): m is string => m !== undefined,
    );
    throw new DatasetNotFoundError(
      `Fashion-MNIST ${split} files not found in ${dir}: ${missing.map((m) => `${m}[.gz]`).join(' and ')} missing. ` +
        `Install Debian's package with \`apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}\` (it puts them in ${FASHION_MNIST_DEBIAN_DIR}; ` +
        `scripts/setup.sh does), or pass \`dir\` / set ${FASHION_MNIST_DIR_ENV} to a folder holding the four IDX files.`,
      dir,
      missing,
      FASHION_MNIST_DEBIAN_PACKAGE,
    );
  }
  return { images, labels };
}

/**
 * Loads a split of Fashion-MNIST: images N×28×28 float32 in [0, 1], labels uint8 0..9, class names.
 * Nothing is downloaded.
 */
export async function loadFashionMnist(options: LoadFashionMnistOptions): Promise<FashionMnist> {
  const { split, dir, limit } = options;
  const paths = await locateFashionMnist(split, dir ?? defaultFashionMnistDir());
  const [images, labels] = await Promise.all([readMaybeGzip(paths.images), readMaybeGzip(paths.labels)]);
  return fashionMnistFromIdx(images, labels, { split, ...(limit === undefined ? {} : { limit }) });
}
