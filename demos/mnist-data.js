/* global document, fetch */
// Fetches the MNIST subset that demos/serve.mjs serves under /data/ as raw bytes.

/** Returns { images: Uint8Array (count * 784), labels: Uint8Array, count } of the 'train' or 'test' split. */
export async function fetchMnistSplit(split) {
  const [images, labels] = await Promise.all([fetchBytes(`/data/mnist-${split}-images.u8`), fetchBytes(`/data/mnist-${split}-labels.u8`)]);
  if (images.length !== labels.length * 784) {
    throw new Error(`MNIST ${split} subset is inconsistent: ${images.length} image bytes for ${labels.length} labels`);
  }
  return { images, labels, count: labels.length };
}

export async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} failed: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Draws a 28x28 grayscale digit (0 = white paper, 255 = black ink) into a new canvas. */
export function digitCanvas(pixels) {
  const canvas = document.createElement('canvas');
  canvas.width = 28;
  canvas.height = 28;
  const context = canvas.getContext('2d');
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const shade = 255 - pixels[i];
    image.data.set([shade, shade, shade, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** Adds a digit with a caption to `container`; `wrong` marks a misclassified one. */
export function addDigit(container, pixels, caption, wrong = false) {
  const figure = document.createElement('div');
  figure.className = wrong ? 'digit wrong' : 'digit';
  figure.append(digitCanvas(pixels));
  const text = document.createElement('span');
  text.textContent = caption;
  figure.append(text);
  container.append(figure);
  return figure;
}
