import type { DeviceLimits } from '../host/device-limits.js';
import { FLAT_WORKGROUP_SIZE } from '../shaders/flat-grid-wgsl.js';

/** One dispatch of a flat grid: items [firstItem, endItem) on countX by countY workgroups. */
export interface FlatChunk {
  firstItem: number;
  endItem: number;
  countX: number;
  countY: number;
}

/**
 * Cuts `items` one-invocation items into dispatches of at most
 * maxComputeWorkgroupsPerDimension^2 workgroups each (one dispatch unless the
 * limit is tiny), for the kernels on the flat grid of flat-grid-wgsl.ts.
 */
export function flatChunks(limits: DeviceLimits, operation: string, items: number): FlatChunk[] {
  const perDispatch = limits.maxComputeWorkgroupsPerDimension ** 2 * FLAT_WORKGROUP_SIZE;
  const chunks: FlatChunk[] = [];
  for (let firstItem = 0; firstItem < items; firstItem += perDispatch) {
    const endItem = Math.min(items, firstItem + perDispatch);
    const grid = limits.flatGrid(operation, Math.ceil((endItem - firstItem) / FLAT_WORKGROUP_SIZE));
    chunks.push({ firstItem, endItem, countX: grid.countX, countY: grid.countY });
  }
  return chunks;
}
